package probe

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/model"
)

// recSink records every Sink call on a channel so tests await events
// instead of sleeping.
type recSink struct {
	results  chan *model.ProbeResult
	removed  chan string
	disabled chan string
}

func newRecSink() *recSink {
	return &recSink{
		results:  make(chan *model.ProbeResult, 1000),
		removed:  make(chan string, 100),
		disabled: make(chan string, 100),
	}
}

func (s *recSink) ProbeResult(r *model.ProbeResult) { s.results <- r }
func (s *recSink) ProbeRemoved(name string)         { s.removed <- name }
func (s *recSink) ProbeDisabled(name string, code int) {
	s.disabled <- fmt.Sprintf("%s:%d", name, code)
}

// lockedBuffer collects log output written by hclog while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is one running Manager over a temporary probes directory.
type harness struct {
	t    *testing.T
	dir  string
	m    *Manager
	sink *recSink
	logs *lockedBuffer
}

// start runs a Manager on dir until the test ends; Run's return (every
// probe killed and reaped) is awaited in cleanup.
func start(t *testing.T, dir string, tweak func(*Options)) *harness {
	t.Helper()
	logs := &lockedBuffer{}
	sink := newRecSink()
	opts := Options{
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "conf.d"),
		Logger:    hclog.New(&hclog.LoggerOptions{Name: "probe", Output: logs, Level: hclog.Debug}),
		Sink:      sink,
	}
	if tweak != nil {
		tweak(&opts)
	}
	m := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
		if t.Failed() {
			t.Logf("manager log:\n%s", logs.String())
		}
	})
	return &harness{t: t, dir: dir, m: m, sink: sink, logs: logs}
}

// result awaits the next result of the named probe, skipping others.
func (h *harness) result(name string, within time.Duration) *model.ProbeResult {
	h.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case r := <-h.sink.results:
			if r.Name == name {
				return r
			}
		case <-deadline:
			h.t.Fatalf("no result for probe %q within %s", name, within)
			return nil
		}
	}
}

// awaitString awaits value on ch, failing on any other value or a timeout.
func awaitString(t *testing.T, ch <-chan string, want string, within time.Duration) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(within):
		t.Fatalf("no %q within %s", want, within)
	}
}

// writeProbe writes an executable script atomically: written under a
// hidden name (which discovery ignores) and renamed into place, so the
// manager never sees — or execs — a half-written file.
func writeProbe(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// probeDir makes a fresh probes directory with one probe in <interval>/.
func probeDir(t *testing.T, interval, name, body string) string {
	t.Helper()
	dir := t.TempDir()
	writeProbe(t, filepath.Join(dir, interval, name), body)
	return dir
}

// runOnce runs one probe through the runner directly (no scheduler).
func runOnce(t testing.TB, path string, env []string, timeout time.Duration) runOutcome {
	t.Helper()
	return run(context.Background(), runSpec{
		name:      filepath.Base(path),
		path:      path,
		dir:       filepath.Dir(path),
		env:       env,
		timeout:   timeout,
		maxOutput: DefaultMaxOutput,
	})
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("%q does not contain %q", s, sub)
		}
	}
}
