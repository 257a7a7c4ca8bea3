package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/daemon"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
)

// testClock is a daemon's clock the test sets by hand; between two sets
// it runs at the system clock's pace.
type testClock struct {
	mu      sync.Mutex
	off     time.Duration // clock minus system clock
	waiters []testWaiter
}

type testWaiter struct {
	at time.Time
	c  chan time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// At fires when the clock reaches t: by the system clock's pace, or at
// once when set moves the clock past t.
func (c *testClock) At(t time.Time) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.waiters = append(c.waiters, testWaiter{at: t, c: ch})
	wait := t.Sub(time.Now().Add(c.off))
	c.mu.Unlock()
	time.AfterFunc(max(0, wait), c.fire)
	c.fire()
	return ch
}

// set moves the clock to t.
func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.off = time.Until(t)
	c.mu.Unlock()
	c.fire()
}

func (c *testClock) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().Add(c.off)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if now.Before(w.at) {
			kept = append(kept, w)
			continue
		}
		w.c <- now
	}
	c.waiters = kept
}

// The probe view of a remote host's probe whose metric rose by one a
// minute for 90 minutes, through a real daemon and its store, with the
// daemon stopped for 15 of them and the probe CRIT for 10: the chart
// rises (the path's y coordinates go up the screen point after point),
// the range picker asks for other steps and gets other points (the
// 5-minute rollups with their min/max band from 24 h on), a new result
// arrives over the websocket and is drawn without a reload, hover says
// the time and the value, and the timeline is red where the probe was
// CRIT and grey where the daemon was stopped. Screenshots of the probe and
// host views at 1,400 and 400 px, light and dark; at 400 px nothing is
// wider than the screen.
func TestBrowserHistoryCharts(t *testing.T) {
	ctx := browser(t)
	cfg := testConfig(t)
	cfg.History.Enabled = true
	cfg.History.RemoteHosts = true
	cfg.AliveTimeout = time.Hour // a remote reporting once a minute of the test's clock stays up
	t0 := time.Now().Add(-90 * time.Minute).Truncate(time.Minute)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	clk := &testClock{}
	clk.set(t0)

	report := func(r *running, m, status int, value float64) {
		t.Helper()
		now := clk.Now()
		doc := &model.Wigo{Uuid: "web-7-uuid", Version: "0.73", IsAlive: true, Hostname: "web-7", LastUpdate: now.Unix(),
			LocalHost: &model.Host{Name: "web-7", Group: "web", Probes: map[string]*model.ProbeResult{
				"load": {Name: "load", Version: "1.0", Status: status, Message: fmt.Sprintf("load %.0f", value), Timestamp: now.Unix(),
					Metrics: []model.Metric{{Tags: map[string]string{"unit": "%"}, Value: value}}},
				"disk": {Name: "disk", Version: "1.0", Status: 100, Message: fmt.Sprintf("/ %d%%", 41+m%7), Timestamp: now.Unix(),
					Metrics: []model.Metric{{Tags: map[string]string{"mount": "/"}, Value: 41 + float64(m%7)}, {Tags: map[string]string{"mount": "/var"}, Value: 70 + float64(m)/5}}},
			}}}
		if err := r.d.State().Ingest("web-7:4000", doc); err != nil {
			t.Fatal(err)
		}
	}
	// Minutes 0 to 40: the first run, CRIT from 20 to 29.
	r1 := startDaemon(t, cfg, daemon.WithClock(clk))
	awaitRun(t, r1, at(0).Add(30*time.Second))
	for m := 0; m <= 40; m++ {
		clk.set(at(m))
		status := 100
		if m >= 20 && m < 30 {
			status = 300
		}
		report(r1, m, status, float64(10+m))
	}
	awaitRun(t, r1, at(41).Add(30*time.Second))
	r1.stop()
	// Stopped from 40 to 55, then a second run up to now.
	clk.set(at(55))
	r2 := startDaemon(t, cfg, daemon.WithClock(clk))
	awaitRun(t, r2, at(55).Add(30*time.Second))
	for m := 55; m <= 89; m++ {
		clk.set(at(m))
		report(r2, m, 100, float64(10+m))
	}
	clk.set(time.Now())
	bg := context.Background()
	if err := r2.d.Store().Flush(bg); err != nil {
		t.Fatal(err)
	}
	if err := r2.d.Store().MaintainHistory(bg, clk.Now()); err != nil {
		t.Fatal(err)
	}
	const stored = 41 + 35

	run(t, ctx, width(1400), colorScheme("light"), chromedp.Navigate(r2.d.URL()+"/#/host/web-7/load"))
	chart := `document.querySelector('figure.chart[data-series="value"] svg.chart')`
	waitJS(t, ctx, 10*time.Second, chart+`?.dataset.points === "`+strconv.Itoa(stored)+`" && document.querySelector('#timeline g[data-level="CRIT"]') !== null`)
	run(t, ctx, eval(`window.__noReload = 1`))

	// Rising: every point is drawn higher on the screen than the one
	// before (SVG y grows downwards), across the gap.
	ys := func() []float64 {
		t.Helper()
		d, err := chromedp.Run(ctx, chromedp.Evaluate[string](chart+`.querySelector("path.line").getAttribute("d")`))
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		for _, seg := range strings.FieldsFunc(d, func(r rune) bool { return r == 'M' || r == 'L' }) {
			xy := strings.Fields(seg)
			y, err := strconv.ParseFloat(xy[len(xy)-1], 64)
			if err != nil {
				t.Fatalf("path %q: %v", d, err)
			}
			out = append(out, y)
		}
		return out
	}
	y := ys()
	if len(y) != stored {
		t.Fatalf("the line has %d points, want %d", len(y), stored)
	}
	for i := 1; i < len(y); i++ {
		if y[i] >= y[i-1] {
			t.Fatalf("point %d is drawn at y %.1f, not above point %d at %.1f: the chart does not rise (%v)", i, y[i], i-1, y[i-1], y)
		}
	}
	if y[0]-y[len(y)-1] < 100 {
		t.Errorf("from the first point to the last the line rises %.1f px, want most of the chart's height", y[0]-y[len(y)-1])
	}
	// The stop breaks the line: two runs, not a line across the gap.
	if d, _ := chromedp.Run(ctx, chromedp.Evaluate[string](chart+`.querySelector("path.line").getAttribute("d")`)); strings.Count(d, "M") != 2 {
		t.Errorf("the line has %d runs, want 2 (broken where the daemon was stopped): %s", strings.Count(d, "M"), d)
	}

	// The timeline: CRIT from minute 20 to 30, nothing heard from the
	// first run's end (its last mark and two minutes) to the second's
	// start at 55.
	type stretch struct {
		Level    string
		From, To float64
	}
	stretches := func(row string) []stretch {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[[]stretch](`[...document.querySelectorAll('#timeline g.band[data-row=`+strconv.Quote(row)+`] > g')].map(g => ({Level: g.dataset.level, From: +g.dataset.from, To: +g.dataset.to}))`))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	near := func(ms float64, want time.Time) bool { return math.Abs(ms-float64(want.UnixMilli())) < 5000 }
	var crit, grey bool
	for _, s := range stretches("load") {
		switch s.Level {
		case "CRIT":
			crit = crit || (near(s.From, at(20)) && near(s.To, at(30)))
		case "UNKNOWN":
			grey = grey || (s.From <= float64(at(43).UnixMilli()) && s.To >= float64(at(54).UnixMilli()) && near(s.To, at(55)))
		case "OK":
			if s.From < float64(at(54).UnixMilli()) && s.To > float64(at(43).UnixMilli()) {
				t.Errorf("the timeline shows OK from %s to %s, while the daemon was stopped", time.UnixMilli(int64(s.From)), time.UnixMilli(int64(s.To)))
			}
		}
	}
	if !crit || !grey {
		t.Errorf("timeline of load: CRIT from minute 20 to 30 %v, grey from about 42 to 55 %v: %+v", crit, grey, stretches("load"))
	}
	// The red stretch is drawn in the CRIT colour, the grey one in the
	// unknown one: the palette's, not OK's green.
	fills, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`["CRIT", "UNKNOWN", "OK"].map(l => getComputedStyle(document.querySelector('#timeline g[data-level="' + l + '"] rect')).fill)`))
	if err != nil {
		t.Fatal(err)
	}
	if fills[0] != "rgb(207, 34, 46)" || fills[1] == fills[2] || fills[1] == fills[0] {
		t.Errorf("timeline fills CRIT, unknown, OK = %v; want the CRIT red and a grey that is neither", fills)
	}

	// Hover in the middle of the chart: the time and the value there.
	run(t, ctx, eval(`(svg => { const r = svg.getBoundingClientRect(); svg.dispatchEvent(new PointerEvent("pointermove", {clientX: r.left + r.width * 0.8, clientY: r.top + 50, bubbles: true})); })(`+chart+`)`))
	waitJS(t, ctx, 5*time.Second, `(tip => !tip.hidden && /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/.test(tip.textContent) && /\d+ %/.test(tip.textContent))(document.querySelector('figure.chart[data-series="value"] .tip'))`)
	screenshot(t, ctx, "history-probe-hover-1400-light")
	// The chart's CSV link gives its points, one row each.
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`fetch(document.querySelector("figure.chart a.csv").href).then(r => r.text()).then(t => t.trim().split("\n"))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != stored+1 || rows[0] != "time,host,probe,tags,min,max,avg,last,count" || !strings.HasSuffix(rows[1], ",web-7,load,unit=%,10,10,10,10,1") {
		t.Errorf("the CSV link gives %d rows, want a header and %d points: %q", len(rows), stored, rows[:min(3, len(rows))])
	}

	// The range picker: 1 h asks for 10 s steps and gets the points of the
	// last hour only; 24 h the rollups, with a min/max band.
	run(t, ctx, eval(`document.querySelector('button[data-range="1h"]').click()`))
	// (Minutes 31 to 40 and 55 to 89, give or take the one at the edge.)
	lastHour := `(n => n >= 44 && n <= 46)(+` + chart + `?.dataset.points)`
	waitJS(t, ctx, 10*time.Second, `location.hash.includes("range=1h") && `+lastHour)
	run(t, ctx, eval(`document.querySelector('button[data-range="24h"]').click()`))
	waitJS(t, ctx, 10*time.Second, chart+`?.dataset.source === "rollup" && `+chart+`.querySelector("path.band")?.getAttribute("d").length > 0 && `+
		chart+`.querySelector("path.line").getAttribute("d").split("M").length === 3`)
	screenshot(t, ctx, "history-probe-rollup-1400-light")
	run(t, ctx, eval(`document.querySelector('button[data-range="1h"]').click()`))
	waitJS(t, ctx, 10*time.Second, chart+`?.dataset.source === "raw" && `+lastHour)

	// A custom range, in the browser's time: minutes 15 to 35, one point
	// each (the end excluded), the range in the URL.
	local := func(m int) string {
		return `(ms => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16))(` + strconv.FormatInt(at(m).UnixMilli(), 10) + `)`
	}
	run(t, ctx, eval(`document.querySelector('button[data-range="custom"]').click();
		document.querySelector("#hist-from").value = `+local(15)+`;
		document.querySelector("#hist-to").value = `+local(35)+`;
		document.querySelector("form.custom button[type=submit]").click()`))
	waitJS(t, ctx, 10*time.Second, `location.hash.includes("from=") && `+chart+`?.dataset.points === "20" && document.querySelector('button[data-range="custom"]').getAttribute("aria-pressed") === "true"`)
	screenshot(t, ctx, "history-probe-custom-1400-light")
	run(t, ctx, eval(`document.querySelector('button[data-range="1h"]').click()`))
	waitJS(t, ctx, 10*time.Second, `!location.hash.includes("from=") && `+lastHour)

	// A new result, live: drawn after the last point, at the top, without
	// a reload.
	before := ys()
	report(r2, 90, 100, 150)
	waitJS(t, ctx, 10*time.Second, chart+`?.getAttribute("aria-label").endsWith(" to 150") && window.__noReload === 1`)
	after := ys()
	rising := len(after) >= len(before)
	for i := 1; i < len(after); i++ {
		rising = rising && after[i] < after[i-1]
	}
	if !rising || after[len(after)-1] > 20 {
		t.Errorf("after a live point of 150: y %v (before %v); want the points before, then one at the top", after, before)
	}

	// The host cards: each host's main metric (its worst probe's first,
	// here web-7's disk mount=/) as a sparkline of the last 3 h, live.
	run(t, ctx, chromedp.Navigate(r2.d.URL()+"/#/hosts?mode=cards"))
	spark := `document.querySelector('li.host[data-host="web-7"] a.spark')`
	waitJS(t, ctx, 10*time.Second, `(a => a !== null && +a.querySelector("svg")?.dataset.points > 20 && a.querySelector(".sname").textContent === "disk mount=/")(`+spark+`)`)
	screenshot(t, ctx, "history-hosts-cards-1400-light")
	last, err := chromedp.Run(ctx, chromedp.Evaluate[string](spark+`.querySelector("strong").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	report(r2, 94, 100, 151)
	waitJS(t, ctx, 10*time.Second, spark+`.querySelector("strong").textContent !== `+strconv.Quote(last)+` && window.__noReload === 1`)

	// Screenshots, and nothing wider than a phone's screen at 400 px.
	for _, v := range []struct{ name, hash, ready string }{
		{"history-probe", "#/host/web-7/load?range=6h", chart + `?.dataset.points > 0 && document.querySelector('#timeline g[data-level="CRIT"]') !== null`},
		{"history-host", "#/host/web-7", `document.querySelectorAll('figure.chart svg.chart').length === 3 && document.querySelector('#timeline g.band[data-row="web-7 (host)"]') !== null`},
	} {
		for _, w := range []int64{1400, 400} {
			for _, scheme := range []string{"light", "dark"} {
				run(t, ctx, width(w), colorScheme(scheme), chromedp.Navigate(r2.d.URL()+"/"+v.hash))
				// Drawn at the new width (a resize draws the charts again).
				waitJS(t, ctx, 10*time.Second, `document.querySelector('#conn[data-conn="live"]') !== null && `+v.ready+
					` && [...document.querySelectorAll("main svg")].every(s => s.getBoundingClientRect().right <= document.documentElement.clientWidth)`)
				screenshot(t, ctx, fmt.Sprintf("%s-%d-%s", v.name, w, scheme))
				sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
				if err != nil {
					t.Fatal(err)
				}
				if sizes[0] > sizes[1] {
					t.Errorf("%s at %d px (%s): scrollWidth %d > clientWidth %d", v.name, w, scheme, sizes[0], sizes[1])
				}
			}
		}
	}
}

