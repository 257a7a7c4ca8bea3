package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/plugins/output-opentsdb/tsdbtest"
	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// syncBuffer collects the plugin's log lines for assertions.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func server(t *testing.T) *tsdbtest.Server {
	t.Helper()
	s, err := tsdbtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// start runs the plugin in-process over real gRPC with cfg as its block.
func start(t *testing.T, cfg string) (*sdktest.OutputClient, *output, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o := newOutput()
	o.log = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})
	c := sdktest.Output(t, o)
	if err := c.Configure(cfg); err != nil {
		t.Fatalf("configure: %v", err)
	}
	t.Cleanup(o.stopSender)
	return c, o, logs
}

// waitFor polls cond until it holds; the deadline only stops a broken test
// from hanging, it is not a performance assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// probeMetrics runs a real example probe and returns its metrics as the
// core would hand them over.
func probeMetrics(t *testing.T, probe string, at time.Time) []sdk.Metric {
	t.Helper()
	out, err := exec.Command(filepath.Join("..", "..", "probes", "examples", probe)).Output()
	if err != nil {
		t.Fatalf("run %s: %v", probe, err)
	}
	var r struct {
		Metrics []struct {
			Tags  map[string]string
			Value float64
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s output %q: %v", probe, out, err)
	}
	if len(r.Metrics) == 0 {
		t.Fatalf("%s reported no metrics: %s", probe, out)
	}
	var ms []sdk.Metric
	for _, m := range r.Metrics {
		ms = append(ms, sdk.Metric{Hostname: "web-1", Group: "front end", Probe: probe, Value: m.Value, Tags: m.Tags, Time: at})
	}
	return ms
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`address = ["tsdb"]`, "want host:port"},
		{`address = []`, "at least one"},
		{"address = [\"a:1\"]\nload_balance = \"random\"", "load_balance"},
		{"address = [\"a:1\"]\nmetric_prefix = \"wi go\"", "metric_prefix"},
		{"address = [\"a:1\"]\ntags = { dc = \"\" }", "tags"},
		{"address = [\"a:1\"]\nbuffer_size = 0", "buffer_size"},
		{"address = [\"a:1\"]\ntimeout = \"soon\"", "timeout"},
	} {
		o := newOutput()
		c := sdktest.Output(t, o)
		err := c.Configure(tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to mention %q", tc.src, err, tc.want)
		}
		o.stopSender()
	}
}

// TestSampleProbesReachStrictServer sends the real sample probes' metrics
// and checks what the strict server stored: names, tags, timestamps.
func TestSampleProbesReachStrictServer(t *testing.T) {
	s := server(t)
	c, _, _ := start(t, fmt.Sprintf(`
address = [%q]
metric_prefix = "wigo"
tags = { dc = "par1" }
`, s.Addr()))
	at := time.Unix(1764000000, 0)
	ms := append(probeMetrics(t, "hardware_load_average", at), probeMetrics(t, "hardware_memory", at)...)
	// A tag the probe spelled badly: upper-case key, a space and ':' in the value.
	ms = append(ms, sdk.Metric{Hostname: "web-1", Probe: "check_http", Value: 0.25, Tags: map[string]string{"URL": "http://x:80/a b"}, Time: at})
	if err := c.Write(ms); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every point stored", func() bool { return s.Count() == len(ms) })
	byMetric := map[string]int{}
	for _, p := range s.Points() {
		byMetric[p.Metric]++
		if p.Timestamp != at.Unix() {
			t.Errorf("timestamp %d, want %d (seconds)", p.Timestamp, at.Unix())
		}
		if p.Tags["hostname"] != "web-1" || p.Tags["dc"] != "par1" {
			t.Errorf("tags %v: want hostname=web-1 dc=par1", p.Tags)
		}
		switch p.Metric {
		case "wigo.hardware_load_average":
			if p.Tags["group"] != "front_end" || p.Tags["load"] == "" {
				t.Errorf("load tags %v", p.Tags)
			}
		case "wigo.check_http":
			if p.Tags["url"] != "http_//x_80/a_b" {
				t.Errorf("sanitised tags %v", p.Tags)
			}
		}
	}
	if byMetric["wigo.hardware_load_average"] != 3 || byMetric["wigo.hardware_memory"] != 4 {
		t.Errorf("stored %v", byMetric)
	}
	for _, r := range s.Requests() {
		if !r.Details || r.Failed != 0 {
			t.Errorf("request %+v: want ?details and nothing refused", r)
		}
	}
}

