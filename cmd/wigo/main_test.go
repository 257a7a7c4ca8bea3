package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store/pgtest"
	"github.com/wigo-project/wigo/core/testbin"
)

var wigoBin, pluginsDir, cliBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wigo-bin")
	if err != nil {
		panic(err)
	}
	// The daemon is built with the race detector, which testbin does not
	// offer: the tests run it as the process under test.
	wigoBin = filepath.Join(dir, "wigo")
	cmd := exec.Command("go", "build", "-race", "-tags", "fakeclock", "-o", wigoBin, ".")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build the daemon:", err)
		os.Exit(1)
	}
	if cliBin, err = testbin.BuildPackage("../wigocli"); err == nil {
		pluginsDir, err = testbin.BuildPlugins()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.Stop()
	os.RemoveAll(dir)
	testbin.Cleanup()
	os.Exit(code)
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

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// daemonEnv lays out a config, a probes dir and a data dir in a temp dir.
type daemonEnv struct {
	dir, config, url string
	// clock, when set, is the daemon's clock (useClock).
	clock *testClock
}

func newEnv(t *testing.T, extra string) daemonEnv {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(`hostname = "e2e-host"
group = "e2e"
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
# The scenarios flip probes far more often than flap detection allows;
# TestFlapping turns it back on with a drop-in.
flapping {
  threshold = 0
}
%s`, pluginsDir, port, extra)
	writeFile(t, filepath.Join(dir, "wigo.hcl"), cfg, 0o644)
	writeFile(t, filepath.Join(dir, "probes", "1", "flip"), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/flip.json\"\n", 0o755)
	writeFile(t, filepath.Join(dir, "conf.d", "flip.json"), `{"Status":100,"Message":"fine"}`, 0o644)
	return daemonEnv{dir: dir, config: filepath.Join(dir, "wigo.hcl"), url: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

type running struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func start(t *testing.T, env daemonEnv) *running {
	t.Helper()
	return startIn(t, env, "")
}

// startIn starts the daemon of env with cwd as its working directory (the
// test's when empty).
func startIn(t *testing.T, env daemonEnv, cwd string) *running {
	t.Helper()
	r := &running{logs: &syncBuffer{mu: make(chan struct{}, 1)}, done: make(chan error, 1)}
	r.cmd = exec.Command(wigoBin, "-c", env.config)
	r.cmd.Dir = cwd
	if env.clock != nil {
		r.cmd.Env = append(os.Environ(), "WIGO_CLOCK_FILE="+env.clock.path)
	}
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("daemon log:\n%s", r.logs.String())
		}
	})
	return r
}

// kill9 kills the daemon r with SIGKILL, as a crash would, and waits for
// it to be gone.
func (r *running) kill9() {
	r.cmd.Process.Kill()
	<-r.done
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("daemon exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop within 20s of SIGTERM")
	}
}

// waitFor polls GET url until cond accepts the document. Polling is the only
// way to observe a separate process's state through its API.
func waitFor(t *testing.T, url string, within time.Duration, cond func(*model.Wigo) bool) *model.Wigo {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/api")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(body)
			var w model.Wigo
			if resp.StatusCode == 200 && json.Unmarshal(body, &w) == nil && cond(&w) {
				return &w
			}
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s; last answer: %.500s", within, last)
	return nil
}

func probeStatus(w *model.Wigo, name string) int {
	if w.LocalHost == nil {
		return 0
	}
	if p, ok := w.LocalHost.Probes[name]; ok {
		return p.Status
	}
	return 0
}

func TestDaemonEndToEnd(t *testing.T) {
	env := newEnv(t, "")
	r := start(t, env)

	w := waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	if w.LocalHost.Name != "e2e-host" || w.LocalHost.Group != "e2e" || w.Uuid == "" {
		t.Fatalf("document = %+v", w)
	}
	// Flip the probe's output on disk: the change shows and is logged.
	writeFile(t, filepath.Join(env.dir, "conf.d", "flip.json"), `{"Status":300,"Message":"broken"}`, 0o644)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 300 })

	// SIGHUP with a new group: state kept, identity changed.
	cfg, _ := os.ReadFile(env.config)
	writeFile(t, env.config, strings.Replace(string(cfg), `group = "e2e"`, `group = "reloaded"`, 1), 0o644)
	r.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool {
		return w.LocalHost.Group == "reloaded" && probeStatus(w, "flip") == 300
	})

	// Logs show the change, newest first, in the original's shape.
	var logs []model.LogEntry
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(env.url + "/api/logs?probe=flip")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&logs)
			resp.Body.Close()
		}
		if len(logs) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(logs) == 0 || logs[0].Level != model.LogCritical || !strings.Contains(logs[0].Message, "switched from 100 to 300") {
		t.Fatalf("logs = %+v", logs)
	}

	uuid := w.Uuid
	r.stop(t)

	// Clean stop: database intact, UUID kept across a restart.
	db, err := sql.Open("sqlite3", filepath.Join(env.dir, "data", "wigo.db"))
	if err != nil {
		t.Fatal(err)
	}
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	db.Close()
	r2 := start(t, env)
	w2 := waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 300 })
	if w2.Uuid != uuid {
		t.Errorf("uuid changed across restart: %s then %s", uuid, w2.Uuid)
	}
	r2.stop(t)
}

