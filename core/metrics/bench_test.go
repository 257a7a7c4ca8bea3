package metrics

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/plugins/output-opentsdb/tsdbtest"
	"github.com/wigo-project/wigo/sdk"
)

// serveEnv makes the test binary a strict OpenTSDB server (see TestMain).
const serveEnv = "WIGO_METRICS_BENCH_TSDB"

// serveTSDB runs the strict server, prints its address and serves until
// stdin closes (the parent went away).
func serveTSDB() {
	s, err := tsdbtest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(s.Addr())
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}

// childTSDB starts the strict server in a child process.
func childTSDB(b *testing.B) (addr string) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("child server: %v", err)
	}
	return strings.TrimSpace(line)
}

func storedIn(b *testing.B, c *http.Client, addr string) int {
	resp, err := c.Get("http://" + addr + "/tsdbtest/count")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var n struct{ Points int }
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		b.Fatal(err)
	}
	return n.Points
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProbeResultsToOpenTSDB measures the whole metrics path: b.N
// probe results of 10 metrics each recorded in the state, through the
// bus, the Router, gRPC to the real output-opentsdb binary and HTTP to a
// strict /api/put server running in another process. It reports the
// end-to-end rate (points stored per second) and the CPU this process —
// the core — spent per 10,000 points. Deduplication is off so every
// point travels.
func BenchmarkProbeResultsToOpenTSDB(b *testing.B) {
	addr := childTSDB(b)
	const perResult = 10
	rg := newRig(b, fmt.Sprintf(`
  address       = [%q]
  deduplication = 0
  buffer_size   = 1000000
  batch_size    = 1000
`, addr), RouterOptions{BatchSize: 1000, FlushInterval: 50 * time.Millisecond})
	results := make([]*model.ProbeResult, b.N)
	base := time.Now().Unix()
	for i := range results {
		ms := make([]model.Metric, perResult)
		for j := range ms {
			ms[j] = model.Metric{Tags: map[string]string{"type": fmt.Sprint("m", j), "mount": "/var"}, Value: float64(i*perResult + j)}
		}
		results[i] = &model.ProbeResult{Name: fmt.Sprint("probe", i%20), Status: 100, Timestamp: base + int64(i), Metrics: ms}
	}
	client := &http.Client{}
	want := b.N * perResult
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i, r := range results {
		rg.state.ProbeResult(r)
		// Default queue and bus buffers: the producer waits for the path
		// to keep up instead of overflowing them, so the figure is the
		// sustained rate, not a burst into memory.
		if i%100 == 99 {
			for int(rg.router.Points()) < (i+1-200)*perResult || rg.router.Stats()[0].Queued > 4000 {
				time.Sleep(200 * time.Microsecond)
			}
		}
	}
	for storedIn(b, client, addr) < want {
		if s := rg.router.Stats()[0]; len(s.Dropped) > 0 || rg.router.EventsDropped() > 0 {
			b.Fatalf("points lost: %+v, events dropped %d", s, rg.router.EventsDropped())
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(want)/elapsed.Seconds(), "points/s")
	b.ReportMetric(float64(cpu.Milliseconds())*10000/float64(want), "core-cpu-ms/10k-points")
}

// discard is a Writer that takes every batch at once.
type discard struct{}

func (discard) Write(context.Context, string, []sdk.Metric) error { return nil }

// BenchmarkRouterPath is the core's own share without the plugin: a probe
// event of 10 metrics turned into points, queued and batched to an output
// that takes everything at once. ns/op is per event (10 points).
func BenchmarkRouterPath(b *testing.B) {
	r := NewRouter(RouterOptions{Writer: discard{}, Outputs: []string{"o"}, BatchSize: 1000, FlushInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	ms := make([]model.Metric, 10)
	for j := range ms {
		ms[j] = model.Metric{Tags: map[string]string{"type": fmt.Sprint("m", j), "mount": "/var"}, Value: float64(j)}
	}
	e := event.Event{Kind: event.ProbeUpdated, Host: "h", Group: "g", Probe: "p",
		New: &model.ProbeResult{Name: "p", Timestamp: 1764000000, Metrics: ms}}
	var buf []sdk.Metric
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf = Points(buf[:0], &e)
		r.Add(buf)
		for r.Stats()[0].Queued > 5000 {
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// BenchmarkScrape1000Hosts is one GET /metrics on a master holding 1,000
// remote hosts of 20 probes with 3 tagged metrics each (60,000 probe
// metrics, 20,000 probe statuses).
func BenchmarkScrape1000Hosts(b *testing.B) {
	st := state.New(state.Options{UUID: "local-uuid", Hostname: "master", Group: "core"})
	ts := time.Now().Unix()
	for h := range 1000 {
		probes := map[string]*model.ProbeResult{}
		for p := range 20 {
			name := fmt.Sprint("probe_", p)
			probes[name] = &model.ProbeResult{Name: name, Status: 100, Timestamp: ts, Metrics: []model.Metric{
				{Tags: map[string]string{"type": "a"}, Value: 1}, {Tags: map[string]string{"type": "b"}, Value: 2},
				{Tags: map[string]string{"type": "c", "mount": "/"}, Value: 3}}}
		}
		id := fmt.Sprint("host-", h)
		if err := st.Ingest(id, &model.Wigo{Uuid: id, Hostname: id, IsAlive: true,
			LocalHost: &model.Host{Name: id, Group: fmt.Sprint("g", h%10), Probes: probes}}); err != nil {
			b.Fatal(err)
		}
	}
	h := Handler(NewCollector(CollectorOptions{State: st}))
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			var size int
			for range b.N {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/metrics", nil)
				req.Header.Set("Accept-Encoding", enc)
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}
