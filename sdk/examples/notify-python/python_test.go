package notifypython_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/wigo-project/wigo/sdk"
)

// The Debian packages the plugin and its build need; scripts/test-deps
// installs the same list.
const aptLine = "apt-get install -y --no-install-recommends python3-grpcio python3-protobuf python3-cryptography protobuf-compiler protobuf-compiler-grpc"

var (
	wigoBin    string
	pluginsDir string
	// setupErr is why the Python plugin could not be built; every test
	// fails with it rather than skipping.
	setupErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wigo-notify-python")
	if err != nil {
		panic(err)
	}
	wigoBin = filepath.Join(dir, "wigo")
	pluginsDir = filepath.Join(dir, "plugins")
	cmd := exec.Command("go", "build", "-o", wigoBin, "../../../cmd/wigo")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build cmd/wigo:", err)
		os.Exit(1)
	}
	setupErr = buildPlugin(pluginsDir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildPlugin checks the Debian packages, then installs the plugin with
// build.sh, the way the README tells an operator to.
func buildPlugin(dir string) error {
	var missing []string
	for _, tool := range []string{"protoc", "grpc_python_plugin"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf, cryptography").CombinedOutput(); err != nil {
		missing = append(missing, fmt.Sprintf("python modules (%s)", strings.TrimSpace(string(out))))
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s; install them with\n  %s\n(scripts/test-deps, run by make test, does)", strings.Join(missing, ", "), aptLine)
	}
	out, err := exec.Command("./build.sh", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("build.sh: %v\n%s", err, out)
	}
	return nil
}

func requirePlugin(t *testing.T) {
	t.Helper()
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	mode := os.FileMode(0o644)
	if strings.HasPrefix(content, "#!") {
		mode = 0o755
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// env is a daemon's config, probes and data in a temp dir, with one probe,
// flip, that prints the file conf.d/flip.json.
type env struct {
	dir, config, api string
}

func newEnv(t *testing.T, notify string) env {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	writeFile(t, filepath.Join(dir, "wigo.hcl"), fmt.Sprintf(`hostname = "py-host"
group = "py"
probes_dir = "probes"
probes_config_dir = "conf.d"
plugins_dir = %q
database = "data/wigo.db"
uuid_file = "data/uuid"
log_level = "debug"
http {
  address = "127.0.0.1"
  port = %d
}
flapping {
  threshold = 0
}
%s`, pluginsDir, port, notify))
	writeFile(t, filepath.Join(dir, "probes", "1", "flip"), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/flip.json\"\n")
	writeFile(t, filepath.Join(dir, "conf.d", "flip.json"), `{"Status":100,"Message":"fine"}`)
	return env{dir: dir, config: filepath.Join(dir, "wigo.hcl"), api: fmt.Sprintf("http://127.0.0.1:%d/api", port)}
}

func (e env) setFlip(t *testing.T, status int, message string) {
	t.Helper()
	writeFile(t, filepath.Join(e.dir, "conf.d", "flip.json"), fmt.Sprintf(`{"Status":%d,"Message":%q}`, status, message))
}

// syncBuffer collects the daemon's log while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type daemon struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan error
}

func startDaemon(t *testing.T, e env) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(wigoBin, "-c", e.config), log: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log.String())
		}
	})
	return d
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("daemon exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop within 20s of SIGTERM")
	}
}

// poll GETs url until ok accepts the body; polling is how a test watches a
// separate process.
func poll(t *testing.T, url, what string, ok func([]byte) bool) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(body)
		if resp.StatusCode == http.StatusOK && ok(body) {
			return
		}
	}
	t.Fatalf("%s: not within 20s; last answer: %.600s", what, last)
}

func probeIs(status int) func([]byte) bool {
	return func(body []byte) bool {
		var w struct {
			LocalHost struct {
				Probes map[string]struct{ Status int }
			}
		}
		if json.Unmarshal(body, &w) != nil {
			return false
		}
		p, ok := w.LocalHost.Probes["flip"]
		return ok && p.Status == status
	}
}

// notification is what the sink checks of each POSTed payload.
type notification struct {
	EventId   string
	Kind      string
	Hostname  string
	Probe     string
	OldStatus int
	NewStatus int
	Message   string
}

// sink is the receiver the plugin POSTs to. It answers 500 to the first
// `failing` requests, like a receiver that is down, and records every
// request, failed or not, in order.
type sink struct {
	url     string
	arrived chan notification

	mu       sync.Mutex
	failing  int
	requests []string // EventId of each request, " (500)" after a refused one
}