// TestDeduplicationAndBatching: an unchanged value is not resent within
// the period, a changed one is, and the same value again once the period
// has passed; a big write goes out in batch_size requests, gzipped.
func TestDeduplicationAndBatching(t *testing.T) {
	s := server(t)
	c, _, _ := start(t, fmt.Sprintf(`
address = [%q]
deduplication = 60
batch_size = 2
gzip = true
`, s.Addr()))
	t0 := time.Unix(1764000000, 0)
	m := func(v float64, at time.Time, tag string) sdk.Metric {
		return sdk.Metric{Hostname: "h", Probe: "p", Value: v, Tags: map[string]string{"k": tag}, Time: at}
	}
	steps := [][]sdk.Metric{
		{m(1, t0, "a")},                     // sent
		{m(1, t0.Add(10*time.Second), "a")}, // same value within 60 s: suppressed
		{m(2, t0.Add(20*time.Second), "a")}, // changed: sent
		{m(2, t0.Add(81*time.Second), "a")}, // unchanged but 61 s later: sent
		{m(2, t0.Add(90*time.Second), "b")}, // another series: sent
	}
	want := []int{1, 1, 2, 3, 4}
	for i, batch := range steps {
		if err := c.Write(batch); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprint("step ", i), func() bool { return s.Count() == want[i] })
	}
	time.Sleep(100 * time.Millisecond)
	if n := s.Count(); n != 4 {
		t.Fatalf("stored %d points, want 4 after deduplication", n)
	}
	before := len(s.Requests())
	var big []sdk.Metric
	for i := range 5 {
		big = append(big, m(float64(i), t0.Add(time.Hour), fmt.Sprint("s", i)))
	}
	if err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the big write", func() bool { return s.Count() == 9 })
	reqs := s.Requests()[before:]
	if len(reqs) != 3 || reqs[0].Points != 2 || reqs[1].Points != 2 || reqs[2].Points != 1 {
		t.Errorf("requests %+v: want 2, 2, 1 points", reqs)
	}
	for _, r := range reqs {
		if !r.Gzip {
			t.Errorf("request %+v not gzipped", r)
		}
	}
}

