package daemon

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// TestMetricsGlue builds a real daemon (without running it) and checks
// that the metrics path and GET /metrics are wired to its state.
func TestMetricsGlue(t *testing.T) {
	dir := t.TempDir()
	src := `hostname = "glue-host"
group = "g"
probes_dir = "probes"
database = "wigo.db"
uuid_file = "uuid"
http {
  enabled = false
}
`
	d := newDaemon(t, dir, src)
	t.Cleanup(func() { d.store.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.metrics.Run(ctx); close(done) }()
	d.State().ProbeResult(&model.ProbeResult{Name: "load", Status: 100, Timestamp: time.Now().Unix(),
		Metrics: []model.Metric{{Tags: map[string]string{"load": "load1"}, Value: 0.5}}})

	rec := httptest.NewRecorder()
	d.metricsHandler(nil, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`wigo_up 1`,
		`wigo_host_up{host="glue-host",group="g"} 1`,
		`wigo_probe_metric{host="glue-host",group="g",probe="load",tag_load="load1"} 0.5`,
		`wigo_metrics_events_dropped_total 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cancel()
	<-done
}