func newSink(t *testing.T, failing int) *sink {
	s := &sink{arrived: make(chan notification, 100), failing: failing}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n notification
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &n) != nil {
			t.Errorf("sink got %s %s (%s): %q", r.Method, r.URL, r.Header.Get("Content-Type"), body)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		refuse := s.failing > 0
		if refuse {
			s.failing--
			s.requests = append(s.requests, n.EventId+" (500)")
		} else {
			s.requests = append(s.requests, n.EventId)
		}
		s.mu.Unlock()
		if refuse {
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		s.arrived <- n
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/hook"
	return s
}

// got is every request so far.
func (s *sink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// next waits for the next delivered notification.
func (s *sink) next(t *testing.T, what string) notification {
	t.Helper()
	select {
	case n := <-s.arrived:
		return n
	case <-time.After(20 * time.Second):
		t.Fatalf("no notification for %s within 20s", what)
	}
	return notification{}
}

// TestNotificationsReachTheSink runs the Python plugin under the real
// daemon (AutoMTLS, health checks, its logs in the daemon's log) and
// counts exactly what it POSTed for a probe that breaks and recovers, the
// receiver refusing the first delivery: the plugin's error makes the
// daemon retry it, before the next notification of the host.
func TestNotificationsReachTheSink(t *testing.T) {
	requirePlugin(t)
	s := newSink(t, 1)
	e := newEnv(t, fmt.Sprintf("notify \"py\" {\n  plugin = \"notify-python\"\n  url    = %q\n}\n", s.url))
	d := startDaemon(t, e)

	poll(t, e.api, "flip OK", probeIs(100))
	poll(t, e.api+"/plugins", "notify-python running", func(body []byte) bool {
		return bytes.Contains(body, []byte(`"state":"running"`))
	})
	e.setFlip(t, 300, "broken")
	broke := s.next(t, "the probe going CRIT")
	e.setFlip(t, 100, "fine again")
	recovered := s.next(t, "the probe recovering")

	for _, c := range []struct {
		got         notification
		old, new    int
		description string
	}{
		{broke, 100, 300, "change to CRIT"},
		{recovered, 300, 100, "recovery"},
	} {
		n := c.got
		message := fmt.Sprintf("Probe flip status changed from %d to %d on host py-host", c.old, c.new)
		if n.Kind != "probe_changed" || n.Hostname != "py-host" || n.Probe != "flip" ||
			n.OldStatus != c.old || n.NewStatus != c.new || n.Message != message || n.EventId == "" {
			t.Errorf("%s: got %+v, want probe_changed flip %d -> %d", c.description, n, c.old, c.new)
		}
	}
	if broke.EventId == recovered.EventId {
		t.Errorf("both notifications carry event %s", broke.EventId)
	}

	// Health: one process all along; the version came through Schema.
	resp, err := http.Get(e.api + "/plugins")
	if err != nil {
		t.Fatal(err)
	}
	var health []struct {
		Instance, Plugin, Kind, Version, State string
		Restarts                               int
	}
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if err != nil || len(health) != 1 || health[0].Instance != "py" || health[0].Plugin != "notify-python" ||
		health[0].Version != "1.0.0" || health[0].State != "running" || health[0].Restarts != 0 {
		t.Errorf("GET /api/plugins = %+v (%v), want py notify-python 1.0.0 running, no restart", health, err)
	}

	d.stop(t)
	want := []string{broke.EventId + " (500)", broke.EventId, recovered.EventId}
	if got := s.got(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sink requests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	log := d.log.String()
	const tag = " wigo.plugin.notify.py.notify-python: "
	for _, want := range []struct {
		level, message string
		kv             []string
	}{
		// Its JSON lines on stderr, at their level, under the instance.
		{"INFO", "serving", []string{"mtls=true", "version=1.0.0"}},
		{"INFO", "configured", []string{"instance=py", "url=" + s.url}},
		{"DEBUG", "notification delivered", []string{"event=" + broke.EventId}},
		{"DEBUG", "notification delivered", []string{"event=" + recovered.EventId}},
		// A stop is a Shutdown call and a clean exit, not a kill.
		{"INFO", "shutdown requested by the daemon", nil},
		{"INFO", "stopped", nil},
	} {
		if !logHas(log, append([]string{"[" + want.level + "]", tag + want.message + ":"}, want.kv...)...) {
			t.Errorf("daemon log lacks the plugin's %s line %q with %q", want.level, want.message, want.kv)
		}
	}
	// The plugin's reply error, in the daemon's retry line.
	if !logHas(log, "[WARN]", "notification delivery failed; will retry", "event_id="+broke.EventId,
		`POST `+s.url+`: 500 Internal Server Error`) {
		t.Error("daemon log lacks the failed delivery with the plugin's error")
	}
	if !logHas(log, "[INFO]", " wigo.plugin.notify.py: plugin process exited: plugin="+filepath.Join(pluginsDir, "notify-python")+" id=") {
		t.Error("daemon log lacks the plugin's exit without an error")
	}
	for _, unwanted := range []string{"plugin failed to exit gracefully", "stdio service not available", "[ERROR]"} {
		if strings.Contains(log, unwanted) {
			t.Errorf("daemon log has %q", unwanted)
		}
	}
}

// TestCrashedPluginIsRestarted: a Python plugin killed with SIGKILL is
// restarted and configured again by the daemon, and delivers the next
// notification.
func TestCrashedPluginIsRestarted(t *testing.T) {
	requirePlugin(t)
	s := newSink(t, 0)
	e := newEnv(t, fmt.Sprintf("notify \"py\" {\n  plugin = \"notify-python\"\n  url    = %q\n}\n", s.url))
	d := startDaemon(t, e)
	poll(t, e.api, "flip OK", probeIs(100))
	poll(t, e.api+"/plugins", "notify-python running", func(body []byte) bool {
		return bytes.Contains(body, []byte(`"state":"running"`))
	})
	m := regexp.MustCompile(`plugin started: kind=notify instance=py plugin=notify-python version=1\.0\.0 pid=(\d+)`).FindStringSubmatch(d.log.String())
	if m == nil {
		t.Fatal("no pid in the daemon's plugin started line")
	}
	pid, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, e.api+"/plugins", "notify-python restarted", func(body []byte) bool {
		return bytes.Contains(body, []byte(`"state":"running","restarts":1`))
	})
	e.setFlip(t, 300, "broken")
	n := s.next(t, "the probe going CRIT after the restart")
	if n.Kind != "probe_changed" || n.OldStatus != 100 || n.NewStatus != 300 {
		t.Errorf("got %+v, want probe_changed 100 -> 300", n)
	}
	d.stop(t)
	if got := s.got(); len(got) != 1 {
		t.Errorf("sink requests = %q, want the one notification", got)
	}
	log := d.log.String()
	if strings.Count(log, "notify.py.notify-python: configured:") != 2 || !strings.Contains(log, "plugin crashed, restarting") {
		t.Errorf("daemon log lacks the crash and the second Configure")
	}
}

// logHas reports whether one line of log contains every part.
func logHas(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		found := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				found = false
				break
			}
		}
		if found {
			return true
		}
	}
	return false
}

