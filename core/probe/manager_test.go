package probe

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/model"
)

func TestValidResult(t *testing.T) {
	t.Parallel()
	dir := probeDir(t, "1", "good", `echo '{"Name":"liar","Version":"0.3","Status":"101","Message":"fine",
"Metrics":[{"Tags":{"disk":"sda","n":1},"Value":"0.5"}],"Detail":{"a":[1,2]},"Value":42}'`)
	h := start(t, dir, nil)
	before := time.Now().Unix()
	r := h.result("good", 5*time.Second)
	if r.Name != "good" || r.Status != 101 || r.Message != "fine" || r.Version != "0.3" || r.ExitCode != 0 {
		t.Fatalf("unexpected result %+v", r)
	}
	if len(r.Metrics) != 1 || r.Metrics[0].Value != 0.5 || r.Metrics[0].Tags["n"] != "1" {
		t.Fatalf("metrics: %+v", r.Metrics)
	}
	if string(r.Detail) != `{"a":[1,2]}` || string(r.Value) != "42" {
		t.Fatalf("detail %s value %s", r.Detail, r.Value)
	}
	day := time.Unix(r.Timestamp, 0).UTC().Format("2006-01-02T15:04:05")
	if r.Timestamp < before || !strings.HasPrefix(r.ProbeDate, day) || !strings.HasSuffix(r.ProbeDate, "(UTC)") {
		t.Fatalf("dates: %d %q", r.Timestamp, r.ProbeDate)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func TestFailureModes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		code       int
		want       []string
	}{
		{"garbage", `echo 'hello world, not json'`, 0, []string{`probe "garbage" printed invalid JSON: invalid character 'h'`, `(first bytes: "hello world, not json`}},
		{"binary", `head -c 100 /dev/urandom`, 0, []string{`probe "binary" printed`}},
		{"nostatus", `echo '{"Message":"hi"}'`, 0, []string{`probe "nostatus" output has no Status`}},
		{"badstatus", `echo '{"Status":"high"}'`, 0, []string{`probe "badstatus" output has an invalid Status`}},
		{"range", `echo '{"Status":42,"Message":"mine"}'`, 0, []string{`probe "range" returned Status 42, outside 100..999; probe said: mine`}},
		{"empty", `echo "it broke" >&2`, 0, []string{`probe "empty" printed nothing on stdout; stderr: it broke`}},
		{"exit2", `echo first >&2; echo "cannot read /nope" >&2; exit 2`, 2, []string{`probe "exit2" exited with code 2: cannot read /nope`}},
		{"exit3body", `echo '{"Status":100,"Message":"all good","Detail":{"k":1}}'; echo boom >&2; exit 3`, 3,
			[]string{`probe "exit3body" exited with code 3: boom; probe said: all good`}},
		{"array", `echo '[1,2]'`, 0, []string{`probe "array" printed JSON that is not an object`}},
		{"badmetric", `echo '{"Status":100,"Metrics":[{"Value":"x"}]}'`, 0, []string{`probe "badmetric" output has invalid Metrics: metric 0: Value: want a number`}},
		{"signal", `kill -TERM $$`, -1, []string{`probe "signal" was killed by signal 15 (terminated)`}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		writeProbe(t, filepath.Join(dir, "1", c.name), c.body)
	}
	h := start(t, dir, nil)
	got := map[string]*model.ProbeResult{}
	deadline := time.After(10 * time.Second)
	for len(got) < len(cases) {
		select {
		case r := <-h.sink.results:
			got[r.Name] = r
		case <-deadline:
			t.Fatalf("only %d of %d results", len(got), len(cases))
		}
	}
	for _, c := range cases {
		r := got[c.name]
		if r.Status != model.StatusError {
			t.Errorf("%s: status %d, want 500 (%s)", c.name, r.Status, r.Message)
		}
		if r.ExitCode != c.code {
			t.Errorf("%s: exit code %d, want %d", c.name, r.ExitCode, c.code)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Message, w) {
				t.Errorf("%s: message %q lacks %q", c.name, r.Message, w)
			}
		}
	}
	if d := string(got["exit3body"].Detail); d != `{"k":1}` {
		t.Errorf("exit with body lost the probe's Detail: %s", d)
	}
	if d := string(got["exit2"].Detail); !strings.Contains(d, `first\ncannot read /nope`) {
		t.Errorf("stderr not kept in Detail: %s", d)
	}
}

