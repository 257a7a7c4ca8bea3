package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/plugins/output-opentsdb/tsdbtest"
)

// TestMetricsEndToEnd runs the real daemon with the real sample probe
// hardware_load_average and an output "opentsdb" block: its metrics reach
// a strict /api/put server through the output-opentsdb binary, and GET
// /metrics (Prometheus text format) shows them and the output's counters.
// It skips while the daemon does not serve /metrics yet (core/daemon
// wiring of issue 6).
func TestMetricsEndToEnd(t *testing.T) {
	tsdb, err := tsdbtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tsdb.Close)
	env := newEnv(t, fmt.Sprintf(`
output "opentsdb" {
  address            = [%q]
  metric_prefix      = "wigo"
  tags               = { dc = "test" }
  max_retry_interval = "200ms"
}
`, tsdb.Addr()))
	load, err := filepath.Abs("../../probes/examples/hardware_load_average")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(env.dir, "probes", "1", "hardware_load_average"), "#!/bin/sh\nexec "+load+"\n", 0o755)
	r := start(t, env)
	waitFor(t, env.url, 15*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "hardware_load_average") != 0 })

	resp, err := http.Get(env.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Skipf("GET /metrics answers %s %q: not wired in core/daemon yet", resp.Status, resp.Header.Get("Content-Type"))
	}

	deadline := time.Now().Add(15 * time.Second)
	for {
		n := 0
		for _, p := range tsdb.Points() {
			if p.Metric == "wigo.hardware_load_average" && p.Tags["hostname"] == "e2e-host" && p.Tags["group"] == "e2e" && p.Tags["dc"] == "test" {
				n++
			}
		}
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("OpenTSDB got %d load points; all: %+v", n, tsdb.Points())
		}
		time.Sleep(50 * time.Millisecond)
	}

	resp, err = http.Get(env.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	found := false
	for _, m := range fams["wigo_probe_metric"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "tag_load" && l.GetValue() == "load1" {
				found = true
			}
		}
	}
	if !found {
		t.Error("wigo_probe_metric{tag_load=\"load1\"} missing")
	}
	sent := 0.0
	for _, m := range fams["wigo_output_points_sent_total"].GetMetric() {
		sent += m.GetCounter().GetValue()
	}
	if sent < 3 {
		t.Errorf("wigo_output_points_sent_total = %v, want >= 3", sent)
	}
	r.stop(t)
}

// The daemon closes its output plugins when it stops: the points
// output-opentsdb buffered while OpenTSDB was down reach it on SIGTERM,
// though the plugin's own sender was waiting seconds before its next try.
func TestOutputFlushedOnShutdown(t *testing.T) {
	tsdb, err := tsdbtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tsdb.Close)
	tsdb.Stop()
	env := newEnv(t, fmt.Sprintf("output \"opentsdb\" {\n  address = [%q]\n  deduplication = 0\n  max_retry_interval = \"1m\"\n}\n", tsdb.Addr()))
	load, err := filepath.Abs("../../probes/examples/hardware_load_average")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(env.dir, "probes", "1", "hardware_load_average"), "#!/bin/sh\nexec "+load+"\n", 0o755)
	r := start(t, env)
	// The third failed post: the sender waits 4 s before the next.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(r.logs.String(), "retry_in=4s") {
		if time.Now().After(deadline) {
			t.Fatal("the output never failed three times")
		}
		time.Sleep(20 * time.Millisecond) // another process's log: polling is the only way
	}
	if err := tsdb.Start(); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if tsdb.Count() == 0 {
		t.Fatal("OpenTSDB got none of the buffered points when the daemon stopped")
	}
	if !strings.Contains(r.logs.String(), "buffered points flushed on close") {
		t.Error("the plugin did not log its flush")
	}
}