// TestConfigErrors: `wigo -check` reports what the plugin's schema refuses
// (decoded by the daemon against the Schema the plugin sent) and what its
// Configure refuses: at the attribute its diagnostic names (url), at the
// block for a bare error string (timeout, as older plugins send); and says
// nothing of a good block.
func TestConfigErrors(t *testing.T) {
	requirePlugin(t)
	for _, c := range []struct {
		block string
		want  string
	}{
		{"notify \"py\" {\n  plugin = \"notify-python\"\n  url    = \"ftp://example.org/x\"\n}\n",
			`wigo.hcl:18,12: notify "py": Invalid value for "url"; "ftp://example.org/x" is not an absolute http:// or https:// URL.`},
		{"notify \"py\" {\n  plugin  = \"notify-python\"\n  url     = \"http://127.0.0.1:1/\"\n  timeout = 0\n}\n",
			`wigo.hcl:16,1: notify "py" rejected its configuration; timeout 0: want a number of seconds above 0`},
		{"notify \"py\" {\n  plugin = \"notify-python\"\n  uri    = \"http://127.0.0.1:1/\"\n}\n",
			`wigo.hcl:18,3: Unsupported argument; An argument named "uri" is not expected here. Did you mean "url"?`},
		{"notify \"py\" {\n  plugin  = \"notify-python\"\n  url     = \"http://127.0.0.1:1/\"\n  timeout = \"soon\"\n}\n",
			`wigo.hcl:19,13: Incorrect attribute value type; Inappropriate value for attribute "timeout": a number is required.`},
	} {
		e := newEnv(t, c.block)
		out, err := exec.Command(wigoBin, "-c", e.config, "-check").CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), c.want) {
			t.Errorf("-check of\n%s= %v\n%s\nwant a failure with %q", c.block, err, out, c.want)
		}
	}
	e := newEnv(t, "notify \"py\" {\n  plugin = \"notify-python\"\n  url    = \"https://hooks.example/wigo\"\n}\n")
	if out, err := exec.Command(wigoBin, "-c", e.config, "-check").CombinedOutput(); err != nil {
		t.Errorf("-check of a good block = %v\n%s", err, out)
	}
}

