package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/testbin"
	"github.com/wigo-project/wigo/sdk"
)

// pluginsDir holds links to every real plugin binary and the test plugins
// of testdata, built once by TestMain, plus the broken ones the failure
// tests need.
var pluginsDir string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		defer testbin.Cleanup()
		dir, err := os.MkdirTemp("", "wigo-plugins-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		pluginsDir = dir
		real, err := testbin.BuildPlugins()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		bins := []string{}
		for _, name := range []string{"notify-http", "notify-email", "notify-apprise", "transport-push"} {
			bins = append(bins, filepath.Join(real, name))
		}
		for _, pkg := range []string{"./testdata/transport-echo", "./testdata/output-file"} {
			bin, err := testbin.BuildPackage(pkg)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			bins = append(bins, bin)
		}
		for _, bin := range bins {
			if err := os.Symlink(bin, filepath.Join(dir, filepath.Base(bin))); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		scripts := map[string]string{
			"notify-echo":  "#!/bin/sh\necho hi\n",       // not a plugin
			"notify-hang":  "#!/bin/sh\nexec sleep 60\n", // never completes the handshake
			"notify-exits": "#!/bin/sh\nexit 3\n",        // dies at once
		}
		for name, src := range scripts {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o755); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}())
}

// load parses src as the file <tmp>/wigo.hcl with the real config loader,
// so plugin bodies are exactly what the daemon hands the manager.
func load(t *testing.T, src string) (*config.Config, string) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "wigo.hcl")
	cfg, diags := config.Parse(config.Source{Name: name, Src: []byte("plugins_dir = \"" + pluginsDir + "\"\n" + src)})
	if diags.HasErrors() {
		t.Fatalf("config: %s", config.FormatDiagnostics(diags))
	}
	return cfg, name
}

func newManager(t *testing.T, opts Options) *Manager {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = pluginsDir
	}
	opts.Logger = hclog.New(&hclog.LoggerOptions{Name: "wigo", Level: hclog.Info, Output: testWriter{t}})
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 5 * time.Second
	}
	m := NewManager(opts)
	t.Cleanup(m.Stop)
	return m
}

// testWriter sends the manager's and the plugins' logs to t.Log, which also
// shows that plugin lines come back tagged with the instance.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// sink is a real HTTP server that passes each Notification form field on.
func sink(t *testing.T) (*httptest.Server, chan string) {
	t.Helper()
	got := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.FormValue("Notification")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func note(id string) *sdk.Notification {
	return &sdk.Notification{Type: sdk.TypeProbe, Hostname: "web1", Message: "m " + id, EventId: id, Kind: "probe_changed"}
}

func receive(t *testing.T, got chan string, id string) {
	t.Helper()
	select {
	case body := <-got:
		if !strings.Contains(body, `"EventId":"`+id+`"`) {
			t.Fatalf("received %s, want event %s", body, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("event %s never reached the sink", id)
	}
}

func TestStartAndNotify(t *testing.T) {
	srv, got := sink(t)
	// min_level and plugin belong to the core: the plugin must not see them.
	cfg, _ := load(t, fmt.Sprintf("notify \"http\" {\n  plugin = \"notify-http\"\n  min_level = 300\n  url = %q\n}\n", srv.URL))
	m := newManager(t, Options{})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	if err := m.Notify(context.Background(), "http", note("1")); err != nil {
		t.Fatal(err)
	}
	receive(t, got, "1")
	if err := m.NotifyJSON(context.Background(), "http", []byte(`{"EventId":"2"}`)); err != nil {
		t.Fatal(err)
	}
	receive(t, got, "2")
	if err := m.Notify(context.Background(), "nope", note("3")); !errors.Is(err, ErrUnknownInstance) {
		t.Fatalf("unknown instance: %v", err)
	}
	h := m.Health()
	if len(h) != 1 || h[0].State != StateRunning || h[0].Instance != "http" || h[0].Plugin != "notify-http" || h[0].Version == "" {
		t.Fatalf("health = %+v", h)
	}
}

func TestPluginErrorIsNotUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusBadGateway)
	}))
	defer srv.Close()
	cfg, _ := load(t, fmt.Sprintf("notify \"http\" {\n  url = %q\n}\n", srv.URL))
	m := newManager(t, Options{})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	err := m.Notify(context.Background(), "http", note("1"))
	var remote *sdk.RemoteError
	if !errors.As(err, &remote) || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err = %v, want the plugin's 502 error", err)
	}
}