// TestOutageBuffersThenDelivers: with OpenTSDB down, points are kept up to
// buffer_size, the overflow is reported as "dropped N points", and the
// rest arrives once OpenTSDB is back.
func TestOutageBuffersThenDelivers(t *testing.T) {
	s := server(t)
	c, o, logs := start(t, fmt.Sprintf(`
address = [%q]
deduplication = 0
buffer_size = 5
max_retry_interval = "100ms"
`, s.Addr()))
	s.Stop()
	at := time.Unix(1764000000, 0)
	var ms []sdk.Metric
	for i := range 8 {
		ms = append(ms, sdk.Metric{Hostname: "h", Probe: "p", Value: float64(i), Tags: map[string]string{"n": fmt.Sprint(i)}, Time: at})
	}
	if err := c.Write(ms[:4]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed attempt", func() bool { return strings.Contains(logs.String(), "opentsdb unreachable") })
	if err := c.Write(ms[4:]); err == nil || !strings.Contains(err.Error(), "dropped 3 points") {
		t.Fatalf("write over buffer_size: %v, want dropped 3 points", err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the buffer delivered", func() bool { return s.Count() == 5 })
	for i, p := range s.Points() {
		if p.Value != float64(i+3) {
			t.Errorf("point %d value %g: the oldest should have been dropped", i, p.Value)
		}
	}
	// The server stores before the plugin reads its answer: wait for that.
	waitFor(t, "the buffer emptied", func() bool { _, _, buffered := o.stats(); return buffered == 0 })
	if err := c.Write(nil); err != nil {
		t.Errorf("loss reported twice: %v", err)
	}
}

// TestRejectedPointsAreLoggedAndReported: a point OpenTSDB refuses (more
// than 8 tags) is logged from ?details and reported, the others stored.
func TestRejectedPointsAreLoggedAndReported(t *testing.T) {
	s := server(t)
	c, _, logs := start(t, fmt.Sprintf("address = [%q]\n", s.Addr()))
	tags := map[string]string{}
	for i := range 9 {
		tags[fmt.Sprint("t", i)] = "v"
	}
	at := time.Unix(1764000000, 0)
	if err := c.Write([]sdk.Metric{
		{Hostname: "h", Probe: "ok", Value: 1, Tags: map[string]string{"a": "b"}, Time: at},
		{Hostname: "h", Probe: "wide", Value: 1, Tags: tags, Time: at},
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rejection logged", func() bool { return strings.Contains(logs.String(), "point rejected by opentsdb") })
	if s.Count() != 1 {
		t.Errorf("stored %d, want 1", s.Count())
	}
	waitFor(t, "the loss reported", func() bool {
		err := c.Write(nil)
		return err != nil && strings.Contains(err.Error(), "dropped 1 points") && strings.Contains(err.Error(), "rejected")
	})
}

// TestFailoverAndRoundRobin: a dead first address fails over to the next;
// round-robin spreads requests over every address.
func TestFailoverAndRoundRobin(t *testing.T) {
	dead, live := server(t), server(t)
	dead.Stop()
	c, _, _ := start(t, fmt.Sprintf("address = [%q, %q]\n", dead.Addr(), live.Addr()))
	at := time.Unix(1764000000, 0)
	if err := c.Write([]sdk.Metric{{Hostname: "h", Probe: "p", Value: 1, Tags: map[string]string{"a": "b"}, Time: at}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failover", func() bool { return live.Count() == 1 })

	a, b := server(t), server(t)
	c2, _, _ := start(t, fmt.Sprintf("address = [%q, %q]\nload_balance = \"round-robin\"\ndeduplication = 0\n", a.Addr(), b.Addr()))
	for i := range 4 {
		if err := c2.Write([]sdk.Metric{{Hostname: "h", Probe: "p", Value: float64(i), Tags: map[string]string{"a": "b"}, Time: at}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "point stored", func() bool { return a.Count()+b.Count() == i+1 })
	}
	if a.Count() != 2 || b.Count() != 2 {
		t.Errorf("round-robin stored %d and %d, want 2 and 2", a.Count(), b.Count())
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"ok-1_a.b/c": "ok-1_a.b/c",
		"a b:c=d":    "a_b_c_d",
		"données":    "données",
		"x\xffy":     "x_y",
		"":           "",
	} {
		if got := sdk.SanitizeTag(in); got != want {
			t.Errorf("sdk.SanitizeTag(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCloseFlushesTheBuffer: the plugin declares buffering; Close posts what
// it buffered during an outage, once OpenTSDB answers within the deadline,
// and counts what it could not post when OpenTSDB stays away.
func TestCloseFlushesTheBuffer(t *testing.T) {
	s := server(t)
	c, _, logs := start(t, fmt.Sprintf("address = [%q]\ndeduplication = 0\nmax_retry_interval = \"1m\"\n", s.Addr()))
	s.Stop()
	ms := []sdk.Metric{{Hostname: "h", Probe: "p", Value: 1}, {Hostname: "h", Probe: "p", Value: 2}, {Hostname: "h", Probe: "q", Value: 3}}
	if err := c.Write(ms); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed attempt", func() bool { return strings.Contains(logs.String(), "opentsdb unreachable") })
	sdktest.CloseTimeout = 300 * time.Millisecond
	defer func() { sdktest.CloseTimeout = 5 * time.Second }()
	err := c.Close()
	var unflushed *sdk.UnflushedError
	if !errors.As(err, &unflushed) || unflushed.N != 3 || s.Count() != 0 {
		t.Fatalf("close with OpenTSDB down = %v, stored %d; want 3 unflushed", err, s.Count())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	sdktest.CloseTimeout = 5 * time.Second
	if err := c.Close(); err != nil || s.Count() != 3 {
		t.Fatalf("close with OpenTSDB back = %v, stored %d; want the 3 buffered", err, s.Count())
	}
}
