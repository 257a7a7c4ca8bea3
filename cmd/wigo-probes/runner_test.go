package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/probe"
)

// buildBinary compiles wigo-probes once per test into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, selfName)
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sink collects what the daemon's probe manager reports.
type sink struct {
	results  chan *model.ProbeResult
	removed  chan string
	disabled chan string
}

func (s *sink) ProbeResult(r *model.ProbeResult)    { s.results <- r }
func (s *sink) ProbeRemoved(name string)            { s.removed <- name }
func (s *sink) ProbeDisabled(name string, code int) { s.disabled <- name }

// TestThroughDaemonRunner runs the binary through links in a probes
// directory under the daemon's real probe manager: the runner must keep the
// link's name as argv[0] for the dispatch to pick the probe, and exit 13
// must remove the probe's result.
func TestThroughDaemonRunner(t *testing.T) {
	tmp := t.TempDir()
	bin := buildBinary(t, tmp)
	root := filepath.Join(tmp, "root")
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/meminfo"), []byte(meminfo), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/uptime"), []byte("90061.2 1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// No /proc/mdstat: check_mdadm has no subject and must exit 13.
	t.Setenv("WIGO_PROBES_ROOT", root)
	dir := filepath.Join(tmp, "probes")
	if err := os.MkdirAll(filepath.Join(dir, "60"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hardware_memory", "uptime", "check_mdadm"} {
		if err := os.Symlink(bin, filepath.Join(dir, "60", name)); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(tmp, "conf.d")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "uptime.conf"), []byte(`{"recentRebootWarn": 100000}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &sink{results: make(chan *model.ProbeResult, 10), removed: make(chan string, 10), disabled: make(chan string, 10)}
	var logs bytes.Buffer
	m := probe.New(probe.Options{Dir: dir, ConfigDir: conf, Sink: s, Timeout: 20 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	got := map[string]*model.ProbeResult{}
	removed := false
	deadline := time.After(60 * time.Second)
	for len(got) < 2 || !removed {
		select {
		case r := <-s.results:
			// A 500 here is the dispatch failing (argv[0] not the link's
			// name: usage, exit 2); fail at once rather than at the deadline.
			if r.Status >= 500 || r.Name == "check_mdadm" {
				t.Fatalf("%s through the runner: %d %s", r.Name, r.Status, r.Message)
			}
			got[r.Name] = r
		case name := <-s.removed:
			if name != "check_mdadm" {
				t.Fatalf("removed %q", name)
			}
			removed = true
		case <-deadline:
			t.Fatalf("results %v removed %v; log:\n%s", got, removed, logs.String())
		}
	}
	if r := got["hardware_memory"]; r == nil || r.Status != 200 || !strings.Contains(r.Message, "Memory 75% used") {
		t.Fatalf("hardware_memory through the runner: %+v", r)
	}
	// The config dir reached the probe: 1 day of uptime is "recent" here.
	if r := got["uptime"]; r == nil || r.Status != 200 || !strings.Contains(r.Message, "rebooted 1 day 1:01 ago") {
		t.Fatalf("uptime through the runner: %+v", r)
	}
	if _, ok := got["check_mdadm"]; ok {
		t.Fatalf("check_mdadm published a result: %+v", got["check_mdadm"])
	}
}

// TestDispatch covers the binary's own command line.
func TestDispatch(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	e := newEnv(func(string) string { return "" })
	if code := dispatch([]string{"/usr/lib/wigo/probes/wigo-probes", "-list"}, &out, &errb, e); code != 0 {
		t.Fatalf("-list exit %d", code)
	}
	list := strings.Fields(out.String())
	if len(list) != len(registry) || !contains(list, "hardware_memory") {
		t.Fatalf("-list printed %v", list)
	}
	out.Reset()
	if code := dispatch([]string{"wigo-probes", "no_such_probe"}, &out, &errb, e); code != 2 || !strings.Contains(errb.String(), `unknown probe "no_such_probe"`) {
		t.Fatalf("unknown probe: exit %d %q", code, errb.String())
	}
	errb.Reset()
	if code := dispatch([]string{"wigo-probes"}, &out, &errb, e); code != 2 || !strings.Contains(errb.String(), "usage") {
		t.Fatalf("no args: exit %d %q", code, errb.String())
	}
	errb.Reset()
	if code := dispatch([]string{"/x/60/not_a_probe"}, &out, &errb, e); code != 2 || !strings.Contains(errb.String(), `unknown probe "not_a_probe"`) {
		t.Fatalf("unknown link: exit %d %q", code, errb.String())
	}
	out.Reset()
	if code := dispatch([]string{"/tmp/wigo-probes-arm64", "-list"}, &out, &errb, e); code != 0 || !strings.Contains(out.String(), "smart\n") {
		t.Fatalf("renamed binary: exit %d %q", code, out.String())
	}
}

// TestNoPath: a daemon started without PATH still finds the tools, and
// passes the same search path on to them.
func TestNoPath(t *testing.T) {
	t.Parallel()
	e := newEnv(func(string) string { return "" })
	res, err := e.command("sh", "-c", `echo "$PATH"`)
	if err != nil || strings.TrimSpace(string(res.stdout)) != defaultPath {
		t.Fatalf("sh without PATH: %v %q", err, res.stdout)
	}
}
