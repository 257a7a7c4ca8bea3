package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// testHost is the core as the plugin sees it: a local document the test
// changes, and every document ingested, by source.
type testHost struct {
	mu       sync.Mutex
	local    map[string]any
	subs     []chan []byte
	ingested map[string][][]byte
	// patches counts updates received as probe patches.
	patches int
	// noPatches makes every patch ask for the whole document.
	noPatches atomic.Bool
}

func newTestHost(uuid, hostname string) *testHost {
	h := &testHost{ingested: map[string][][]byte{}}
	h.local = map[string]any{
		"Uuid": uuid, "Version": "test", "IsAlive": true, "GlobalStatus": 100, "Hostname": hostname,
		"LocalHost":   map[string]any{"Name": hostname, "Group": "g", "Status": 100, "Probes": map[string]any{}},
		"RemoteWigos": map[string]any{},
	}
	return h
}

// setProbe sets a probe's status in the local document and notifies
// subscribers, as the core's state does.
func (h *testHost) setProbe(name string, status int) {
	h.mu.Lock()
	probes := h.local["LocalHost"].(map[string]any)["Probes"].(map[string]any)
	probes[name] = map[string]any{"Name": name, "Status": status, "Message": fmt.Sprintf("%s is %d", name, status)}
	subs := append([]chan []byte(nil), h.subs...)
	h.mu.Unlock()
	ev, _ := json.Marshal(map[string]any{"Kind": "probe_changed", "Probe": name, "NewStatus": status})
	for _, s := range subs {
		select {
		case s <- ev:
		default:
		}
	}
}

func (h *testHost) Ingest(_ context.Context, source string, doc []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ingested[source] = append(h.ingested[source], append([]byte(nil), doc...))
	return nil
}

// IngestBatch stands for the core's batches: a patch is applied to the
// last document from its source, recorded as the document it makes, so the
// assertions read documents whichever way they came; a patch with no
// document to apply to asks for one, as the core does.
func (h *testHost) IngestBatch(ctx context.Context, updates []sdk.Update) ([]error, error) {
	errs := make([]error, len(updates))
	for i, u := range updates {
		if len(u.Document) > 0 {
			errs[i] = h.Ingest(ctx, u.Source, u.Document)
			continue
		}
		h.mu.Lock()
		docs := h.ingested[u.Source]
		h.mu.Unlock()
		if len(docs) == 0 || h.noPatches.Load() {
			errs[i] = sdk.ErrNeedDocument
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal(docs[len(docs)-1], &doc); err != nil {
			return nil, err
		}
		probes := doc["LocalHost"].(map[string]any)["Probes"].(map[string]any)
		for _, p := range u.Probes {
			var v any
			if err := json.Unmarshal(p.JSON, &v); err != nil {
				return nil, err
			}
			probes[p.Name] = v
		}
		for _, name := range u.Removed {
			delete(probes, name)
		}
		b, _ := json.Marshal(doc)
		h.mu.Lock()
		h.patches++
		h.mu.Unlock()
		errs[i] = h.Ingest(ctx, u.Source, b)
	}
	return errs, nil
}

func (h *testHost) LocalState(context.Context) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return json.Marshal(h.local)
}

func (h *testHost) Subscribe(ctx context.Context) (<-chan []byte, error) {
	ch := make(chan []byte, 16)
	h.mu.Lock()
	h.subs = append(h.subs, ch)
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, s := range h.subs {
			if s == ch {
				h.subs = append(h.subs[:i], h.subs[i+1:]...)
				break
			}
		}
		close(ch)
	}()
	return ch, nil
}

func (h *testHost) patchCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.patches
}

// count is the number of documents ingested from source.
func (h *testHost) count(source string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ingested[source])
}

func (h *testHost) sources() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ingested)
}

