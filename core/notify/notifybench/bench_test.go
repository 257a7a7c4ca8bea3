package notifybench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/core/store/storetest"
	"github.com/wigo-project/wigo/core/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// pluginDir returns a plugins_dir holding notify-http, built on first use:
// a plain `go test ./...` that runs no benchmark and no end-to-end test
// does not pay for the build.
func pluginDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Dir(testbin.Build(tb, "github.com/wigo-project/wigo/plugins/notify-http"))
}

// sink is the local HTTP receiver: it records when each event's POST
// arrived, by the probe name the event carries ("p<index>").
type sink struct {
	srv *httptest.Server

	mu      sync.Mutex
	arrived []time.Time // zero until the first POST of that event
	got     int         // distinct events received
	dups    int         // POSTs of an event already received
	want    int
	all     chan struct{}
	warm    chan struct{}
	warmed  bool
	badForm atomic.Int64
}

func newSink(n int) *sink {
	s := &sink{arrived: make([]time.Time, n), want: n, all: make(chan struct{}), warm: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		var note struct{ Probe string }
		if err := json.Unmarshal([]byte(r.FormValue("Notification")), &note); err != nil {
			s.badForm.Add(1)
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		s.mu.Lock()
		defer s.mu.Unlock()
		if note.Probe == "warmup" {
			if !s.warmed {
				s.warmed = true
				close(s.warm)
			}
			return
		}
		i, err := strconv.Atoi(strings.TrimPrefix(note.Probe, "p"))
		if err != nil || i < 0 || i >= len(s.arrived) {
			s.badForm.Add(1)
			return
		}
		if !s.arrived[i].IsZero() {
			s.dups++
			return
		}
		s.arrived[i] = at
		if s.got++; s.got == s.want {
			close(s.all)
		}
	}))
	return s
}

// result is one run's figures.
type result struct {
	n             int
	elapsed       time.Duration // first publish → last first-arrival
	p50, p99, max time.Duration
	dups          int
}

func (r result) eventsPerSecond() float64 { return float64(r.n) / r.elapsed.Seconds() }

// change is a probe change from OK to CRIT, which the default filter
// (min_level 250) sends.
func change(i int) event.Event {
	probe := fmt.Sprintf("p%d", i)
	if i < 0 {
		probe = "warmup"
	}
	return event.Event{Kind: event.ProbeChanged, Host: fmt.Sprintf("host-%d", (i+64)%64), Group: "bench",
		Probe: probe, OldStatus: model.StatusOK, NewStatus: 300,
		Old: &model.ProbeResult{Name: probe, Status: model.StatusOK, Message: "ok"},
		New: &model.ProbeResult{Name: probe, Status: 300, Message: "disk on fire"}}
}

// runEndToEnd wires the daemon's notification path from real parts: a
// config parsed from HCL, the plugin manager running the notify-http
// binary, the pipeline on a SQLite outbox and an event bus. It publishes n
// events, one every interval (0: all at once), and returns the figures
// once every event reached the sink. One warm-up event goes through first,
// so the plugin's first connection to the sink is not counted.
func runEndToEnd(tb testing.TB, n int, interval time.Duration, batch bool, timer func(start bool)) result {
	tb.Helper()
	dir := pluginDir(tb)
	s := newSink(n)
	defer s.srv.Close()

	src := fmt.Sprintf("plugins_dir = %q\nnotify \"http\" {\n  url = %q\n}\n", dir, s.srv.URL+"/hook")
	cfg, diags := config.Parse(config.Source{Name: filepath.Join(tb.TempDir(), "bench.hcl"), Src: []byte(src)})
	if diags.HasErrors() {
		tb.Fatalf("config: %s", config.FormatDiagnostics(diags))
	}
	// As the daemon does (core/daemon/notify.go): the core takes its
	// filter and routing attributes out, the plugin gets the rest.
	block := cfg.Notify[0]
	inst, body, diags := notify.InstanceFromBlock(block)
	if diags.HasErrors() {
		tb.Fatalf("notify block: %s", config.FormatDiagnostics(diags))
	}
	block.Body = body

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := plugin.NewManager(plugin.Options{Dir: cfg.PluginsDir, Logger: hclog.NewNullLogger()})
	defer m.Stop()
	if diags := m.Start(ctx, []config.PluginBlock{block}); diags.HasErrors() {
		tb.Fatalf("start plugin: %s", config.FormatDiagnostics(diags))
	}
	// The daemon's sender (core/daemon.pluginSender): the notification
	// travels to the plugin as the JSON the outbox stores.
	var sender notify.Sender = notify.SenderFunc(func(ctx context.Context, instance string, n *notify.Notification) error {
		b, err := json.Marshal(n)
		if err != nil {
			return err
		}
		return m.NotifyJSON(ctx, instance, b)
	})
	if batch {
		sender = batchSender{sender, m}
	}
	st := storetest.Open(tb)
	p, err := notify.New(notify.Options{Store: st, Sender: sender, Instances: []notify.Instance{inst}})
	if err != nil {
		tb.Fatal(err)
	}
	bus := event.NewBus()
	sub := bus.Subscribe(event.SubscribeOptions{Lossless: true, Buffer: 4096, Kinds: notify.Kinds})
	defer sub.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.Run(runCtx, sub); err != nil {
			tb.Errorf("pipeline: %v", err)
		}
	})
	// Stop the pipeline before the store closes (storetest's cleanup).
	defer func() { stopRun(); wg.Wait() }()

	bus.Publish(change(-1))
	select {
	case <-s.warm:
	case <-time.After(time.Minute):
		tb.Fatalf("warm-up notification never arrived; plugin health: %+v", m.Health())
	}

	published := make([]time.Time, n)
	timer(true)
	t0 := time.Now()
	for i := range n {
		if interval > 0 {
			time.Sleep(time.Until(t0.Add(time.Duration(i) * interval)))
		}
		published[i] = time.Now()
		bus.Publish(change(i))
	}
	select {
	case <-s.all:
	case <-time.After(5*time.Minute + time.Duration(n)*interval):
		s.mu.Lock()
		got := s.got
		s.mu.Unlock()
		tb.Fatalf("only %d of %d events reached the sink; plugin health: %+v", got, n, m.Health())
	}
	timer(false)

	s.mu.Lock()
	defer s.mu.Unlock()
	if bad := s.badForm.Load(); bad > 0 {
		tb.Fatalf("%d POSTs did not carry the Notification form field", bad)
	}
	lat := make([]time.Duration, n)
	last := t0
	for i, at := range s.arrived {
		lat[i] = at.Sub(published[i])
		if at.After(last) {
			last = at
		}
	}
	slices.Sort(lat)
	return result{n: n, elapsed: last.Sub(t0), p50: lat[n/2], p99: lat[min(n-1, n*99/100)], max: lat[n-1], dups: s.dups}
}

