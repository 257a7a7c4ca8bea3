package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

const fixture = "/work/shared/fixtures/original-api/api.json"

// testHost is the core as the plugin sees it: it records every ingest.
type testHost struct {
	mu      sync.Mutex
	got     [][]byte
	sources []string
	err     error
	signal  chan struct{}
}

func newTestHost() *testHost { return &testHost{signal: make(chan struct{}, 100)} }

func (h *testHost) Ingest(_ context.Context, source string, doc []byte) error {
	h.mu.Lock()
	h.got = append(h.got, append([]byte(nil), doc...))
	h.sources = append(h.sources, source)
	err := h.err
	h.mu.Unlock()
	select {
	case h.signal <- struct{}{}:
	default:
	}
	return err
}

func (h *testHost) LocalState(context.Context) ([]byte, error) { return []byte(`{}`), nil }

func (h *testHost) Subscribe(context.Context) (<-chan []byte, error) {
	return nil, errors.New("not used by pull")
}

func (h *testHost) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// wait returns the first ingested document, failing after d.
func (h *testHost) wait(t *testing.T, d time.Duration) []byte {
	t.Helper()
	select {
	case <-h.signal:
	case <-time.After(d):
		t.Fatal("nothing ingested")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[0]
}

// syncBuf collects log lines from the pollers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitLog waits until the plugin logged want.
func (s *syncBuf) waitLog(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(s.String(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log lacks %q:\n%s", want, s.String())
}

// start configures a puller over the real gRPC harness and starts it with
// host; the returned buffer has its log.
func start(t *testing.T, src string, host sdk.Host) *syncBuf {
	t.Helper()
	logs := &syncBuf{}
	p := &puller{log: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})}
	c := sdktest.Transport(t, p)
	if err := c.Configure(src); err != nil {
		t.Fatalf("configure: %v", err)
	}
	if err := c.Start(host); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return logs
}

// doc is the part of a /api document the tests look at.
type doc struct {
	Uuid      string
	Hostname  string
	IsAlive   bool
	LocalHost *struct {
		Probes map[string]struct{ Status int }
	}
	RemoteWigos map[string]*doc
}

func (d *doc) levels() int {
	n := 0
	for _, s := range d.RemoteWigos {
		n = max(n, s.levels())
	}
	return n + 1
}

// threeLevels is the recorded original master's /api with one more level
// nested under its leaf: master-1 → leaf-1 → deep-1.
func threeLevels(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Skipf("fixture: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	leaf := m["RemoteWigos"].(map[string]any)["c471b561-78e7-49a3-5daf-9e8f146d9506"].(map[string]any)
	leaf["RemoteWigos"] = map[string]any{"0b6e4a8e-1111-2222-3333-444455556666": map[string]any{
		"Uuid": "0b6e4a8e-1111-2222-3333-444455556666", "Version": "0.73", "IsAlive": false,
		"GlobalStatus": 999, "GlobalMessage": "DOWN", "Hostname": "deep-1", "LastUpdate": 1795602800,
		"LocalHost": map[string]any{"Name": "deep-1", "Group": "db", "Status": 999,
			"Probes": map[string]any{"mysql": map[string]any{"Name": "mysql", "Status": 200, "Message": "slow"}}},
		"RemoteWigos": map[string]any{},
	}}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func serve(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func addr(srv *httptest.Server) string { return srv.Listener.Addr().String() }

// The recorded original document, three levels deep, reaches the core
// whole with depth = 0 (the default) and trimmed with depth 1 and 2.
func TestPullOriginalDocumentAndDepth(t *testing.T) {
	srv := serve(t, threeLevels(t))
	for depth, want := range map[int]int{0: 3, 1: 1, 2: 2} {
		t.Run(fmt.Sprintf("depth=%d", depth), func(t *testing.T) {
			h := newTestHost()
			start(t, fmt.Sprintf(`check_interval = 0.2
remote %q {
  depth = %d
}`, addr(srv), depth), h)
			var d doc
			if err := json.Unmarshal(h.wait(t, 5*time.Second), &d); err != nil {
				t.Fatal(err)
			}
			if got := d.levels(); got != want {
				t.Fatalf("%d levels reached the core, want %d", got, want)
			}
			if d.Hostname != "master-1" || d.LocalHost.Probes["crit"].Status != 300 {
				t.Fatalf("top of the document changed: %+v", d)
			}
			if depth != 1 {
				leaf := d.RemoteWigos["c471b561-78e7-49a3-5daf-9e8f146d9506"]
				if leaf == nil || leaf.LocalHost.Probes["warn"].Status != 300 {
					t.Fatalf("leaf-1 missing or wrong: %+v", leaf)
				}
			}
			if depth == 0 {
				deep := d.RemoteWigos["c471b561-78e7-49a3-5daf-9e8f146d9506"].RemoteWigos["0b6e4a8e-1111-2222-3333-444455556666"]
				if deep == nil || deep.IsAlive || deep.LocalHost.Probes["mysql"].Status != 200 {
					t.Fatalf("deep-1 missing or wrong: %+v", deep)
				}
			}
			if src := h.sources[0]; src != addr(srv) {
				t.Errorf("source = %q, want the remote's address", src)
			}
		})
	}
}

// Polls reuse one kept-alive connection and carry basic auth.
func TestPullBasicAuthAndKeepAlive(t *testing.T) {
	var conns, polls atomic.Int32
	body := threeLevels(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "wigo" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="wigo"`)
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		polls.Add(1)
		w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	h := newTestHost()
	start(t, fmt.Sprintf(`check_interval = 0.1
login = "wigo"
password = "s3cret"
remotes = [%q]`, addr(srv)), h)
	deadline := time.Now().Add(10 * time.Second)
	for h.count() < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h.count() < 5 {
		t.Fatalf("%d ingests in 10s", h.count())
	}
	if c := conns.Load(); c != 1 {
		t.Errorf("%d connections for %d polls, want 1 kept alive", c, polls.Load())
	}
}

// Wrong credentials: the 401 is logged with the remote and nothing is
// ingested.
func TestPullAuthRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "auth", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	h := newTestHost()
	logs := start(t, fmt.Sprintf(`check_interval = 0.1
remote %q {
  login = "x"
  password = "y"
}`, addr(srv)), h)
	logs.waitLog(t, "401 Unauthorized", 5*time.Second)
	if !strings.Contains(logs.String(), "remote="+addr(srv)) {
		t.Errorf("failure logged without the remote:\n%s", logs.String())
	}
	if h.count() != 0 {
		t.Fatal("ingested after a 401")
	}
}

func TestPullTLSWithCAFile(t *testing.T) {
	body := threeLevels(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}

	h := newTestHost()
	start(t, fmt.Sprintf(`check_interval = 0.2
remote %q {
  tls = true
  ca_file = %q
}`, addr(srv), ca), h)
	h.wait(t, 5*time.Second)

	// Without the CA the certificate is refused and nothing is ingested.
	h2 := newTestHost()
	logs := start(t, fmt.Sprintf(`check_interval = 0.2
tls = true
remotes = [%q]`, addr(srv)), h2)
	logs.waitLog(t, "certificate", 5*time.Second)
	if h2.count() != 0 {
		t.Fatal("ingested from an unverified server")
	}
}

// A remote that accepts the request and never answers costs one timeout
// per poll, logged with the remote; nothing is ingested.
func TestPullTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	h := newTestHost()
	logs := start(t, fmt.Sprintf(`check_interval = 1
timeout = 0.3
retries = 0
remotes = [%q]`, addr(srv)), h)
	logs.waitLog(t, "deadline exceeded", 5*time.Second)
	if h.count() != 0 {
		t.Fatal("ingested from a hanging server")
	}
}

// Garbage, a document without Uuid, and an answer over the size limit are
// refused before reaching the core.
func TestPullRefusesGarbage(t *testing.T) {
	for name, body := range map[string][]byte{
		"garbage":   []byte("<html>oops</html>"),
		"truncated": threeLevels(t)[:200],
		"no uuid":   []byte(`{"Hostname":"x"}`),
		"too big":   bytes.Repeat([]byte(" "), 4096),
	} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, body)
			h := newTestHost()
			logs := start(t, fmt.Sprintf(`check_interval = 0.1
max_response_size = 2048
remotes = [%q]`, addr(srv)), h)
			logs.waitLog(t, "poll failed", 5*time.Second)
			if h.count() != 0 {
				t.Fatal("garbage ingested")
			}
		})
	}
}

// An error from the core (parts of the document refused) is logged once,
// not on every poll.
func TestPullLogsCoreRefusalOnce(t *testing.T) {
	srv := serve(t, threeLevels(t))
	h := newTestHost()
	h.err = errors.New("RemoteWigos.x: host name: empty")
	logs := start(t, fmt.Sprintf("check_interval = 0.05\nremotes = [%q]", addr(srv)), h)
	deadline := time.Now().Add(5 * time.Second)
	for h.count() < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "poll failed"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, logs.String())
	}
}

func TestConfig(t *testing.T) {
	good := `check_interval = 10
remotes = ["a.example", "b.example:4010", "[::1]:4000"]
remote "10.0.0.2" {}
remote "10.0.0.3" {
  port = 4005
  depth = 1
  check_interval = 30
  login = "u"
}`
	p := &puller{}
	c := sdktest.Transport(t, p)
	if err := c.Configure(good); err != nil {
		t.Fatal(err)
	}
	got := map[string]*remote{}
	for _, r := range p.cfg.remotes {
		got[r.label] = r
	}
	if r := got["a.example"]; r == nil || r.url != "http://a.example:4000/api" || r.interval != 10*time.Second {
		t.Errorf("a.example: %+v", r)
	}
	if r := got["b.example:4010"]; r == nil || r.addr != "b.example:4010" {
		t.Errorf("b.example: %+v", r)
	}
	if r := got["[::1]:4000"]; r == nil || r.url != "http://[::1]:4000/api" {
		t.Errorf("v6: %+v", r)
	}
	if r := got["10.0.0.3"]; r == nil || r.addr != "10.0.0.3:4005" || r.depth != 1 || r.interval != 30*time.Second || r.login != "u" || r.timeout != 10*time.Second {
		t.Errorf("10.0.0.3: %+v", r)
	}
	for name, src := range map[string]string{
		"bad port":  `remote "x" { port = 70000 }`,
		"bad label": `remotes = ["http://x/api"]`,
		"missing ca": `remote "x" { tls = true
ca_file = "/nonexistent/ca.pem" }`,
		"duplicate": `remotes = ["x"]
remote "x:4000" {}`,
		"neg depth": `depth = -1
remotes = ["x"]`,
		"zero interval": `check_interval = 0`,
		"tiny interval": `remote "x" { check_interval = 0.0000000001 }`,
		"tiny timeout":  `remote "x" { timeout = 0.000001 }`,
		"wrong type":    `check_interval = "soon"`,
		"unknown attr":  `remote "x" { hostname = "y" }`,
		"two tokens": `remote "x" {
control_token = "a"
control_token_file = "/etc/hostname" }`,
		"missing token file": `remote "x" { control_token_file = "/nonexistent/token" }`,
		"token with a space": `remote "x" { control_token = "a b" }`,
	} {
		if err := sdktest.Transport(t, &puller{}).Configure(src); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkPullPrepare is the plugin's own CPU per pulled host update
// (checking the answer is a Wigo document, and trimming to depth 1), the
// HTTP round trip excluded.
func BenchmarkPullPrepare(b *testing.B) {
	body, err := os.ReadFile(fixture)
	if err != nil {
		b.Skip(err)
	}
	for _, depth := range []int{0, 1} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := prepare(body, depth); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Many remotes share one client; each keeps its single connection alive
// from one poll to the next.
func TestPullKeepAliveManyRemotes(t *testing.T) {
	const n = 20
	body := threeLevels(t)
	conns := make([]atomic.Int32, n)
	var list []string
	for i := range n {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns[i].Add(1)
			}
		}
		srv.Start()
		t.Cleanup(srv.Close)
		list = append(list, fmt.Sprintf("%q", addr(srv)))
	}
	h := newTestHost()
	// Each poll's timeout is the interval: a poll that times out on a
	// loaded machine closes its connection, which is not what this counts.
	start(t, fmt.Sprintf("check_interval = 1\nremotes = [%s]", strings.Join(list, ", ")), h)
	deadline := time.Now().Add(20 * time.Second)
	for h.count() < 3*n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h.count() < 3*n {
		t.Fatalf("%d ingests from %d remotes", h.count(), n)
	}
	for i := range conns {
		if c := conns[i].Load(); c != 1 {
			t.Errorf("remote %d: %d connections, want 1", i, c)
		}
	}
}

// hostBody is one 20-probe host document as this project's /api answers.
func hostBody() []byte {
	probes := map[string]any{}
	for i := range 20 {
		name := fmt.Sprintf("probe_%02d", i)
		probes[name] = map[string]any{"Name": name, "Version": "0.1", "Value": nil, "Message": "all fine",
			"ProbeDate": "2026-11-25T10:34:20.443134 (UTC)", "Timestamp": 1795602860,
			"Metrics": []any{map[string]any{"Tags": map[string]string{"metric": "a"}, "Value": 1.5}},
			"Detail":  map[string]any{"k": 1}, "Status": 100, "ExitCode": 0}
	}
	b, _ := json.Marshal(map[string]any{"Uuid": "9a1f0c1e-aaaa-bbbb-cccc-0123456789ab", "Version": "dev", "IsAlive": true,
		"GlobalStatus": 100, "GlobalMessage": "OK", "Hostname": "h", "LastUpdate": 1795602860,
		"LocalHost":   map[string]any{"Name": "h", "Group": "web", "Status": 100, "Probes": probes},
		"RemoteWigos": map[string]any{}})
	return b
}

// BenchmarkPullPoll is one poll of a 20-probe remote over a kept-alive
// connection, the HTTP server in the same process (so it counts both
// ends), the core replaced by a no-op: the plugin's share of a pulled
// host update.
func BenchmarkPullPoll(b *testing.B) {
	body := hostBody()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	r := &remote{label: "bench", addr: addr(srv), url: srv.URL + "/api", interval: time.Minute, timeout: 10 * time.Second}
	h := &testHost{signal: make(chan struct{})}
	bt := sdk.NewBatcher(hclog.NewNullLogger(), h)
	defer bt.Close()
	rn := &run{client: newClient([]*remote{r}), batch: bt, alive: bt, maxResponse: defaultMaxResponse, log: hclog.NewNullLogger()}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := rn.once(ctx, r, &last{}); err != nil {
			b.Fatal(err)
		}
		h.mu.Lock()
		h.got, h.sources = h.got[:0], h.sources[:0]
		h.mu.Unlock()
	}
	// Process CPU, both ends of the connection: wall time on a shared
	// machine says little.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func TestTopLevelUUID(t *testing.T) {
	for _, c := range []struct {
		doc, uuid string
		bad       bool
	}{
		{doc: `{"Hostname":"h","LocalHost":{"Uuid":"inner"},"Uuid":"u-1"}`, uuid: "u-1"},
		{doc: `{"U\u0075id":"u-2","RemoteWigos":{"x":{"Uuid":"y"}}}`, uuid: "u-2"},
		{doc: `{"Hostname":"h","Uuid":7}`, uuid: ""},
		{doc: `{"Hostname":"h"}`, uuid: ""},
		{doc: `["Uuid","u"]`, bad: true},
		{doc: `{"Uuid":"u-1"} {}`, bad: true},
		{doc: `{"Uuid":"u-1","x":[1,}`, bad: true},
		{doc: `<html>`, bad: true},
	} {
		got, err := topLevelUUID([]byte(c.doc))
		if (err != nil) != c.bad || got != c.uuid {
			t.Errorf("%s: %q, %v", c.doc, got, err)
		}
	}
}

// serveGzip answers /api gzipped when asked, and records whether it was.
func serveGzip(t *testing.T, body []byte, asked *atomic.Bool) *httptest.Server {
	t.Helper()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(body)
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Write(body)
			return
		}
		asked.Store(true)
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(zb.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Documents travel gzipped when the remote can (as the original's and this
// project's /api do); the size limit applies to the inflated document, so
// a small gzip bomb is refused.
func TestPullGzip(t *testing.T) {
	var asked atomic.Bool
	srv := serveGzip(t, threeLevels(t), &asked)
	h := newTestHost()
	start(t, fmt.Sprintf("check_interval = 0.2\nremotes = [%q]", addr(srv)), h)
	var d doc
	if err := json.Unmarshal(h.wait(t, 5*time.Second), &d); err != nil {
		t.Fatal(err)
	}
	if !asked.Load() || d.Hostname != "master-1" || d.levels() != 3 {
		t.Fatalf("gzip asked %v, document %+v", asked.Load(), d)
	}

	bomb := append([]byte(`{"Uuid":"u","Pad":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	bomb = append(bomb, `"}`...)
	srv2 := serveGzip(t, bomb, &asked)
	h2 := newTestHost()
	logs := start(t, fmt.Sprintf("check_interval = 0.1\nmax_response_size = 65536\nremotes = [%q]", addr(srv2)), h2)
	logs.waitLog(t, "larger than max_response_size", 5*time.Second)
	if h2.count() != 0 {
		t.Fatal("an inflated document over the limit was ingested")
	}
}

// An answer over max_response_size costs about the limit, not the 2.25
// times io.ReadAll's growing buffer held: streamed (no Content-Length, the
// usual case) it is read up to the limit and dropped; with a Content-Length
// over the limit it is not read at all.
func TestOversizedAnswerCostsAboutTheLimit(t *testing.T) {
	const limit = 8 << 20
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for name, declare := range map[string]bool{"streamed": false, "with length": true} {
		t.Run(name, func(t *testing.T) {
			var served atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer served.Add(1)
				if declare {
					w.Header().Set("Content-Length", fmt.Sprint(32<<20))
				}
				for range 32 {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			// A 1 s interval is also each poll's timeout: long enough that
			// reading 8 MiB on a loaded machine ends at the limit, not the
			// deadline.
			logs := start(t, fmt.Sprintf("check_interval = 1\nretries = 0\nmax_response_size = %d\nremotes = [%q]", limit, addr(srv)), newTestHost())
			deadline := time.Now().Add(30 * time.Second)
			for served.Load() < 3 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			n := served.Load()
			if n < 3 {
				t.Fatalf("only %d polls in 30 s", n)
			}
			logs.waitLog(t, "larger than max_response_size", 5*time.Second)
			perPoll := float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
			bound := 1.5 * limit
			if declare {
				bound = 1 << 20
			}
			t.Logf("%s: %.1f MiB allocated per refused answer (limit %d MiB, %d polls)", name, perPoll/(1<<20), limit>>20, n)
			if perPoll > bound {
				t.Errorf("%.1f MiB allocated per refused answer, want under %.1f MiB", perPoll/(1<<20), bound/(1<<20))
			}
		})
	}
}