func TestCheckReportsTypoPosition(t *testing.T) {
	cfg, name := load(t, `
notify "http" {
  format = "json"
    ulr  = "http://127.0.0.1:1/"
}
`)
	m := newManager(t, Options{})
	diags := m.Check(cfg.Notify)
	out := config.FormatDiagnostics(diags)
	// plugins_dir is line 1 and line 2 is blank: the typo is on line 5,
	// column 5.
	want := name + `:5,5: Unsupported argument; An argument named "ulr" is not expected here. Did you mean "url"?`
	if !strings.Contains(out, want) {
		t.Fatalf("Check:\n%s\nwant %s", out, want)
	}
	if h := m.Health(); len(h) != 0 {
		t.Fatalf("Check left instances behind: %+v", h)
	}
	// Start refuses it the same way and records a failed instance.
	diags = m.Start(context.Background(), cfg.Notify)
	if !strings.Contains(config.FormatDiagnostics(diags), want) {
		t.Fatalf("Start: %s", config.FormatDiagnostics(diags))
	}
	if h := m.Health(); len(h) != 1 || h[0].State != StateFailed || !strings.Contains(h[0].LastError, "ulr") {
		t.Fatalf("health = %+v", h)
	}
}

// TestCheckRunsThePluginsValidation: what the real notify-http's Configure
// refuses is reported at the attribute it names (sdk.AttributeError), by
// Check as by Start, which records it in Health too.
func TestCheckRunsThePluginsValidation(t *testing.T) {
	for _, tc := range []struct{ block, want string }{
		{`
notify "http" {
  url    = "http://127.0.0.1:1/"
  format = "xml"
}
`, `:5,12: notify "http": Invalid value for "format"; "xml" is not a format: want "form" or "json".`},
		{`
notify "http" {
  format = "json"
  url    = "ftp://example.org/x"
}
`, `:5,12: notify "http": Invalid value for "url"; "ftp://example.org/x" is not an absolute http:// or https:// URL.`},
	} {
		cfg, name := load(t, tc.block)
		m := newManager(t, Options{})
		out := config.FormatDiagnostics(m.Check(cfg.Notify))
		if want := name + tc.want + "\n"; out != want {
			t.Errorf("Check:\n%s\nwant %s", out, want)
		}
		out = config.FormatDiagnostics(m.Start(context.Background(), cfg.Notify))
		if want := name + tc.want + "\n"; out != want {
			t.Errorf("Start:\n%s\nwant %s", out, want)
		}
		if h := m.Health(); len(h) != 1 || !strings.Contains(h[0].LastError, name+tc.want) {
			t.Errorf("health = %+v", h)
		}
	}
}

