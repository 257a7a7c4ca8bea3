package probe

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

func TestParseOutput(t *testing.T) {
	t.Parallel()
	good := []struct{ in string }{
		{`{"Status":100}`},
		{`  {"status": 250.0, "message": "m", "version": 1.2}` + "\n"},
		{`{"Status":"300","Metrics":[{"Tags":{"a":true},"Value":3}],"Detail":null}`},
	}
	for _, c := range good {
		if _, err := parseOutput([]byte(c.in)); err != nil {
			t.Errorf("%s: %v", c.in, err)
		}
	}
	bad := []struct{ in, want string }{
		{``, "printed nothing on stdout"},
		{`{"Status":100`, "printed invalid JSON: unexpected end of JSON input"},
		{`{"Status":100} trailing`, "printed invalid JSON: invalid character 't' after top-level value"},
		{`{"Status":null}`, "output has no Status"},
		{`{"Status":100.5}`, "invalid Status: want an integer"},
		{`{"Status":100,"Message":{}}`, "invalid Message: want a string"},
		{`{"Status":100,"Metrics":{"a":1}}`, "invalid Metrics"},
		{`{"Status":100,"Metrics":[{"Tags":{}}]}`, "metric 0 has no Value"},
		{`nope`, "at byte 2"},
	}
	for _, c := range bad {
		_, err := parseOutput([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

func TestScheduleSpread(t *testing.T) {
	t.Parallel()
	const iv = 60 * time.Second
	// 1,000 probes over a 60 s interval: no second of the interval holds
	// much more than its share (≈17) of the runs.
	buckets := make([]int, 60)
	for i := 0; i < 1000; i++ {
		buckets[phase("probe"+string(rune('a'+i%26))+strings.Repeat("x", i/26), iv)/time.Second]++
	}
	for s, n := range buckets {
		if n > 40 {
			t.Fatalf("second %d holds %d of 1000 runs", s, n)
		}
	}
	now := time.Now()
	off := phase("disk", iv)
	first := firstRun(now, iv, off)
	if d := first.Sub(now); d < 0 || d >= firstRunSpread {
		t.Fatalf("first run after %s", d)
	}
	second := nextRun(first, first, iv, off)
	if d := second.Sub(first); d < iv/2 || d > 3*iv/2 {
		t.Fatalf("second run %s after the first", d)
	}
	third := nextRun(second, second, iv, off)
	if d := third.Sub(second); d != iv {
		t.Fatalf("on-grid runs %s apart, want %s", d, iv)
	}
	if (third.UnixNano()-int64(off))%int64(iv) != 0 {
		t.Fatalf("run not on the probe's grid")
	}
	// After a long stall the next run is in the future, once.
	late := third.Add(10 * iv)
	if n := nextRun(third, late, iv, off); !n.After(late) || n.Sub(late) > iv {
		t.Fatalf("after a stall next run at %s", n.Sub(late))
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	tb := &tailBuffer{max: 8}
	_, _ = tb.Write([]byte("abc\n"))
	_, _ = tb.Write([]byte("defgh\nij"))
	if got := string(tb.buf); got != "defgh\nij" {
		t.Fatalf("tail %q", got)
	}
	if tb.lastLine() != "ij" {
		t.Fatalf("last line %q", tb.lastLine())
	}
	_, _ = tb.Write([]byte(strings.Repeat("z", 20)))
	if string(tb.buf) != strings.Repeat("z", 8) {
		t.Fatalf("tail %q", tb.buf)
	}
}

// repoRoot is the module root, two levels up from this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestExampleProbes runs every shipped example here, with no config and
// with the sample configs, and checks each prints a valid result. A
// probe's own verdict about this host (WARN, CRIT) is fine; a daemon-side
// failure (500: bad JSON, crash, timeout) is not.
func TestExampleProbes(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	ents, err := os.ReadDir(filepath.Join(root, "probes", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 6 {
		t.Fatalf("only %d example probes", len(ents))
	}
	for _, confDir := range []string{t.TempDir(), filepath.Join(root, "etc", "conf.d")} {
		env := buildEnv(confDir)
		for _, e := range ents {
			path := filepath.Join(root, "probes", "examples", e.Name())
			t.Run(filepath.Base(confDir)+"/"+e.Name(), func(t *testing.T) {
				t.Parallel()
				out := runOnce(t, path, env, 30*time.Second)
				r := out.result
				if r == nil {
					t.Fatalf("no result (disable=%d)", out.disable)
				}
				if r.Status < 100 || r.Status >= 500 {
					t.Fatalf("status %d: %s (detail %s)", r.Status, r.Message, r.Detail)
				}
				if r.Message == "" {
					t.Fatalf("empty message")
				}
				t.Logf("%d %s", r.Status, r.Message)
			})
		}
	}
}

// TestDefaultLinks checks probes/60 holds relative links into examples/.
func TestDefaultLinks(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	res := scan(filepath.Join(root, "probes"))
	if len(res.problems) != 0 {
		t.Fatalf("problems: %+v", res.problems)
	}
	for _, name := range []string{"hardware_load_average", "hardware_memory", "hardware_disks", "uptime"} {
		c, ok := res.probes[name]
		if !ok || c.interval != 60*time.Second {
			t.Fatalf("%s not linked in 60/: %+v", name, res.probes)
		}
		target, err := os.Readlink(c.path)
		if err != nil || target != "../examples/"+name {
			t.Fatalf("%s: link %q %v", name, target, err)
		}
	}
}

// BenchmarkRunTrivialProbe is one full run through the runner: fork/exec of
// a shell script, process group, stdout capture, group sweep, JSON parse.
// Compare with BenchmarkForkExecTrue for the runner's own overhead.
func BenchmarkRunTrivialProbe(b *testing.B) {
	path := filepath.Join(b.TempDir(), "trivial")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho '{\"Status\":100}'\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	env := buildEnv("/etc/wigo/conf.d")
	spec := runSpec{name: "trivial", path: path, dir: filepath.Dir(path), env: env, timeout: 10 * time.Second, maxOutput: DefaultMaxOutput}
	b.ReportAllocs()
	for b.Loop() {
		out := run(context.Background(), spec)
		if out.result == nil || out.result.Status != 100 {
			b.Fatalf("%+v", out.result)
		}
	}
}

// BenchmarkForkExecTrue is the floor: os/exec running /bin/true.
func BenchmarkForkExecTrue(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// A probe printing a Detail nested 5,000 deep keeps its status and message;
// the Detail is cut at the core's depth cap.
func TestParseOutputCapsDetailDepth(t *testing.T) {
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	r, err := parseOutput([]byte(`{"Status":300,"Message":"deep","Detail":{"a":` + deep + `},"Value":` + deep + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 300 || r.Message != "deep" {
		t.Errorf("status %d message %q", r.Status, r.Message)
	}
	for what, raw := range map[string][]byte{"Detail": r.Detail, "Value": r.Value} {
		if len(raw) > 200 || !strings.Contains(string(raw), model.Elided) {
			t.Errorf("%s = %.300s, want it cut at the cap", what, raw)
		}
	}
}