// awaitRun polls r's timeline of its own host until it says the daemon
// was running at when: its run is recorded up to there (the daemon marks
// its run every minute of its clock, on a goroutine of its own).
func awaitRun(t *testing.T, r *running, when time.Time) {
	t.Helper()
	q := url.Values{"from": {when.Add(-time.Minute).UTC().Format(time.RFC3339Nano)}, "to": {when.UTC().Format(time.RFC3339Nano)}}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(r.d.URL() + "/api/hosts/ui-host/timeline?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		var tl struct {
			Status []struct {
				Status *int `json:"status"`
			} `json:"status"`
		}
		err = json.NewDecoder(resp.Body).Decode(&tl)
		resp.Body.Close()
		if err == nil && len(tl.Status) > 0 && tl.Status[len(tl.Status)-1].Status != nil {
			return
		}
	}
	t.Fatalf("the daemon's run is not recorded up to %s", when)
}

// On an instance without the metric history the host and probe views say
// so in a sentence (the API answers 503), and the rest of the view works.
func TestBrowserHistoryOff(t *testing.T) {
	ctx := browser(t)
	st := state.New(state.Options{UUID: "master-uuid", Hostname: "master", Group: "core", Bus: event.NewBus()})
	st.ProbeResult(&model.ProbeResult{Name: "load", Status: 100, Message: "ok", Timestamp: time.Now().Unix(), Metrics: []model.Metric{{Value: 0.4}}})
	srv := authorityServer(t, st, nil)
	for _, hash := range []string{"#/host/master", "#/host/master/load"} {
		run(t, ctx, chromedp.Navigate(srv.URL+"/"+hash))
		waitJS(t, ctx, 10*time.Second, `document.querySelector('tr.probe[data-probe="load"]') !== null &&
			document.querySelector("#history-msg")?.textContent.startsWith("Metric history is not enabled on this instance") &&
			document.querySelector("#charts").children.length === 0`)
	}
}