func TestCheckRefusesHangingExpression(t *testing.T) {
	cfg, name := load(t, `
notify "http" {
  url = "${1e99999999 * 1e99999999}"
}
`)
	m := newManager(t, Options{})
	done := make(chan string)
	go func() { done <- config.FormatDiagnostics(m.Check(cfg.Notify)) }()
	select {
	case out := <-done:
		if !strings.Contains(out, name+":4,9: Expression not allowed") {
			t.Fatalf("Check: %s", out)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Check hangs on a huge interpolated number")
	}
}

func TestBadBinariesDoNotStopTheOthers(t *testing.T) {
	srv, got := sink(t)
	cfg, name := load(t, fmt.Sprintf(`
notify "missing" {}
notify "echo" {}
notify "hang" {}
notify "exits" {}
notify "good" {
  plugin = "notify-http"
  url    = %q
}
`, srv.URL))
	m := newManager(t, Options{StartTimeout: 2 * time.Second})
	start := time.Now()
	diags := m.Start(context.Background(), cfg.Notify)
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("Start took %v; a hanging plugin should cost one StartTimeout", d)
	}
	out := config.FormatDiagnostics(diags)
	t.Log(out)
	for _, want := range []string{
		name + `:3,8: Cannot start notify "missing"; plugin binary ` + filepath.Join(pluginsDir, "notify-missing") + ` does not exist`,
		name + `:4,8: Cannot start notify "echo"; plugin ` + filepath.Join(pluginsDir, "notify-echo") + ` did not complete the Wigo plugin handshake`,
		name + `:5,8: Cannot start notify "hang"; plugin ` + filepath.Join(pluginsDir, "notify-hang") + ` did not complete the Wigo plugin handshake`,
		name + `:6,8: Cannot start notify "exits"; plugin ` + filepath.Join(pluginsDir, "notify-exits") + ` did not complete the Wigo plugin handshake`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnostics lack %q", want)
		}
	}
	if err := m.Notify(context.Background(), "good", note("1")); err != nil {
		t.Fatal(err)
	}
	receive(t, got, "1")
	if err := m.Notify(context.Background(), "hang", note("2")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("notify to a failed instance: %v", err)
	}
	states := map[string]State{}
	for _, h := range m.Health() {
		states[h.Instance] = h.State
	}
	// A start that failed is retried with backoff, like a crash.
	want := map[string]State{"missing": StateRestarting, "echo": StateRestarting, "hang": StateRestarting, "exits": StateRestarting, "good": StateRunning}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Fatalf("states = %v, want %v", states, want)
	}
}