// statuses returns the successive statuses of probe in the documents
// ingested from source, repeated values collapsed.
func (h *testHost) statuses(source, probe string) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, b := range h.ingested[source] {
		var d struct {
			LocalHost struct {
				Probes map[string]struct{ Status int }
			}
		}
		if err := json.Unmarshal(b, &d); err != nil {
			continue
		}
		p, ok := d.LocalHost.Probes[probe]
		if !ok {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != p.Status {
			out = append(out, p.Status)
		}
	}
	return out
}

// logBuf is a goroutine-safe log sink for assertions on log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger(t testing.TB, name string) (hclog.Logger, *logBuf) {
	buf := &logBuf{}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Debug, Output: buf}), buf
}

func fastTuning() tuning {
	return tuning{minBackoff: 20 * time.Millisecond, maxBackoff: 200 * time.Millisecond, coalesce: 10 * time.Millisecond, helloTimeout: 2 * time.Second,
		controlTimeout: 2 * time.Second}
}

// freePort returns a port free at the time of the call.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pushServer is a server role run through sdktest (real gRPC to the plugin,
// real broker back to the host).
type pushServer struct {
	impl *transport
	tc   *sdktest.TransportClient
	host *testHost
	log  *logBuf
	dir  string
	port int
}

func serverBlock(dir string, port int, extra string) string {
	return fmt.Sprintf(`server {
  address              = "127.0.0.1"
  port                 = %d
  tls_cert             = %q
  tls_key              = %q
  ca                   = %q
  allowed_clients_file = %q
  %s
}`, port, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca"), filepath.Join(dir, "allowed_clients"), extra)
}

func startServer(t testing.TB, dir string, port int, extra string) *pushServer {
	t.Helper()
	return startServerWith(t, dir, port, extra, newTestHost("master-uuid", "master"), nil)
}

// startServerWith starts a server on host; the core seen by the plugin is
// core when not nil (a wrapper of host).
func startServerWith(t testing.TB, dir string, port int, extra string, host *testHost, core sdk.Host) *pushServer {
	t.Helper()
	if core == nil {
		core = host
	}
	log, buf := newLogger(t, "server")
	impl := newTransport(log)
	impl.tune = fastTuning()
	tc := sdktest.Transport(t, impl)
	if err := tc.Configure(serverBlock(dir, port, extra)); err != nil {
		t.Fatalf("configure server: %v", err)
	}
	if err := tc.Start(core); err != nil {
		t.Fatalf("start server: %v", err)
	}
	s := &pushServer{impl: impl, tc: tc, host: host, log: buf, dir: dir, port: port}
	t.Cleanup(func() { _ = tc.Stop() })
	return s
}

func clientBlock(dir string, port int) string {
	return fmt.Sprintf(`client {
  address       = "127.0.0.1"
  port          = %d
  master_cert   = %q
  uuid_sig      = %q
  push_interval = 1
}`, port, filepath.Join(dir, "master.crt"), filepath.Join(dir, "uuid.sig"))
}

type pushClient struct {
	impl *transport
	tc   *sdktest.TransportClient
	host *testHost
	log  *logBuf
}

func startClient(t testing.TB, dir string, port int, uuid string) *pushClient {
	t.Helper()
	log, buf := newLogger(t, "client")
	impl := newTransport(log)
	impl.tune = fastTuning()
	tc := sdktest.Transport(t, impl)
	if err := tc.Configure(clientBlock(dir, port)); err != nil {
		t.Fatalf("configure client: %v", err)
	}
	host := newTestHost(uuid, "host-"+uuid)
	host.setProbe("cpu", 100)
	if err := tc.Start(host); err != nil {
		t.Fatalf("start client: %v", err)
	}
	t.Cleanup(func() { _ = tc.Stop() })
	return &pushClient{impl: impl, tc: tc, host: host, log: buf}
}

// eventually polls cond for up to 15 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func addrOf(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var (
	_ sdk.Host      = (*testHost)(nil)
	_ sdk.BatchHost = (*testHost)(nil)
)