// batchSender is the daemon's sender with batches (core/daemon.pluginSender):
// an instance's due rows go to the plugin in one NotifyBatch call.
type batchSender struct {
	notify.Sender
	m *plugin.Manager
}

func (s batchSender) Batches(instance string) bool { return s.m.Batches(instance) }

func (s batchSender) SendBatch(ctx context.Context, instance string, ns []*notify.Notification) ([]error, error) {
	raw := make([][]byte, len(ns))
	for i, n := range ns {
		b, err := json.Marshal(n)
		if err != nil {
			return nil, err
		}
		raw[i] = b
	}
	return s.m.NotifyBatchJSON(ctx, instance, raw)
}

// BenchmarkNotifyHTTPEndToEnd measures events per second from bus.Publish
// to the POST arriving at a local sink, through the SQLite outbox
// (synchronous=FULL), the plugin host's gRPC call and the real notify-http
// binary, and the p50/p99 of that event-to-POST latency. b.N is the number
// of events of one run: use -benchtime=2000x.
//
// "burst" publishes all events at once: its throughput is the ceiling, and
// its latency is mostly time spent queued behind the backlog. "paced"
// publishes 200 events/s, a storm of status changes a real fleet could
// produce: its latency is what one notification costs when the pipeline
// keeps up; "paced-1000/s" is the rate the latency target is set at.
//
// "single" sends one notification per call, as before batches; "batch"
// sends an instance's due rows in one NotifyBatch call (notify-http
// declares batch_notify), as the daemon does now: both in the same run.
func BenchmarkNotifyHTTPEndToEnd(b *testing.B) {
	for _, mode := range []struct {
		name     string
		interval time.Duration
		batch    bool
	}{
		{"burst/single", 0, false},
		{"burst/batch", 0, true},
		{"paced-1000/s/single", time.Millisecond, false},
		{"paced-1000/s/batch", time.Millisecond, true},
		{"paced-200/s/single", 5 * time.Millisecond, false},
		{"paced-200/s/batch", 5 * time.Millisecond, true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			r := runEndToEnd(b, b.N, mode.interval, mode.batch, func(start bool) {
				if start {
					b.ResetTimer()
				} else {
					b.StopTimer()
				}
			})
			b.ReportMetric(r.eventsPerSecond(), "events/s")
			b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(r.max.Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(r.dups), "duplicates")
		})
	}
}

// TestEndToEnd runs the benchmark's harness on a few events, so a change
// that breaks it (a config attribute renamed, the plugin's form changed) is
// caught by the test suite rather than on the next benchmark run.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the notify-http plugin")
	}
	for _, interval := range []time.Duration{0, 5 * time.Millisecond} {
		for _, batch := range []bool{false, true} {
			r := runEndToEnd(t, 50, interval, batch, func(bool) {})
			if r.n != 50 || r.elapsed <= 0 || r.p50 <= 0 || r.p99 < r.p50 || r.dups != 0 {
				t.Errorf("interval %s, batch %v: implausible figures %+v", interval, batch, r)
			}
			t.Logf("interval %s, batch %v: %.0f events/s, p50 %s, p99 %s, duplicates %d", interval, batch, r.eventsPerSecond(), r.p50, r.p99, r.dups)
		}
	}
}
