package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/testbin"
)

// Tests against real daemons: the wigo binary runs the transport-push
// binary under its plugin manager, as in production.

// binaries builds wigo and the transport-push plugin once per test run.
// The plugin is built without the race detector: its memory is measured.
func binaries(t *testing.T) (wigo, plugins string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs real daemons")
	}
	return testbin.Build(t, "github.com/wigo-project/wigo/cmd/wigo"), filepath.Dir(testbin.Build(t, "."))
}

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// daemon is one wigo instance laid out in a temp dir.
type daemon struct {
	dir, config, url string
	cmd              *exec.Cmd
	logs             *logBuf
	done             chan error
}

// newDaemon writes a config named hostname with one probe, flip (status
// in conf.d/flip.json), and extra appended (a transport block).
func newDaemon(t *testing.T, hostname, extra string) *daemon {
	t.Helper()
	_, plugins := binaries(t)
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(`hostname = %q
group = "e2e"
probes_dir = "probes"
probes_config_dir = "conf.d"
plugins_dir = %q
database = "data/wigo.db"
uuid_file = "data/uuid"
log_level = "debug"
alive_timeout = 5
http {
  address = "127.0.0.1"
  port = %d
}
%s`, hostname, plugins, port, extra)
	writeTestFile(t, filepath.Join(dir, "wigo.hcl"), cfg, 0o644)
	writeTestFile(t, filepath.Join(dir, "probes", "1", "flip"), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/flip.json\"\n", 0o755)
	writeTestFile(t, filepath.Join(dir, "conf.d", "flip.json"), `{"Status":100,"Message":"fine"}`, 0o644)
	return &daemon{dir: dir, config: filepath.Join(dir, "wigo.hcl"), url: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

func writeTestFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// start runs the daemon until the test ends (SIGTERM, then the cleanup's
// kill as a last resort).
func (d *daemon) start(t *testing.T) {
	t.Helper()
	wigo, _ := binaries(t)
	d.logs = &logBuf{}
	d.done = make(chan error, 1)
	d.cmd = exec.Command(wigo, "-c", d.config)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			_ = d.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", d.dir, d.logs.String())
		}
	})
}

// setProbe changes what the daemon's flip probe reports.
func (d *daemon) setProbe(t *testing.T, status int) {
	t.Helper()
	writeTestFile(t, filepath.Join(d.dir, "conf.d", "flip.json"), fmt.Sprintf(`{"Status":%d,"Message":"set to %d"}`, status, status), 0o644)
}

// api returns the daemon's GET /api document, nil while it does not answer.
func (d *daemon) api() *model.Wigo {
	resp, err := http.Get(d.url + "/api")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var w model.Wigo
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&w) != nil {
		return nil
	}
	return &w
}

// waitAPI polls GET /api (a separate process's state is only seen that
// way) until cond accepts it.
func (d *daemon) waitAPI(t *testing.T, what string, within time.Duration, cond func(*model.Wigo) bool) *model.Wigo {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if w := d.api(); w != nil && cond(w) {
			return w
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not seen within %v; last /api: %+v", what, within, d.api())
	return nil
}

// pluginPID is the pid of the daemon's transport-push process.
func (d *daemon) pluginPID(t *testing.T) int {
	t.Helper()
	var pid int
	eventually(t, "transport-push process of the daemon", func() bool {
		// Children are listed by the thread that started them.
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", d.cmd.Process.Pid))
		var children []string
		for _, task := range tasks {
			b, _ := os.ReadFile(task)
			children = append(children, strings.Fields(string(b))...)
		}
		for _, f := range children {
			p, _ := strconv.Atoi(f)
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p))
			if filepath.Base(exe) == "transport-push" {
				pid = p
				return true
			}
		}
		return false
	})
	return pid
}

// rssBytes reads VmRSS of pid from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// remoteHost returns the remote host uuid in the master's document.
func remoteHost(w *model.Wigo, uuid string) *model.Wigo {
	if w == nil {
		return nil
	}
	return w.RemoteWigos[uuid]
}

// remoteStatus is the status of probe on the remote host uuid, 0 when absent.
func remoteStatus(w *model.Wigo, uuid, probe string) int {
	r := remoteHost(w, uuid)
	if r == nil || r.LocalHost == nil {
		return 0
	}
	if p := r.LocalHost.Probes[probe]; p != nil {
		return p.Status
	}
	return 0
}

// masterBlock is a push server block on port with its files in dir.
func masterBlock(dir string, port int, extra string) string {
	return fmt.Sprintf(`
transport "push" {
  server {
    address              = "127.0.0.1"
    port                 = %d
    tls_cert             = %q
    tls_key              = %q
    ca                   = %q
    allowed_clients_file = %q
    %s
  }
}
`, port, filepath.Join(dir, "ssl", "wigo.crt"), filepath.Join(dir, "ssl", "wigo.key"), filepath.Join(dir, "ssl", "ca"),
		filepath.Join(dir, "data", "allowed_clients"), extra)
}

// leafBlock is a push client block towards port.
func leafBlock(dir string, port int) string {
	return fmt.Sprintf(`
transport "push" {
  client {
    address       = "127.0.0.1"
    port          = %d
    master_cert   = %q
    uuid_sig      = %q
    push_interval = 1
  }
}
`, port, filepath.Join(dir, "data", "master.crt"), filepath.Join(dir, "data", "uuid.sig"))
}

// uuidOf reads the daemon's UUID from its uuid file.
func (d *daemon) uuidOf(t *testing.T) string {
	t.Helper()
	var id string
	eventually(t, "uuid file of "+d.dir, func() bool {
		b, err := os.ReadFile(filepath.Join(d.dir, "data", "uuid"))
		id = strings.TrimSpace(string(b))
		return err == nil && id != ""
	})
	return id
}

var _ io.Writer = (*logBuf)(nil)

func readFileString(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
