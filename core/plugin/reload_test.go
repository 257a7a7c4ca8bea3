package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk"
)

// allBlocks is every plugin block of cfg, as the daemon hands them over.
func allBlocks(cfg *config.Config) []config.PluginBlock {
	return slices.Concat(cfg.Notify, cfg.Outputs, cfg.Transports)
}

// pids maps `kind/label` to the pid of each running instance.
func pids(t *testing.T, m *Manager) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, h := range m.Health() {
		if h.State != StateRunning || h.Pid == 0 {
			t.Fatalf("instance not running: %+v", h)
		}
		out[h.Kind+"/"+h.Instance] = h.Pid
	}
	return out
}

// reloadFrom parses src as the file path with the real loader.
func reloadFrom(t *testing.T, path, src string) *config.Config {
	t.Helper()
	if err := os.WriteFile(path, []byte("plugins_dir = \""+pluginsDir+"\"\n"+src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	return cfg
}

// TestReloadByDifference: a reload restarts exactly the blocks that
// changed (new pid, new config in use), starts the added ones, closes and
// stops the removed ones, and leaves the others' processes alone, however
// the file moved around them; transports included.
func TestReloadByDifference(t *testing.T) {
	a, gotA := sink(t)
	b, gotB := sink(t)
	b2, gotB2 := sink(t)
	c, gotC := sink(t)
	path := filepath.Join(t.TempDir(), "wigo.hcl")
	cfg := reloadFrom(t, path, fmt.Sprintf(`
notify "a" {
  plugin = "notify-http"
  url = %q
}
notify "b" {
  plugin = "notify-http"
  url = %q
}
transport "keep" {
  plugin = "transport-echo"
  name   = "k"
}
transport "moved" {
  plugin = "transport-echo"
  name   = "m1"
}
transport "gone" {
  plugin = "transport-echo"
  name   = "g"
}
`, a.URL, b.URL))
	host := &testHost{changes: make(chan []byte, 1)}
	m := newManager(t, Options{Host: host})
	if diags := m.Start(context.Background(), allBlocks(cfg)); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	before := pids(t, m)

	cfg = reloadFrom(t, path, fmt.Sprintf(`
# a comment and a new order: a and keep are the same blocks
transport "keep" {
  plugin = "transport-echo"
  name = "k"
}
notify "c" {
  plugin = "notify-http"
  url = %q
}
notify "b" {
  plugin = "notify-http"
  url = %q
}
notify "a" {
  plugin = "notify-http"
  # the plugin's config is what counts
  url = %q
}
transport "moved" {
  plugin = "transport-echo"
  name   = "m2"
}
`, c.URL, b2.URL, a.URL))
	plan, diags := m.Reload(allBlocks(cfg))
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	want := `added [notify "c"] changed [notify "b" transport "moved"] removed [transport "gone"] unchanged [notify "a" transport "keep"]`
	if got := fmt.Sprintf("added %v changed %v removed %v unchanged %v", plan.Added, plan.Changed, plan.Removed, plan.Unchanged); got != want {
		t.Fatalf("plan:\n got %s\nwant %s", got, want)
	}
	if diags := plan.Apply(context.Background()); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	after := pids(t, m)
	for _, k := range []string{"notify/a", "transport/keep"} {
		if after[k] != before[k] {
			t.Errorf("%s: pid %d after the reload, was %d: an unchanged block was restarted", k, after[k], before[k])
		}
	}
	for _, k := range []string{"notify/b", "transport/moved"} {
		if after[k] == before[k] || after[k] == 0 {
			t.Errorf("%s: pid %d after the reload, was %d: a changed block was not restarted", k, after[k], before[k])
		}
	}
	if _, ok := after["transport/gone"]; ok || len(after) != 5 {
		t.Errorf("instances after the reload: %v", after)
	}
	if err := syscall.Kill(before["transport/gone"], 0); err == nil {
		t.Errorf("the removed block's process %d still runs", before["transport/gone"])
	}
	if err := syscall.Kill(before["notify/b"], 0); err == nil {
		t.Errorf("the changed block's old process %d still runs", before["notify/b"])
	}
	if !strings.Contains(host.seen(), "m2 ") {
		t.Errorf("the changed transport did not start with its new config: %s", host.seen())
	}
	ctx := context.Background()
	for id, got := range map[string]chan string{"a": gotA, "b": gotB2, "c": gotC} {
		if err := m.Notify(ctx, id, note(id)); err != nil {
			t.Fatal(err)
		}
		receive(t, got, id)
	}
	if len(gotB) != 0 {
		t.Errorf("the old url of b still receives")
	}
}

// TestReloadRefusedAsAWhole: a reload with one bad block (a binary
// missing, an attribute the schema refuses, a value Configure refuses)
// is refused with a diagnostic at the operator's text, and nothing
// running changes: same processes, still delivering.
func TestReloadRefusedAsAWhole(t *testing.T) {
	a, gotA := sink(t)
	path := filepath.Join(t.TempDir(), "wigo.hcl")
	good := fmt.Sprintf("notify \"a\" {\n  plugin = \"notify-http\"\n  url = %q\n}\n", a.URL)
	cfg := reloadFrom(t, path, good)
	m := newManager(t, Options{})
	if diags := m.Start(context.Background(), allBlocks(cfg)); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	before := pids(t, m)
	for _, c := range []struct{ name, src, want string }{
		{"missing binary", good + "notify \"x\" {\n  plugin = \"notify-nothing\"\n}\n", `wigo.hcl:7,12: Cannot start notify "x"`},
		{"bad attribute", fmt.Sprintf("notify \"a\" {\n  plugin = \"notify-http\"\n  url = %q\n  colour = \"red\"\n}\n", a.URL), `wigo.hcl:5,3: Unsupported argument`},
		{"Configure refusal", good + "notify \"y\" {\n  plugin = \"notify-http\"\n  url = \"ftp://x/\"\n}\n", `wigo.hcl:8,9: notify "y": Invalid value for "url"`},
	} {
		plan, diags := m.Reload(allBlocks(reloadFrom(t, path, c.src)))
		out := config.FormatDiagnostics(diags)
		if plan != nil || !diags.HasErrors() || !strings.Contains(out, c.want) {
			t.Errorf("%s: plan %v, diagnostics:\n%s\nwant %q", c.name, plan, out, c.want)
		}
		if got := pids(t, m); !maps(got, before) {
			t.Errorf("%s: instances %v after a refused reload, were %v", c.name, got, before)
		}
	}
	if err := m.Notify(context.Background(), "a", note("still")); err != nil {
		t.Fatal(err)
	}
	receive(t, gotA, "still")
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestNotifyBatchThroughTheManager: the real notify-http declares
// batch_notify, so a batch goes in one call and each notification gets
// its own answer.
func TestNotifyBatchThroughTheManager(t *testing.T) {
	srv, got := sink(t)
	cfg, _ := load(t, fmt.Sprintf("notify \"b\" {\n  plugin = \"notify-http\"\n  url = %q\n}\n", srv.URL))
	m := newManager(t, Options{})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	if caps := m.Health()[0].Capabilities; !slices.Contains(caps, sdk.CapBatchNotify) {
		t.Fatalf("capabilities %v, want batch_notify", caps)
	}
	var batch [][]byte
	for i := range 5 {
		b, _ := json.Marshal(note(fmt.Sprint("e", i)))
		batch = append(batch, b)
	}
	batch = append(batch, []byte("{"))
	errs, err := m.NotifyBatchJSON(context.Background(), "b", batch)
	if err != nil || len(errs) != 6 || errs[5] == nil {
		t.Fatalf("batch = %v, %v", errs, err)
	}
	var remote *sdk.RemoteError
	if !errors.As(errs[5], &remote) {
		t.Errorf("the bad one's error %v is not the plugin's answer", errs[5])
	}
	seen := map[string]bool{}
	for range 5 {
		select {
		case body := <-got:
			var n sdk.Notification
			if err := json.Unmarshal([]byte(body), &n); err != nil {
				t.Fatal(err)
			}
			seen[n.EventId] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 5 arrived", len(seen))
		}
	}
	for i, e := range errs[:5] {
		if e != nil || !seen[fmt.Sprint("e", i)] {
			t.Errorf("notification %d: %v, arrived %v", i, e, seen[fmt.Sprint("e", i)])
		}
	}
	if _, err := m.NotifyBatchJSON(context.Background(), "nope", batch); !errors.Is(err, ErrUnknownInstance) {
		t.Errorf("unknown instance: %v", err)
	}
}

// TestReloadWithAPluginDown: a block whose plugin is down (its binary not
// installed yet) and unchanged by the reload does not stop the reload; it
// stays with its supervisor, and the rest of the reload applies.
func TestReloadWithAPluginDown(t *testing.T) {
	a, gotA := sink(t)
	path := filepath.Join(t.TempDir(), "wigo.hcl")
	down := "notify \"later\" {\n  plugin = \"notify-not-installed\"\n}\n"
	cfg := reloadFrom(t, path, down)
	m := newManager(t, Options{})
	if diags := m.Start(context.Background(), allBlocks(cfg)); !diags.HasErrors() {
		t.Fatal("a missing binary started")
	}
	plan, diags := m.Reload(allBlocks(reloadFrom(t, path, down+fmt.Sprintf("notify \"a\" {\n  plugin = \"notify-http\"\n  url = %q\n}\n", a.URL))))
	if diags.HasErrors() {
		t.Fatalf("reload refused for a block it does not change: %s", config.FormatDiagnostics(diags))
	}
	if fmt.Sprint(plan.Added, plan.Unchanged) != `[notify "a"] [notify "later"]` {
		t.Fatalf("plan: added %v, unchanged %v", plan.Added, plan.Unchanged)
	}
	if diags := plan.Apply(context.Background()); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	if err := m.Notify(context.Background(), "a", note("added")); err != nil {
		t.Fatal(err)
	}
	receive(t, gotA, "added")
	for _, h := range m.Health() {
		if h.Instance == "later" && h.State != StateRestarting {
			t.Errorf("the down block is %s, want still restarting", h.State)
		}
	}
}
