package metrics

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/plugin"
)

// logBuffer keeps what a logger wrote, for waiting on a line.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) has(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

// closeRig runs the real output-opentsdb binary under the real manager,
// its log kept in logs.
func closeRig(t *testing.T, addr string, closeTimeout time.Duration) (*plugin.Manager, *logBuffer) {
	t.Helper()
	src := fmt.Sprintf("plugins_dir = %q\noutput \"opentsdb\" {\n  address = [%q]\n  deduplication = 0\n  max_retry_interval = \"1m\"\n}\n", pluginsDir, addr)
	cfg, diags := config.Parse(config.Source{Name: filepath.Join(t.TempDir(), "wigo.hcl"), Src: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	logs := &logBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Name: "wigo", Level: hclog.Debug, Output: logs})
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs.buf.String())
		}
	})
	m := plugin.NewManager(plugin.Options{Dir: pluginsDir, Logger: log, CloseTimeout: closeTimeout})
	t.Cleanup(m.Stop)
	if diags := m.Start(context.Background(), cfg.Outputs); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	return m, logs
}

// TestBufferedPointsFlushedOnStop: points the real output plugin buffered
// while OpenTSDB was down reach it when the plugin is stopped, though its
// own sender would not have tried again for seconds: Close flushes them
// before the process is killed. With OpenTSDB still down, Stop ends at the
// close deadline and the log says how many points were lost.
func TestBufferedPointsFlushedOnStop(t *testing.T) {
	s := tsdb(t)
	s.Stop()
	m, logs := closeRig(t, s.Addr(), 5*time.Second)
	if err := m.Write(context.Background(), "opentsdb", points(7)); err != nil {
		t.Fatal(err)
	}
	// The third failed post makes the sender wait 4 s: no retry of its
	// own comes during the Stop below.
	waitFor(t, "the sender's third failure", func() bool { return logs.has("retry_in=4s") })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	m.Stop()
	if n := s.Count(); n != 7 {
		t.Fatalf("OpenTSDB got %d points after Stop, want the 7 buffered", n)
	}
	if !logs.has("buffered points flushed on close") {
		t.Error("the plugin did not log its flush")
	}

	down := tsdb(t)
	down.Stop()
	m, logs = closeRig(t, down.Addr(), 500*time.Millisecond)
	if err := m.Write(context.Background(), "opentsdb", points(3)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m.Stop()
	if !logs.has("plugin stopped with data it could not flush") || !logs.has("unflushed=3") {
		t.Error("the lost points are not in the log")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %s with a close deadline of 500ms", d)
	}
}
