package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixture is one probe run's recorded world: files under a fake root,
// the probe's config, and command stubs on PATH.
type fixture struct {
	files  map[string]string // host path -> content, under the fake root
	config string            // <name>.conf content; "" = no file
	stubs  map[string]string // program -> sh script body
	now    time.Time
	extra  map[string]string // more environment
	// setup runs once the fake root exists (servers on sockets under it).
	setup func(root string)
	// between runs where a probe sleeps between two samples; the fake
	// clock moves on by the sleep's length.
	between func(root string)
}

// testResult is what a probe printed, decoded, plus its exit code.
type testResult struct {
	result
	Detail  map[string]any
	code    int
	stdout  string
	stderr  string
	confDir string
	root    string
}

// runFixture runs probe name in-process against fx.
func runFixture(t *testing.T, name string, fx fixture) testResult {
	t.Helper()
	root := t.TempDir()
	for p, content := range fx.files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if fx.setup != nil {
		fx.setup(root)
	}
	confDir := t.TempDir()
	if fx.config != "" {
		if err := os.WriteFile(filepath.Join(confDir, name+".conf"), []byte(fx.config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := t.TempDir()
	for prog, body := range fx.stubs {
		if err := os.WriteFile(filepath.Join(bin, prog), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{
		"WIGO_PROBES_ROOT":       root,
		"WIGO_PROBE_CONFIG_ROOT": confDir,
		// The stubs, then the system's sh, cat and friends the stubs use;
		// the real tools a probe calls are never on it.
		"PATH": bin + ":" + shellOnly(t),
	}
	for k, v := range fx.extra {
		vars[k] = strings.ReplaceAll(v, "$ROOT", root)
	}
	e := newEnv(func(k string) string { return vars[k] })
	e.timeout = 20 * time.Second
	now := fx.now
	if now.IsZero() {
		now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	}
	e.now = func() time.Time { return now }
	e.sleep = func(d time.Duration) {
		if fx.between != nil {
			fx.between(root)
		}
		now = now.Add(d)
	}
	var out, errb bytes.Buffer
	code := dispatch([]string{"/usr/lib/wigo/probes/60/" + name}, &out, &errb, e)
	tr := testResult{code: code, stdout: out.String(), stderr: errb.String(), confDir: confDir, root: root}
	if code == 0 {
		if err := json.Unmarshal(out.Bytes(), &tr); err != nil {
			t.Fatalf("%s printed invalid JSON: %v\n%s", name, err, out.String())
		}
		if bytes.Count(bytes.TrimSpace(out.Bytes()), []byte("\n")) != 0 {
			t.Fatalf("%s printed more than one line:\n%s", name, out.String())
		}
	}
	t.Logf("%s: exit %d %s%s", name, code, out.String(), errb.String())
	return tr
}

var (
	shellDir  string
	shellOnce sync.Once
)

// shellOnly is a directory holding just the shell utilities stubs use, so
// a test never runs the host's real df, smartctl or systemctl.
func shellOnly(t *testing.T) string {
	t.Helper()
	shellOnce.Do(func() { shellDir = makeShellDir(t) })
	return shellDir
}

func makeShellDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "wigo-probes-sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"sh", "cat", "echo", "printf", "sleep", "touch"} {
		for _, d := range []string{"/bin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(d, tool)); err == nil {
				if err := os.Symlink(filepath.Join(d, tool), filepath.Join(dir, tool)); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shellDir != "" {
		os.RemoveAll(shellDir)
	}
	os.Exit(code)
}

// want checks status and that the message holds every fragment.
func (tr testResult) want(t *testing.T, status int, fragments ...string) {
	t.Helper()
	if tr.code != 0 {
		t.Fatalf("exit %d, want 0 (stderr %q)", tr.code, tr.stderr)
	}
	if tr.Status != status {
		t.Fatalf("status %d, want %d: %s", tr.Status, status, tr.Message)
	}
	for _, f := range fragments {
		if !strings.Contains(tr.Message, f) {
			t.Fatalf("message %q lacks %q", tr.Message, f)
		}
	}
}

// metric is the value of the metric whose tags include all of kv.
func (tr testResult) metricValue(t *testing.T, kv ...string) float64 {
	t.Helper()
next:
	for _, m := range tr.Metrics {
		for i := 0; i+1 < len(kv); i += 2 {
			if m.Tags[kv[i]] != kv[i+1] {
				continue next
			}
		}
		return m.Value
	}
	t.Fatalf("no metric with tags %v in %+v", kv, tr.Metrics)
	return 0
}
