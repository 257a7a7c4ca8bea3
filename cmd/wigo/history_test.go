package main

import (
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// metricsAnswer and timelineAnswer are what the history routes answer, as
// a client reads them.
type metricsAnswer struct {
	Source string `json:"source"`
	Series []struct {
		Tags   map[string]string `json:"tags"`
		Points []struct {
			T    int64    `json:"t"`
			Last *float64 `json:"last"`
		} `json:"points"`
	} `json:"series"`
}

type timelineAnswer struct {
	Status []struct {
		From  time.Time `json:"from"`
		To    time.Time `json:"to"`
		Level string    `json:"level"`
	} `json:"status"`
}

// writeMetric makes the flip probe report status with one metric.
func writeMetric(t *testing.T, env daemonEnv, status int, v float64) {
	t.Helper()
	writeFile(t, filepath.Join(env.dir, "conf.d", "flip.json"),
		fmt.Sprintf(`{"Status":%d,"Message":"at %g","Metrics":[{"Tags":{"unit":"ms"},"Value":%g}]}`, status, v, v), 0o644)
}

// The real daemon keeps a probe's metrics on its clock and answers them;
// its status timeline shows the critical stretch, and the hour it was
// killed as unknown, not as the status it had.
func TestHistoryOnTheClock(t *testing.T) {
	env := newEnv(t, "")
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	clk := useClock(t, &env, t0)
	writeMetric(t, env, 100, 10)
	r := start(t, env)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	metrics := func(cond func(metricsAnswer) bool) metricsAnswer {
		t.Helper()
		var m metricsAnswer
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			q := url.Values{"from": {t0.Add(-time.Minute).Format(time.RFC3339)}, "to": {clk.now().Add(time.Minute).Format(time.RFC3339)}, "step": {"1"}}
			getJSON(t, env.url+"/api/hosts/e2e-host/probes/flip/metrics?"+q.Encode(), &m)
			if cond(m) {
				return m
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("metrics: %+v", m)
		return m
	}
	values := func(m metricsAnswer) map[float64]bool {
		seen := map[float64]bool{}
		for _, s := range m.Series {
			for _, p := range s.Points {
				if p.Last != nil {
					seen[*p.Last] = true
				}
			}
		}
		return seen
	}
	m := metrics(func(m metricsAnswer) bool { return values(m)[10] })
	if m.Source != "raw" || len(m.Series) != 1 || m.Series[0].Tags["unit"] != "ms" {
		t.Fatalf("metrics answer %+v, want one raw series tagged unit=ms", m)
	}
	if first := time.UnixMilli(m.Series[0].Points[0].T); first.Before(t0) || first.After(t0.Add(time.Minute)) {
		t.Errorf("first point at %s, want on the daemon's clock (from %s)", first, t0)
	}

	clk.add(t, 10*time.Minute)
	writeMetric(t, env, 300, 20)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 300 })
	metrics(func(m metricsAnswer) bool { return values(m)[20] })

	r.kill9()
	stopped := clk.now()
	clk.add(t, time.Hour)
	r = start(t, env)
	defer r.stop(t)
	waitFor(t, env.url, 15*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 300 })

	// From a little after the first start, which marked its run, to a
	// little after now; polled until the second run has marked its own.
	want := fmt.Sprint([]string{"ok", "crit", "unknown", "crit"})
	var tl timelineAnswer
	var levels []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		q := url.Values{"from": {t0.Add(5 * time.Second).Format(time.RFC3339)}, "to": {clk.now().Add(time.Minute).Format(time.RFC3339)}}
		getJSON(t, env.url+"/api/hosts/e2e-host/timeline?"+q.Encode(), &tl)
		levels = levels[:0]
		for _, iv := range tl.Status {
			levels = append(levels, iv.Level)
		}
		if fmt.Sprint(levels) == want {
			break
		}
	}
	if fmt.Sprint(levels) != want {
		t.Fatalf("timeline %+v, want levels %v", tl.Status, want)
	}
	gap := tl.Status[2]
	if gap.To.Sub(gap.From) < 55*time.Minute || gap.From.Before(stopped.Add(-time.Minute)) || gap.From.After(stopped.Add(3*time.Minute)) {
		t.Errorf("unknown from %s to %s, want the hour from the kill at %s", gap.From, gap.To, stopped)
	}
}