// alive reports whether pid is still a live process (a zombie waiting for
// its reaper counts as dead: it runs nothing and holds nothing open).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	marker := filepath.Join(dir, "ran")
	// First run: a background child that holds stdout open, then hang.
	// Later runs disable the probe, so the child checked is the only one.
	writeProbe(t, filepath.Join(dir, "1", "hang"), `
[ -e `+marker+` ] && exit 12
touch `+marker+`
sleep 1000 &
echo $! > `+pidFile+`
sleep 1000`)
	h := start(t, dir, nil)
	started := time.Now()
	r := h.result("hang", 10*time.Second)
	mustContain(t, r.Message, `probe "hang" timed out after 1s and was killed`)
	if r.Status != model.StatusError || r.ExitCode != -1 {
		t.Fatalf("status %d exit %d", r.Status, r.ExitCode)
	}
	if el := time.Since(started); el > 6*time.Second {
		t.Fatalf("result took %s: Wait blocked on the child holding stdout", el)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The kill was sent before the result; allow the kernel to finish it.
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d of the timed-out probe is still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLeftoverChildKilledAfterExit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	// Exits at once but leaves a child holding stdout: the run must end
	// promptly with the probe's result, and the child must be killed.
	writeProbe(t, filepath.Join(dir, "1", "leaky"), `
sleep 1000 &
echo $! > `+pidFile+`
echo '{"Status":100,"Message":"done"}'`)
	start := time.Now()
	out := runOnce(t, filepath.Join(dir, "1", "leaky"), os.Environ(), 30*time.Second)
	if out.result == nil || out.result.Status != 100 || out.result.Message != "done" {
		t.Fatalf("result %+v failure %q", out.result, out.failure)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("run took %s", el)
	}
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for pid > 0 && alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("leftover child %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitTicks waits for n results of the always-succeeding "tick" probe: a
// clock made of real runs, so "no more runs of X" is checked over real
// scheduler activity rather than a sleep.
func awaitTicks(h *harness, n int, other string) {
	h.t.Helper()
	deadline := time.After(time.Duration(n+3) * time.Second)
	for n > 0 {
		select {
		case r := <-h.sink.results:
			if r.Name == "tick" {
				n--
			} else {
				h.t.Fatalf("unexpected result from %q: %+v", r.Name, r)
			}
		case name := <-h.sink.removed:
			if name == other {
				h.t.Fatalf("probe %q reported removed again", name)
			}
		case <-deadline:
			h.t.Fatalf("tick probe stopped producing results")
		}
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func TestExit12Disables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	writeProbe(t, filepath.Join(dir, "1", "off"), `echo run >> `+count+`; echo '{"Status":300}'; exit 12`)
	writeProbe(t, filepath.Join(dir, "1", "tick"), `echo '{"Status":100}'`)
	h := start(t, dir, nil)
	awaitString(t, h.sink.disabled, "off:12", 5*time.Second)
	awaitTicks(h, 3, "off")
	if n := countLines(t, count); n != 1 {
		t.Fatalf("disabled probe ran %d times", n)
	}
	select {
	case name := <-h.sink.removed:
		t.Fatalf("exit 12 must keep the result, got ProbeRemoved(%q)", name)
	default:
	}
	for _, p := range h.m.Probes() {
		if p.Name == "off" && (!p.Disabled || p.DisabledBy != 12 || !p.Next.IsZero()) {
			t.Fatalf("Probes: %+v", p)
		}
	}
	mustContain(t, h.logs.String(), "probe exited with code 12")
}

func TestExit13DisablesAndRemoves(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	writeProbe(t, filepath.Join(dir, "1", "gone"), `echo run >> `+count+`; exit 13`)
	writeProbe(t, filepath.Join(dir, "1", "tick"), `echo '{"Status":100}'`)
	h := start(t, dir, nil)
	awaitString(t, h.sink.disabled, "gone:13", 5*time.Second)
	awaitString(t, h.sink.removed, "gone", time.Second)
	awaitTicks(h, 3, "gone")
	if n := countLines(t, count); n != 1 {
		t.Fatalf("removed probe ran %d times", n)
	}
}

func TestOutputCapped(t *testing.T) {
	t.Parallel()
	dir := probeDir(t, "1", "chatty", `head -c 5242880 /dev/zero | tr '\0' a; echo '{"Status":100}'`)
	h := start(t, dir, nil)
	r := h.result("chatty", 10*time.Second)
	if r.Status != model.StatusError {
		t.Fatalf("status %d", r.Status)
	}
	mustContain(t, r.Message, `probe "chatty" output exceeds 1 MiB`)
}

// TestOutputReadIsBounded checks memory, not just the verdict: running a
// probe that prints 5 MiB allocates about the cap, not the output size.
// Not parallel, so other tests' allocations do not blur the count.
func TestOutputReadIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "5", "chatty")
	writeProbe(t, path, `head -c 5242880 /dev/zero | tr '\0' a`)
	var before, after runtimeMem
	before.read()
	out := runOnce(t, path, os.Environ(), 10*time.Second)
	after.read()
	if out.result == nil || !strings.Contains(out.result.Message, "output exceeds 1 MiB") {
		t.Fatalf("result %+v", out.result)
	}
	alloc := after.total - before.total
	t.Logf("allocated %d bytes for a 5 MiB probe (cap %d)", alloc, DefaultMaxOutput)
	if alloc > 4<<20 {
		t.Fatalf("running a 5 MiB probe allocated %d bytes; the read is not bounded", alloc)
	}
}

func TestIntervalDirAtRuntime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := start(t, dir, nil)
	// A name whose first run comes early, so the test does not wait up to
	// the full 5 s spread.
	name := ""
	for i := 0; name == ""; i++ {
		n := "late" + strconv.Itoa(i)
		if phase(n, 5*time.Second) < 500*time.Millisecond {
			name = n
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "5"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeProbe(t, filepath.Join(dir, "5", name), `echo '{"Status":100,"Message":"hi"}'`)
	r := h.result(name, 5*time.Second)
	if r.Status != 100 {
		t.Fatalf("%+v", r)
	}
	ps := h.m.Probes()
	if len(ps) != 1 || ps[0].Interval != 5*time.Second {
		t.Fatalf("Probes: %+v", ps)
	}
	if err := os.RemoveAll(filepath.Join(dir, "5")); err != nil {
		t.Fatal(err)
	}
	awaitString(t, h.sink.removed, name, 5*time.Second)
	if ps := h.m.Probes(); len(ps) != 0 {
		t.Fatalf("Probes after removal: %+v", ps)
	}
}

func TestLinkedInTwoIntervalsRunsOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeProbe(t, filepath.Join(dir, "lib", "dup"), `echo "{\"Status\":100,\"Message\":\"$(pwd -P)\"}"`)
	for _, iv := range []string{"2", "1"} {
		if err := os.Mkdir(filepath.Join(dir, iv), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../lib/dup", filepath.Join(dir, iv, "dup")); err != nil {
			t.Fatal(err)
		}
	}
	// Frequent rescans: the warning must still be logged once.
	h := start(t, dir, func(o *Options) { o.Rescan = 100 * time.Millisecond })
	real1, _ := filepath.EvalSymlinks(filepath.Join(dir, "1"))
	for i := 0; i < 3; i++ {
		r := h.result("dup", 5*time.Second)
		if r.Message != real1 {
			t.Fatalf("run %d in %q, want the 1-second directory %q", i, r.Message, real1)
		}
	}
	ps := h.m.Probes()
	if len(ps) != 1 || ps[0].Interval != time.Second || ps[0].Path != filepath.Join(dir, "1", "dup") {
		t.Fatalf("Probes: %+v", ps)
	}
	if n := strings.Count(h.logs.String(), "linked in several interval directories"); n != 1 {
		t.Fatalf("duplicate warning logged %d times", n)
	}
}

func TestConfigRootAndSetDirs(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	body := `echo "{\"Status\":100,\"Message\":\"$WIGO_PROBE_CONFIG_ROOT\"}"`
	writeProbe(t, filepath.Join(a, "1", "cfg"), body)
	writeProbe(t, filepath.Join(a, "1", "onlya"), `echo '{"Status":100}'`)
	writeProbe(t, filepath.Join(b, "1", "cfg"), body)
	h := start(t, a, func(o *Options) { o.ConfigDir = "/etc/config-a" })
	if r := h.result("cfg", 5*time.Second); r.Message != "/etc/config-a" {
		t.Fatalf("WIGO_PROBE_CONFIG_ROOT seen as %q", r.Message)
	}
	h.m.SetDirs(b, "/etc/config-b")
	awaitString(t, h.sink.removed, "onlya", 5*time.Second)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-h.sink.results:
			if r.Name == "cfg" && r.Message == "/etc/config-b" {
				ps := h.m.Probes()
				if len(ps) != 1 || ps[0].Path != filepath.Join(b, "1", "cfg") {
					t.Fatalf("Probes: %+v", ps)
				}
				return
			}
		case name := <-h.sink.removed:
			t.Fatalf("probe %q removed by the reload; results must survive", name)
		case <-deadline:
			t.Fatal("new config dir never seen")
		}
	}
}

