package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/storetest"
)

// The metrics route answers a probe's series from a real store, matching
// its schema, and refuses bad ranges and steps with a sentence.
func TestHostProbeMetrics(t *testing.T) {
	st, clk := newFixtureState(t)
	db := storetest.OpenOptions(t, store.Options{History: store.HistoryOptions{Enabled: true}})
	ch := make(chan event.Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.RunWriter(ctx, ch) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	t0 := clk.Now().Truncate(time.Hour)
	for i, v := range []float64{1, 3, math.NaN(), 5} {
		ch <- event.Event{Kind: event.ProbeUpdated, Time: t0.Add(time.Duration(i) * time.Minute), Host: "master-1", Probe: "crit",
			New: &model.ProbeResult{Name: "crit", Metrics: []model.Metric{{Tags: map[string]string{"unit": "ms"}, Value: v}}}}
	}
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := New(Options{State: st, History: db, Now: func() time.Time { return t0.Add(10 * time.Minute) }})
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	schema := schemaFor(t, doc.Paths.Find("/api/hosts/{hostname}/probes/{probe}/metrics").Get, 200)

	w := serve(h, get("/api/hosts/master-1/probes/crit/metrics?step=60"))
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	validate(t, "metrics", schema, w.Body.Bytes())
	var got metricsAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Source != store.SourceRaw || got.Step != 60 || len(got.Series) != 1 || got.Series[0].Tags["unit"] != "ms" {
		t.Fatalf("answer %s", w.Body)
	}
	var values []string
	for _, p := range got.Series[0].Points {
		if p.Last == nil {
			values = append(values, "gap")
		} else {
			values = append(values, strconv.FormatFloat(*p.Last, 'g', -1, 64))
		}
	}
	if strings.Join(values, " ") != "1 3 gap 5" {
		t.Errorf("points %v, want 1 3 gap 5", values)
	}

	// An unknown host or probe is a 404; a bad step or range a 400 with
	// a sentence.
	for target, code := range map[string]int{
		"/api/hosts/master-1/probes/nope/metrics":                 404,
		"/api/hosts/nobody/probes/crit/metrics":                   404,
		"/api/hosts/master-1/probes/crit/metrics?step=0.5":        400,
		"/api/hosts/master-1/probes/crit/metrics?step=abc":        400,
		"/api/hosts/master-1/probes/crit/metrics?from=yesterday":  400,
		"/api/hosts/master-1/probes/crit/metrics?from=2&to=1":     400,
		"/api/hosts/master-1/probes/crit/metrics?from=1000000000": 400,
	} {
		w := serve(h, get(target))
		if w.Code != code {
			t.Errorf("GET %s: %d %s, want %d", target, w.Code, w.Body, code)
			continue
		}
		var e errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Errorf("GET %s: error body %s", target, w.Body)
		}
	}
	w = serve(h, get("/api/hosts/master-1/probes/crit/metrics?from="+t0.Add(-time.Hour).Format(time.RFC3339)+"&step=1s"))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "more than 2000 points") {
		t.Errorf("an hour at 1s: %d %s, want 400 more than 2000 points", w.Code, w.Body)
	}

	// The same points as CSV, asked by format=csv or by Accept: one row
	// per point, a gap with empty values; a format that is neither is a
	// 400, and a bad range is answered in JSON still.
	wantCSV := "time,host,probe,tags,min,max,avg,last,count\n"
	for i, v := range []string{"1,1,1,1,1", "3,3,3,3,1", ",,,,0", "5,5,5,5,1"} {
		wantCSV += t0.Add(time.Duration(i)*time.Minute).UTC().Format(time.RFC3339) + ",master-1,crit,unit=ms," + v + "\n"
	}
	byAccept := get("/api/hosts/master-1/probes/crit/metrics?step=60").with("Accept", "text/csv")
	for _, r := range []request{get("/api/hosts/master-1/probes/crit/metrics?step=60&format=csv"), byAccept} {
		w = serve(h, r)
		if w.Code != 200 || w.Body.String() != wantCSV || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
			w.Header().Get("Content-Disposition") != `attachment; filename=master-1-crit-metrics.csv` {
			t.Errorf("GET %s (Accept %q): %d %q %q\n%s\nwant\n%s", r.target, r.header.Get("Accept"), w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"), w.Body, wantCSV)
		}
	}
	for target, want := range map[string]string{
		"/api/hosts/master-1/probes/crit/metrics?format=xml":             `format \"xml\" is not csv or json`,
		"/api/hosts/master-1/probes/crit/metrics?format=csv&step=0.5":    "below the least of 1s",
		"/api/hosts/master-1/probes/crit/metrics?format=csv&from=Monday": "is not a time",
	} {
		w = serve(h, get(target))
		if w.Code != 400 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d %s %s, want 400 in JSON saying %s", target, w.Code, w.Header().Get("Content-Type"), w.Body, want)
		}
	}
}

// The timeline route answers a host's and its probes' intervals, unknown
// before the daemon's first run and before the probe appeared, matching
// its schema.
func TestHostTimeline(t *testing.T) {
	st, clk := newFixtureState(t)
	db := storetest.Open(t)
	now := clk.Now()
	ch := make(chan event.Event, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.RunWriter(ctx, ch) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	ch <- event.Event{Kind: event.ProbeAppeared, Time: now.Add(-20 * time.Minute), Host: "master-1", Probe: "crit", NewStatus: 300}
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkRun(context.Background(), now.Add(-30*time.Minute), now); err != nil {
		t.Fatal(err)
	}
	h := New(Options{State: st, History: db, Now: clk.Now})
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	w := serve(h, get("/api/hosts/master-1/timeline"))
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	validate(t, "timeline", schemaFor(t, doc.Paths.Find("/api/hosts/{hostname}/timeline").Get, 200), w.Body.Bytes())
	var got timelineAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	levels := func(iv []timelineInterval) string {
		var out []string
		for _, i := range iv {
			out = append(out, fmt.Sprintf("%s %s", i.To.Sub(i.From), i.Level))
		}
		return strings.Join(out, ", ")
	}
	if got, want := levels(got.Status), "30m0s unknown, 10m0s ok, 20m0s crit"; got != want {
		t.Errorf("host: %s, want %s", got, want)
	}
	if got, want := levels(got.Probes["crit"]), "40m0s unknown, 20m0s crit"; got != want {
		t.Errorf("probe crit: %s, want %s", got, want)
	}
	for target, code := range map[string]int{
		"/api/hosts/nobody/timeline":               404,
		"/api/hosts/master-1/timeline?to=soon":     400,
		"/api/hosts/master-1/timeline?from=2&to=1": 400,
	} {
		if w := serve(h, get(target)); w.Code != code {
			t.Errorf("GET %s: %d %s, want %d", target, w.Code, w.Body, code)
		}
	}
}