// TestWithoutAutoMTLS: a host that does not ask for AutoMTLS (go-plugin's
// default) reaches the plugin in plaintext; the SDK's own client reads its
// schema and configures it.
func TestWithoutAutoMTLS(t *testing.T) {
	requirePlugin(t)
	var log syncBuffer
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          goplugin.PluginSet{sdk.KindNotifier: &sdk.NotifierPlugin{}},
		Cmd:              exec.Command(filepath.Join(pluginsDir, "notify-python")),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Debug}),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(sdk.KindNotifier)
	if err != nil {
		t.Fatal(err)
	}
	nc := raw.(*sdk.NotifierClient)
	ctx := context.Background()
	info, schema, err := nc.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info, sdk.PluginInfo{Name: "notify-python", Version: "1.0.0", Kind: sdk.KindNotifier}) ||
		len(schema.Attributes) != 2 || schema.Attributes[0].Name != "url" || !schema.Attributes[0].Required ||
		schema.Attributes[1].Name != "timeout" || fmt.Sprintf("%s", schema.Attributes[1].Default) != "10" {
		t.Errorf("Schema = %+v, %+v", info, schema)
	}
	// It serves no Base service: no capabilities, nothing to flush.
	if _, err := nc.Info(ctx); !errors.Is(err, sdk.ErrNoBase) {
		t.Errorf("Info = %v, want sdk.ErrNoBase", err)
	}
	if err := nc.Close(ctx); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	var remote *sdk.RemoteError
	if err := nc.Configure(ctx, "x", []byte(`{"url":"mailto:ops@example.org","timeout":10}`)); !errors.As(err, &remote) {
		t.Errorf("Configure(mailto:) = %v, want the plugin's refusal", err)
	}
	if err := nc.Notify(ctx, &sdk.Notification{EventId: "e1"}); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("Notify before Configure = %v, want not configured", err)
	}
	// A redirect is a failed delivery: nothing reaches the other URL.
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Add(1) }))
	defer target.Close()
	moved := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer moved.Close()
	if err := nc.Configure(ctx, "x", []byte(`{"url":"`+moved.URL+`","timeout":5}`)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Notify(ctx, &sdk.Notification{EventId: "e2"}); !errors.As(err, &remote) || !strings.Contains(err.Error(), ": 302 Found") {
		t.Errorf("Notify to a redirect = %v, want the plugin's 302 error", err)
	}
	client.Kill()
	if n := followed.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
	if !logHas(log.String(), "[INFO]", "notify-python: serving:", "mtls=false") {
		t.Errorf("plugin log:\n%s\nwant it serving without mTLS", log.String())
	}
}

// TestRefusesToRunByHand: without the daemon's cookie the script says what
// it is and exits, printing nothing on stdout.
func TestRefusesToRunByHand(t *testing.T) {
	requirePlugin(t)
	cmd := exec.Command(filepath.Join(pluginsDir, "notify-python"))
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || stdout.Len() != 0 ||
		!strings.Contains(stderr.String(), "This is a Wigo notifier plugin") {
		t.Errorf("run by hand: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

// TestGoPluginProtosAreUpstream: proto/goplugin/grpc_controller.proto is
// go-plugin's own file, from the version go.mod pins.
func TestGoPluginProtosAreUpstream(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hashicorp/go-plugin").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/hashicorp/go-plugin: %v", err)
	}
	upstream, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "internal", "plugin", "grpc_controller.proto"))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := os.ReadFile(filepath.Join("proto", "goplugin", "grpc_controller.proto"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, upstream) {
		t.Error("proto/goplugin/grpc_controller.proto differs from go-plugin's internal/plugin/grpc_controller.proto: copy it again")
	}
}