func TestRunsNeverOverlap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lock := filepath.Join(dir, "lock")
	writeProbe(t, filepath.Join(dir, "1", "slow"), `
mkdir `+lock+` 2>/dev/null || { echo '{"Status":500,"Message":"overlap"}'; exit 0; }
sleep 1.3
rmdir `+lock+`
echo '{"Status":100}'`)
	h := start(t, dir, func(o *Options) { o.Timeout = 5 * time.Second })
	for i := 0; i < 3; i++ {
		if r := h.result("slow", 5*time.Second); r.Status != 100 {
			t.Fatalf("run %d: %+v", i, r)
		}
	}
	mustContain(t, h.logs.String(), "probe still running; skipping this run")
}

func TestSkippedEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, n := range []string{".hidden", "edit~", "x.swp", "x.dpkg-old", "ok"} {
		writeProbe(t, filepath.Join(dir, "1", n), `echo '{"Status":100}'`)
	}
	if err := os.WriteFile(filepath.Join(dir, "1", "noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../nowhere", filepath.Join(dir, "1", "dangling")); err != nil {
		t.Fatal(err)
	}
	writeProbe(t, filepath.Join(dir, "examples", "ex"), `echo '{"Status":100}'`)
	writeProbe(t, filepath.Join(dir, "0", "zero"), `echo '{"Status":100}'`)
	res := scan(dir)
	if len(res.probes) != 1 || res.probes["ok"].interval != time.Second {
		t.Fatalf("probes: %+v", res.probes)
	}
	var reasons []string
	for k := range res.problems {
		reasons = append(reasons, k)
	}
	joined := strings.Join(reasons, " ")
	mustContain(t, joined, "not executable|", "broken symlink|", "interval|")
}

