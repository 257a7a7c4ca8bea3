package metrics

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/decide"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/testbin"
	"github.com/wigo-project/wigo/core/ws"
	"github.com/wigo-project/wigo/plugins/output-opentsdb/tsdbtest"
)

// pluginsDir holds the real output-opentsdb binary, built once by TestMain.
var pluginsDir string

func TestMain(m *testing.M) {
	// The benchmark runs its OpenTSDB in a child process (this binary), so
	// the CPU this process spends is the core's alone.
	if os.Getenv(serveEnv) != "" {
		serveTSDB()
		return
	}
	os.Exit(func() int {
		defer testbin.Cleanup()
		bin, err := testbin.BuildPackage("github.com/wigo-project/wigo/plugins/output-opentsdb")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		pluginsDir = filepath.Dir(bin)
		return m.Run()
	}())
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// rig is a core in miniature: a state on a bus, the real plugin manager
// running the real output-opentsdb binary, and a Router between them.
type rig struct {
	bus     *event.Bus
	state   *state.State
	plugins *plugin.Manager
	router  *Router
}

func newRig(t testing.TB, block string, ro RouterOptions) *rig {
	t.Helper()
	src := fmt.Sprintf("plugins_dir = %q\noutput \"opentsdb\" {\n%s\n}\n", pluginsDir, block)
	cfg, diags := config.Parse(config.Source{Name: filepath.Join(t.TempDir(), "wigo.hcl"), Src: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	level := hclog.Info
	if _, ok := t.(*testing.B); ok {
		level = hclog.Warn
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "wigo", Level: level, Output: testWriter{t}})
	m := plugin.NewManager(plugin.Options{Dir: pluginsDir, Logger: log.Named("plugin")})
	t.Cleanup(m.Stop)
	ctx, cancel := context.WithCancel(context.Background())
	if diags := m.Start(ctx, cfg.Outputs); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	bus := event.NewBus()
	st := state.New(state.Options{UUID: "local-uuid", Hostname: "master", Group: "core", Bus: bus})
	ro.Writer, ro.Outputs, ro.Logger = m, []string{"opentsdb"}, log.Named("metrics")
	r := NewRouter(ro)
	r.Subscribe(bus)
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &rig{bus: bus, state: st, plugins: m, router: r}
}

func tsdb(t testing.TB) *tsdbtest.Server {
	t.Helper()
	s, err := tsdbtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// runProbe runs a real example probe and returns its result as the probe
// runner records it.
func runProbe(t testing.TB, name string, ts int64) *model.ProbeResult {
	t.Helper()
	out, err := exec.Command(filepath.Join("..", "..", "probes", "examples", name)).Output()
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	var r model.ProbeResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(r.Metrics) == 0 {
		t.Fatalf("%s reported no metrics", name)
	}
	r.Name, r.Timestamp = name, ts
	return &r
}

// remoteDoc is what a pull or push brings in: an instance "relay" with a
// host "db-1" under it, whose disk probe has messy tags, and a DOWN host.
func remoteDoc(ts int64, used float64) *model.Wigo {
	disk := &model.ProbeResult{Name: "hardware_disks", Status: 200, Timestamp: ts, Message: fmt.Sprint("used ", used), Metrics: []model.Metric{
		{Tags: map[string]string{"Device": "/dev/sda1", "mountpoint": "/", "type": "used_percent"}, Value: used},
		{Tags: map[string]string{"Device": "/dev/sda1", "mountpoint": "/", "type": "inodes_used_percent"}, Value: 3},
		{Tags: map[string]string{"mountpoint": "/srv data", "type": "used_percent"}, Value: 40},
	}}
	return &model.Wigo{Uuid: "relay-uuid", Hostname: "relay", IsAlive: true,
		LocalHost: &model.Host{Name: "relay", Group: "edge", Probes: map[string]*model.ProbeResult{
			"uptime": {Name: "uptime", Status: 100, Timestamp: ts},
		}},
		RemoteWigos: map[string]*model.Wigo{
			"db-uuid": {Uuid: "db-uuid", Hostname: "db-1", IsAlive: true,
				LocalHost: &model.Host{Name: "db-1", Group: "db", Probes: map[string]*model.ProbeResult{"hardware_disks": disk}}},
			"old-uuid": {Uuid: "old-uuid", Hostname: "old-1", IsAlive: false,
				LocalHost: &model.Host{Name: "old-1", Group: "db", Probes: map[string]*model.ProbeResult{}}},
		}}
}

// TestLocalAndRemoteMetricsReachOpenTSDB is must-show 1: the sample
// probes' metrics (local) and a remote host's (ingested as a pull or push
// would) go through the real plugin binary to a strict /api/put; batching
// and deduplication are visible.
func TestLocalAndRemoteMetricsReachOpenTSDB(t *testing.T) {
	s := tsdb(t)
	rg := newRig(t, fmt.Sprintf(`
  address       = [%q]
  metric_prefix = "wigo"
  deduplication = 600
  tags          = { dc = "par1" }
`, s.Addr()), RouterOptions{FlushInterval: 200 * time.Millisecond})
	ts := time.Now().Unix()
	load, mem := runProbe(t, "hardware_load_average", ts), runProbe(t, "hardware_memory", ts)
	rg.state.ProbeResult(load)
	rg.state.ProbeResult(mem)
	if err := rg.state.Ingest("test", remoteDoc(ts, 91)); err != nil {
		t.Fatal(err)
	}
	want := len(load.Metrics) + len(mem.Metrics) + 3
	waitFor(t, "every point stored", func() bool { return s.Count() == want })
	got := map[string]int{}
	for _, p := range s.Points() {
		got[p.Metric+" "+p.Tags["hostname"]+" "+p.Tags["group"]]++
		if p.Timestamp != ts || p.Tags["dc"] != "par1" {
			t.Errorf("point %+v: want timestamp %d and dc=par1", p, ts)
		}
		if p.Metric == "wigo.hardware_disks" && p.Tags["device"] == "" && p.Tags["mountpoint"] != "/srv_data" {
			t.Errorf("sanitised tags %v", p.Tags)
		}
	}
	for k, n := range map[string]int{
		"wigo.hardware_load_average master core": 3,
		"wigo.hardware_memory master core":       4,
		"wigo.hardware_disks db-1 db":            3,
	} {
		if got[k] != n {
			t.Errorf("%s: %d points, want %d (all: %v)", k, got[k], n, got)
		}
	}
	// Batching: the results published together went in one request.
	reqs := s.Requests()
	if len(reqs) >= 3 {
		t.Errorf("%d requests for %d points from 3 results: not batched (%+v)", len(reqs), want, reqs)
	}

	// Deduplication: the same values again, ten seconds later, are handed
	// to the plugin (Sent grows) but not sent to OpenTSDB; a changed value
	// is.
	waitFor(t, "the first points accounted", func() bool { return rg.router.Stats()[0].Sent == uint64(want) })
	if err := rg.state.Ingest("test", remoteDoc(ts+10, 92)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the changed value", func() bool { return s.Count() == want+1 })
	waitFor(t, "the batch handed over", func() bool { return rg.router.Stats()[0].Sent == uint64(want+3) })
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != want+1 {
		t.Errorf("stored %d points, want %d: unchanged values were resent", n, want+1)
	}
	last := s.Points()[want]
	if last.Value != 92 || last.Tags["type"] != "used_percent" || last.Tags["mountpoint"] != "/" {
		t.Errorf("the changed point is %+v", last)
	}
}

// TestOutageBuffersThenDelivers is must-show 2: OpenTSDB goes down, the
// plugin keeps buffer_size points and reports the overflow, which the
// core counts and /metrics shows; when OpenTSDB is back the buffer is
// delivered.
func TestOutageBuffersThenDelivers(t *testing.T) {
	s := tsdb(t)
	rg := newRig(t, fmt.Sprintf(`
  address            = [%q]
  deduplication      = 0
  buffer_size        = 10
  max_retry_interval = "200ms"
`, s.Addr()), RouterOptions{FlushInterval: 20 * time.Millisecond})
	s.Stop()
	ts := time.Now().Unix()
	for i := range 4 { // 4 results × 4 points = 16 points, 6 too many
		r := runProbe(t, "hardware_memory", ts+int64(i))
		rg.state.ProbeResult(r)
		waitFor(t, "the points handed over", func() bool { return rg.router.Stats()[0].Sent == uint64(4*(i+1)) })
	}
	waitFor(t, "the overflow counted", func() bool { return rg.router.Stats()[0].Dropped[DropOutput] == 6 })
	h := Handler(NewCollector(CollectorOptions{State: rg.state, Router: rg.router, Plugins: rg.plugins.Health}))
	fams := scrape(t, h)
	if v, ok := value(fams, "wigo_output_points_dropped_total", map[string]string{"output": "opentsdb", "reason": "output"}); !ok || v != 6 {
		t.Errorf("wigo_output_points_dropped_total{reason=output} = %v (%v), want 6", v, ok)
	}
	if v, _ := value(fams, "wigo_output_points_sent_total", map[string]string{"output": "opentsdb"}); v != 16 {
		t.Errorf("wigo_output_points_sent_total = %v, want 16", v)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the buffer delivered", func() bool { return s.Count() == 10 })
	// The newest ten survived: the last of the first result was dropped.
	if p := s.Points()[0]; p.Timestamp == ts {
		t.Errorf("oldest point kept: %+v", p)
	}
}

// TestMetricsEndpointWholeTree is must-show 3: /metrics parsed with the
// Prometheus text parser, with the remote hosts (two levels down) present.
func TestMetricsEndpointWholeTree(t *testing.T) {
	bus := event.NewBus()
	st := state.New(state.Options{UUID: "local-uuid", Hostname: "master", Group: "core", Bus: bus})
	ts := time.Now().Unix()
	st.ProbeResult(runProbe(t, "hardware_load_average", ts))
	if err := st.Ingest("test", remoteDoc(ts, 91)); err != nil {
		t.Fatal(err)
	}
	// Label values the text format must escape, and tag keys that are not
	// label names.
	odd, oddGroup := "a \"quoted\" \\ back\nslash", `a "quoted" \ group`
	if err := st.Ingest("odd-source", &model.Wigo{Uuid: "odd-uuid", Hostname: "odd", IsAlive: true, LocalHost: &model.Host{Name: "odd", Group: oddGroup,
		Probes: map[string]*model.ProbeResult{"p": {Name: "p", Status: 100, Timestamp: ts, Metrics: []model.Metric{
			{Tags: map[string]string{"Disk Name": odd}, Value: 1.5},
			{Tags: map[string]string{"Disk Name": odd}, Value: 9}, // duplicate series: first wins
		}}}}}); err != nil {
		t.Fatal(err)
	}
	r := NewRouter(RouterOptions{Writer: newFakeWriter(), Outputs: []string{"opentsdb"}})
	h := Handler(NewCollector(CollectorOptions{
		State:  st,
		Router: r,
		Plugins: func() []plugin.InstanceHealth {
			return []plugin.InstanceHealth{{Instance: "opentsdb", Plugin: "output-opentsdb", Kind: "output", State: plugin.StateRunning, Restarts: 2}}
		},
		Notifiers: func() []notify.InstanceHealth {
			return []notify.InstanceHealth{
				{Instance: "http", State: notify.DeliveryFailing, Pending: 3, Dead: 1, Delivered: 7, ConsecutiveFailures: 4, LastFailure: time.Unix(ts, 0)},
				{Instance: "mail", State: notify.DeliveryHealthy, Delivered: 2},
			}
		},
		WebSocket: func() ws.Stats { return ws.Stats{Clients: 2} },
		Push:      fakePush{},
		Decisions: func() decide.Stats {
			return decide.Stats{Acks: 4, HeldBack: map[string]uint64{event.HeldAcknowledged: 9}}
		},
	}))
	fams := scrape(t, h)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"wigo_up", nil, 1},
		{"wigo_global_status", nil, 999},
		{"wigo_host_up", map[string]string{"host": "master", "group": "core"}, 1},
		{"wigo_host_up", map[string]string{"host": "db-1", "group": "db"}, 1},
		{"wigo_host_up", map[string]string{"host": "old-1", "group": "db"}, 0},
		{"wigo_host_status", map[string]string{"host": "old-1", "group": "db"}, 999},
		{"wigo_host_status", map[string]string{"host": "db-1", "group": "db"}, 200},
		{"wigo_probe_status", map[string]string{"host": "db-1", "group": "db", "probe": "hardware_disks"}, 200},
		{"wigo_probe_status", map[string]string{"host": "relay", "group": "edge", "probe": "uptime"}, 100},
		{"wigo_probe_last_run_timestamp_seconds", map[string]string{"host": "db-1", "probe": "hardware_disks"}, float64(ts)},
		{"wigo_probe_metric", map[string]string{"host": "db-1", "probe": "hardware_disks", "tag_device": "/dev/sda1", "tag_mountpoint": "/", "tag_type": "used_percent"}, 91},
		{"wigo_probe_metric", map[string]string{"host": "db-1", "probe": "hardware_disks", "tag_device": "", "tag_mountpoint": "/srv data", "tag_type": "used_percent"}, 40},
		{"wigo_probe_metric", map[string]string{"host": "master", "probe": "hardware_load_average", "tag_load": "load1"}, -1},
		{"wigo_plugin_restarts_total", map[string]string{"instance": "opentsdb", "kind": "output"}, 2},
		{"wigo_plugin_up", map[string]string{"instance": "opentsdb"}, 1},
		{"wigo_notify_outbox", map[string]string{"instance": "http", "state": "pending"}, 3},
		{"wigo_notify_outbox", map[string]string{"instance": "http", "state": "dead"}, 1},
		{"wigo_notify_outbox", map[string]string{"instance": "mail", "state": "pending"}, 0},
		{"wigo_notify_delivered_total", map[string]string{"instance": "http"}, 7},
		{"wigo_notify_delivered_total", map[string]string{"instance": "mail"}, 2},
		{"wigo_notify_state", map[string]string{"instance": "http", "state": "failing"}, 1},
		{"wigo_notify_state", map[string]string{"instance": "http", "state": "healthy"}, 0},
		{"wigo_notify_state", map[string]string{"instance": "mail", "state": "healthy"}, 1},
		{"wigo_notify_consecutive_failures", map[string]string{"instance": "http"}, 4},
		{"wigo_notify_last_failure_timestamp_seconds", map[string]string{"instance": "http"}, float64(ts)},
		{"wigo_notify_last_success_timestamp_seconds", map[string]string{"instance": "mail"}, 0},
		{"wigo_websocket_clients", nil, 2},
		{"wigo_host_up", map[string]string{"host": "odd", "group": oddGroup}, 1},
		{"wigo_probe_metric", map[string]string{"host": "odd", "group": oddGroup, "tag_disk_name": odd}, 1.5},
		{"wigo_push_clients", map[string]string{"state": "waiting"}, 1},
		{"wigo_push_clients", map[string]string{"state": "allowed"}, 2},
		{"wigo_output_points_dropped_total", map[string]string{"output": "opentsdb", "reason": "queue_full"}, 0},
		{"wigo_metrics_events_dropped_total", nil, 0},
		{"wigo_acknowledgements", nil, 4},
		{"wigo_notifications_held_back_total", map[string]string{"reason": "acknowledged"}, 9},
	} {
		v, ok := value(fams, c.name, c.labels)
		if !ok {
			t.Errorf("%s%v missing", c.name, c.labels)
			continue
		}
		if c.want >= 0 && v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	// Every notifier series says which notifier it is about.
	for name, fam := range fams {
		if !strings.HasPrefix(name, "wigo_notify_") {
			continue
		}
		for _, m := range fam.GetMetric() {
			named := false
			for _, l := range m.GetLabel() {
				named = named || l.GetName() == "instance" && l.GetValue() != ""
			}
			if !named {
				t.Errorf("%s%v has no instance label", name, m.GetLabel())
			}
		}
	}
	if n := len(fams["wigo_probe_metric"].GetMetric()); n != 3+3+1 {
		t.Errorf("%d wigo_probe_metric series, want 7", n)
	}
	// What Prometheus sends: gzip accepted.
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("not gzipped: %v", rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	zfams, err := p.TextToMetricFamilies(zr)
	if err != nil {
		t.Fatalf("parse gzipped /metrics: %v", err)
	}
	if len(zfams) != len(fams) {
		t.Errorf("gzipped scrape has %d families, plain %d", len(zfams), len(fams))
	}
	if fams["go_goroutines"] == nil || fams["process_cpu_seconds_total"] == nil {
		t.Error("runtime and process collectors missing")
	}
}

type fakePush struct{}

func (fakePush) List(context.Context) (waiting, allowed map[string]string, err error) {
	return map[string]string{"u1": "new-host"}, map[string]string{"u2": "a", "u3": "b"}, nil
}

// scrape GETs /metrics from h and parses it with the Prometheus text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}
