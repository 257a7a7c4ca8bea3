package plugin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk"
)

// testHost is the core side of transport plugins: it records what they
// ingest and publishes changes to subscribers.
type testHost struct {
	mu       sync.Mutex
	ingested []string
	changes  chan []byte
}

func (h *testHost) Ingest(_ context.Context, source string, doc []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ingested = append(h.ingested, source+" "+string(doc))
	return nil
}

func (*testHost) LocalState(context.Context) ([]byte, error) { return []byte(`"local"`), nil }

func (h *testHost) Subscribe(ctx context.Context) (<-chan []byte, error) {
	out := make(chan []byte)
	go func() {
		defer close(out)
		for {
			select {
			case c := <-h.changes:
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (h *testHost) seen() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.ingested, "\n")
}

// TestTransportAndOutputKinds runs a real transport binary, which calls
// back into the core through the go-plugin broker, and a real output binary.
func TestTransportAndOutputKinds(t *testing.T) {
	out := filepath.Join(t.TempDir(), "metrics")
	cfg, _ := load(t, fmt.Sprintf(`
transport "echo" {
  name = "peer"
}
output "file" {
  path = %q
}
`, out))
	host := &testHost{changes: make(chan []byte, 1)}
	m := newManager(t, Options{Host: host})
	blocks := append(append([]config.PluginBlock{}, cfg.Transports...), cfg.Outputs...)
	if diags := m.Start(context.Background(), blocks); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	if got := host.seen(); got != `peer {"hello":"local"}` {
		t.Fatalf("ingested %q", got)
	}
	host.changes <- []byte(`{"probe":"load"}`)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(host.seen(), `peer {"echo":{"probe":"load"}}`) {
		if time.Now().After(deadline) {
			t.Fatalf("change not echoed: %q", host.seen())
		}
		time.Sleep(20 * time.Millisecond)
	}

	at := time.UnixMilli(1_700_000_000_000)
	if err := m.Write(context.Background(), "file", []sdk.Metric{{Hostname: "web1", Group: "g", Probe: "load", Value: 0.5, Time: at}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if string(b) != "web1 g load 0.5 1700000000000\n" {
		t.Fatalf("output wrote %q", b)
	}
	if len(m.Health()) != 2 {
		t.Fatalf("health = %+v", m.Health())
	}
}

func TestTransportNeedsAHost(t *testing.T) {
	cfg, _ := load(t, "transport \"echo\" {\n  name = \"peer\"\n}\n")
	m := newManager(t, Options{})
	diags := m.Start(context.Background(), cfg.Transports)
	if !strings.Contains(config.FormatDiagnostics(diags), "no host service") {
		t.Fatalf("diags = %s", config.FormatDiagnostics(diags))
	}
}

func TestDiscover(t *testing.T) {
	names, err := Discover(pluginsDir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "notify-http") || !strings.Contains(got, "transport-echo") {
		t.Fatalf("Discover = %v", names)
	}
	if _, err := Discover(filepath.Join(pluginsDir, "nope")); err == nil {
		t.Fatal("want an error for a missing dir")
	}
}

// TestConfigureWarnings: a Configure that returns only warnings is
// accepted; Check reports the warning at its attribute, and Start runs the
// instance and logs it.
func TestConfigureWarnings(t *testing.T) {
	cfg, name := load(t, "output \"file\" {\n  path = \"metrics.log\"\n}\n")
	want := name + `:3,10: warning: output "file": Relative path; It is resolved against the daemon's working directory.` + "\n"
	var logs lockedBuffer
	m := NewManager(Options{Dir: pluginsDir, Logger: hclog.New(&hclog.LoggerOptions{Name: "wigo", Output: &logs, Level: hclog.Info})})
	defer m.Stop()
	diags := m.Check(cfg.Outputs)
	if got := config.FormatDiagnostics(diags); diags.HasErrors() || got != want {
		t.Fatalf("Check:\n%s\nwant %s", got, want)
	}
	if diags := m.Start(context.Background(), cfg.Outputs); len(diags) != 0 {
		t.Fatalf("Start: %s", config.FormatDiagnostics(diags))
	}
	if h := m.Health(); len(h) != 1 || h[0].State != StateRunning {
		t.Fatalf("health = %+v", h)
	}
	if !strings.Contains(logs.String(), "plugin accepted its configuration with a warning") || !strings.Contains(logs.String(), name+`:3,10: warning: output \"file\": Relative path`) {
		t.Fatalf("log lacks the warning:\n%s", logs.String())
	}
}