// A plugin whose binary is not there when the daemon starts comes up once
// it is installed, without a daemon restart, and OnRunning says so; a
// block its schema refuses is not retried.
func TestFailedStartIsRetried(t *testing.T) {
	dir := t.TempDir()
	srv, got := sink(t)
	cfg, _ := load(t, fmt.Sprintf("notify \"late\" {\n  plugin = \"notify-http\"\n  url = %q\n}\nnotify \"typo\" {\n  plugin = \"notify-http\"\n  ulr = \"x\"\n}\n", srv.URL))
	ran := make(chan string, 4)
	m := newManager(t, Options{Dir: dir, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		HealthInterval: 20 * time.Millisecond, OnRunning: func(kind, label string) { ran <- kind + "/" + label }})
	if diags := m.Start(context.Background(), cfg.Notify); !diags.HasErrors() {
		t.Fatal("Start reported no error for a missing binary")
	}
	states := func() map[string]InstanceHealth {
		out := map[string]InstanceHealth{}
		for _, h := range m.Health() {
			out[h.Instance] = h
		}
		return out
	}
	if h := states()["late"]; h.State != StateRestarting || !strings.Contains(h.LastError, "does not exist") {
		t.Fatalf("late before install: %+v", h)
	}
	b, err := os.ReadFile(filepath.Join(pluginsDir, "notify-http"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notify-http"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	select {
	case who := <-ran:
		if who != "notify/late" {
			t.Fatalf("OnRunning(%s), want notify/late", who)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("never started once installed: %+v", m.Health())
	}
	if err := m.Notify(context.Background(), "late", note("late")); err != nil {
		t.Fatal(err)
	}
	receive(t, got, "late")
	// The typo's plugin is there now too: it starts, its block is refused,
	// and it is not retried again.
	deadline := time.Now().Add(20 * time.Second)
	for states()["typo"].State != StateFailed && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	h := states()["typo"]
	if h.State != StateFailed || !strings.Contains(h.LastError, "ulr") {
		t.Fatalf("typo: %+v, want failed with the schema's refusal", h)
	}
	restarts := h.Restarts
	time.Sleep(100 * time.Millisecond) // five backoffs of the test's options: a retry would show
	if h := states()["typo"]; h.State != StateFailed || h.Restarts != restarts {
		t.Errorf("a block its schema refuses was retried: %+v", h)
	}
}

func TestKilledPluginIsRestarted(t *testing.T) {
	srv, got := sink(t)
	cfg, _ := load(t, fmt.Sprintf("notify \"http\" {\n  url = %q\n}\n", srv.URL))
	m := newManager(t, Options{MinBackoff: 100 * time.Millisecond, HealthInterval: 50 * time.Millisecond})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	pid := m.pid("http")
	if pid == 0 {
		t.Fatal("no pid")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Deliveries fail with ErrUnavailable until the restart is done, then
	// succeed on the new process.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := m.Notify(context.Background(), "http", note("after"))
		if err == nil {
			break
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable while restarting", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted: %v; health %+v", err, m.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	receive(t, got, "after")
	h := m.Health()[0]
	if h.State != StateRunning || h.Restarts < 1 || h.LastError == "" || m.pid("http") == pid {
		t.Fatalf("health after restart = %+v", h)
	}
}

func TestHungPluginIsRestarted(t *testing.T) {
	srv, got := sink(t)
	cfg, _ := load(t, fmt.Sprintf("notify \"http\" {\n  url = %q\n}\n", srv.URL))
	m := newManager(t, Options{MinBackoff: 100 * time.Millisecond, HealthInterval: 50 * time.Millisecond,
		PingTimeout: 300 * time.Millisecond})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	pid := m.pid("http")
	// SIGSTOP: the process is there but answers nothing.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // cleanup if the manager did not
	deadline := time.Now().Add(15 * time.Second)
	for m.pid("http") == pid || m.pid("http") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("hung plugin not replaced: %+v", m.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := m.Notify(context.Background(), "http", note("after")); err != nil {
		t.Fatal(err)
	}
	receive(t, got, "after")
	if h := m.Health()[0]; h.Restarts < 1 || !strings.Contains(h.LastError, "health check") {
		t.Fatalf("health = %+v", h)
	}
}

func TestRestartBacksOffUntilTheBinaryWorksAgain(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "notify-http")
	copyFile := func(from string) {
		t.Helper()
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		// Write a new file and rename it over: the old binary may be running.
		if err := os.WriteFile(bin+".new", b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(bin+".new", bin); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(pluginsDir, "notify-http"))
	srv, got := sink(t)
	cfg, _ := load(t, fmt.Sprintf("notify \"http\" {\n  url = %q\n}\n", srv.URL))
	m := newManager(t, Options{Dir: dir, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		HealthInterval: 20 * time.Millisecond})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	// The binary now exits at once: every restart attempt fails.
	copyFile(filepath.Join(pluginsDir, "notify-exits"))
	if err := syscall.Kill(m.pid("http"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for h := m.Health()[0]; h.Restarts < 4; h = m.Health()[0] {
		if time.Now().After(deadline) {
			t.Fatalf("health = %+v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h := m.Health()[0]
	if h.State != StateRestarting || !strings.Contains(h.LastError, "handshake") {
		t.Fatalf("health while failing = %+v", h)
	}
	if err := m.Notify(context.Background(), "http", note("x")); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrBroken) {
		t.Fatalf("notify while restarting: %v; want unavailable, not a broken call", err)
	}
	copyFile(filepath.Join(pluginsDir, "notify-http"))
	for m.Health()[0].State != StateRunning {
		if time.Now().After(deadline) {
			t.Fatalf("never recovered: %+v", m.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := m.Notify(context.Background(), "http", note("back")); err != nil {
		t.Fatal(err)
	}
	receive(t, got, "back")
}

func TestStopKillsPlugins(t *testing.T) {
	srv, _ := sink(t)
	cfg, _ := load(t, fmt.Sprintf("notify \"http\" {\n  url = %q\n}\n", srv.URL))
	m := newManager(t, Options{})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	pid := m.pid("http")
	m.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("plugin %d still alive after Stop", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := m.Notify(context.Background(), "http", note("x")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("notify after Stop: %v", err)
	}
}

// A plugin that dies during a call answers ErrUnavailable and ErrBroken:
// the notification may be why it died, which the pipeline counts
// (notify.ErrInterrupted), unlike a call to a plugin already down.
func TestCallBrokenByPluginDeath(t *testing.T) {
	var m *Manager
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The plugin is in the middle of this call: it dies now.
		syscall.Kill(m.pid("http"), syscall.SIGKILL) //nolint:errcheck // the assertion below says
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	cfg, _ := load(t, fmt.Sprintf("notify \"http\" {\n  url = %q\n}\n", srv.URL))
	m = newManager(t, Options{})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	err := m.Notify(context.Background(), "http", note("x"))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrBroken) {
		t.Fatalf("notify whose plugin died in the call: %v; want unavailable and broken", err)
	}
}