// A probe killed on shutdown does not leave processes behind.
func TestShutdownKillsRunningProbes(t *testing.T) {
	env := newEnv(t, "")
	pidFile := filepath.Join(env.dir, "slow.pid")
	writeFile(t, filepath.Join(env.dir, "probes", "30", "slow"),
		fmt.Sprintf("#!/bin/sh\necho $$ > %s.tmp && mv %s.tmp %s\nexec sleep 1000\n", pidFile, pidFile, pidFile), 0o755)
	r := start(t, env)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	var pid int
	deadline := time.Now().Add(40 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		if b, err := os.ReadFile(pidFile); err == nil {
			fmt.Sscan(string(b), &pid)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if pid == 0 {
		t.Fatal("slow probe never started")
	}
	r.stop(t)
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Fatalf("probe process %d still exists after shutdown (kill -0: %v)", pid, err)
	}
}

func TestCheck(t *testing.T) {
	env := newEnv(t, "")
	out, err := exec.Command(wigoBin, "-c", env.config, "-check").CombinedOutput()
	if err != nil {
		t.Fatalf("-check on a valid config: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(env.dir, "wigo.d", "10-typo.hcl"), "\ngroop = \"x\"\n", 0o644)
	out, err = exec.Command(wigoBin, "-c", env.config, "-check").CombinedOutput()
	if err == nil {
		t.Fatalf("-check accepted a typo:\n%s", out)
	}
	want := filepath.Join(env.dir, "wigo.d", "10-typo.hcl") + ":2,1: "
	if !strings.Contains(string(out), want) {
		t.Fatalf("-check output lacks %q:\n%s", want, out)
	}

	// A typo inside a plugin's block is found by the plugin's own schema
	// and reported at the operator's file, line and column.
	os.Remove(filepath.Join(env.dir, "wigo.d", "10-typo.hcl"))
	writeFile(t, filepath.Join(env.dir, "wigo.d", "20-notify.hcl"), "notify \"http\" {\n  ulr = \"http://127.0.0.1:9/\"\n}\n", 0o644)
	out, err = exec.Command(wigoBin, "-c", env.config, "-check").CombinedOutput()
	if err == nil {
		t.Fatalf("-check accepted a typo in a plugin block:\n%s", out)
	}
	want = filepath.Join(env.dir, "wigo.d", "20-notify.hcl") + ":2,3: Unsupported argument"
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), `"url"`) {
		t.Fatalf("-check output lacks %q and a suggestion:\n%s", want, out)
	}

	// A value the plugin's Configure refuses is reported at that
	// attribute, not at the block.
	writeFile(t, filepath.Join(env.dir, "wigo.d", "20-notify.hcl"), "notify \"http\" {\n  format = \"json\"\n  url    = \"ftp://127.0.0.1:9/\"\n}\n", 0o644)
	out, err = exec.Command(wigoBin, "-c", env.config, "-check").CombinedOutput()
	if err == nil {
		t.Fatalf("-check accepted an ftp url:\n%s", out)
	}
	want = filepath.Join(env.dir, "wigo.d", "20-notify.hcl") + `:3,12: notify "http": Invalid value for "url"; "ftp://127.0.0.1:9/" is not an absolute http:// or https:// URL.`
	if !strings.Contains(string(out), want) {
		t.Fatalf("-check output lacks %q:\n%s", want, out)
	}
}

func TestMissingConfigExplains(t *testing.T) {
	out, err := exec.Command(wigoBin, "-c", filepath.Join(t.TempDir(), "nope.hcl")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "wigo -c etc/dev.hcl") {
		t.Fatalf("err=%v out=%s", err, out)
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(wigoBin, "-version").Output()
	if err != nil || !strings.HasPrefix(string(out), "wigo ") {
		t.Fatalf("err=%v out=%q", err, out)
	}
}

// A configuration nested 100,000 deep is refused with its position, by
// -check and by a running daemon on SIGHUP (which keeps serving), instead
// of a fatal stack overflow.
func TestNestedConfigRefused(t *testing.T) {
	env := newEnv(t, "")
	r := start(t, env)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })

	const deep = 100_000
	dropIn := filepath.Join(env.dir, "wigo.d", "90-deep.hcl")
	writeFile(t, dropIn, "group = "+strings.Repeat("[", deep)+strings.Repeat("]", deep)+"\n", 0o644)
	want := dropIn + ":1,73: Configuration nested too deep"
	out, err := exec.Command(wigoBin, "-c", env.config, "-check").CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), want) {
		t.Fatalf("-check: exit %d, want 1 with %q:\n%.2000s", code, want, out)
	}

	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.logs.String(), "reload refused") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // another process's log: polling is the only way
	}
	if logs := r.logs.String(); !strings.Contains(logs, "reload refused") || !strings.Contains(logs, "90-deep.hcl:1,73") {
		t.Fatalf("the daemon did not refuse the reload with the position:\n%.3000s", logs)
	}
	w := waitFor(t, env.url, 5*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	if w.LocalHost.Group != "e2e" {
		t.Errorf("group after the refused reload = %q, want the running e2e", w.LocalHost.Group)
	}
	r.stop(t)
}

// exitCode is the exit status of a finished command (0 when err is nil).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