// TestShutdownKillsRunningProbes: when Run returns, a probe that was mid-run
// and its children are killed and its result is not published.
func TestShutdownKillsRunningProbes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pids")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	writeProbe(t, filepath.Join(dir, "1", "long"), `sleep 1000 & echo "$$ $!" > `+fifo+`; wait`)
	sink := newRecSink()
	m := New(Options{Dir: dir, Timeout: time.Minute, Sink: sink, Logger: hclog.NewNullLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()

	// Opening the FIFO blocks until the probe opens it: the run has begun.
	pidsc := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		pidsc <- string(b)
	}()
	var pids []int
	select {
	case s := <-pidsc:
		for _, f := range strings.Fields(s) {
			n, _ := strconv.Atoi(f)
			pids = append(pids, n)
		}
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatal("probe never started")
	}
	if len(pids) != 2 {
		t.Fatalf("pids %v", pids)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if alive(pids[0]) {
		t.Fatalf("probe %d still running after Run returned", pids[0])
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pids[1]) {
		if time.Now().After(deadline) {
			t.Fatalf("probe's child %d survived shutdown", pids[1])
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-sink.results:
		t.Fatalf("result published for a run cut by shutdown: %+v", r)
	default:
	}
}

// TestRelativeDir: a relative probes directory still runs probes (exec
// would otherwise resolve the path against the probe's working directory).
func TestRelativeDir(t *testing.T) {
	t.Parallel()
	dir := probeDir(t, "1", "rel", `echo '{"Status":100}'`)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, rel, nil)
	if r := h.result("rel", 5*time.Second); r.Status != 100 {
		t.Fatalf("%+v", r)
	}
}

// A probe whose result was restored from the previous run but that was
// deleted while the daemon was stopped is removed after the first scan; one
// still on disk keeps running and is not removed.
func TestPreviousProbeGoneIsRemoved(t *testing.T) {
	t.Parallel()
	dir := probeDir(t, "1", "kept", `echo '{"Status":100}'`)
	h := start(t, dir, func(o *Options) { o.Previous = []string{"kept", "deleted"} })
	awaitString(t, h.sink.removed, "deleted", 5*time.Second)
	h.result("kept", 5*time.Second)
	select {
	case name := <-h.sink.removed:
		t.Fatalf("%q removed as well", name)
	default:
	}
}
