package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// Exit codes with a meaning of their own, as in the original Wigo.
const (
	// ExitDisable (12) tells the daemon to stop running the probe until the
	// daemon restarts. Its last result stays as it was: the probe is saying
	// "I do not apply to this host" without wiping what is known.
	ExitDisable = 12
	// ExitRemove (13) disables the probe until restart like ExitDisable and
	// also removes its result (Sink.ProbeRemoved), for a probe that wants to
	// vanish from the host entirely (e.g. a service that is not installed).
	ExitRemove = 13
)

const (
	// stderrTail is how much of a probe's stderr is kept: enough for the
	// last few lines of a stack trace, never unbounded.
	stderrTail = 4 << 10
	// waitDelay bounds how long Wait keeps reading pipes after the probe
	// exited or was killed. It only matters when a process that left the
	// probe's process group (setsid, double fork) still holds stdout open;
	// without it Wait would block for as long as that process lives.
	waitDelay = time.Second
	// startRetries covers ETXTBSY: a probe file that was just written may
	// still be open for writing in a child forked (but not yet exec'd) by
	// another goroutine of this process (golang/go#22315), or by the tool
	// installing it. The condition lasts microseconds.
	startRetries = 5
)

// runSpec is everything one run needs; the scheduler copies it out of its
// state so a run never touches shared state.
type runSpec struct {
	name      string
	path      string
	dir       string // working directory: the interval directory holding the entry
	env       []string
	timeout   time.Duration
	maxOutput int
}

// runOutcome is what one run produced.
type runOutcome struct {
	// result is the result to publish; nil when the run was cancelled
	// (shutdown, probe removed) or the probe asked to be disabled.
	result *model.ProbeResult
	// exitCode is the probe's exit code, -1 when it died from a signal or
	// never started.
	exitCode int
	// disable is ExitDisable or ExitRemove when the probe asked for it.
	disable int
	// failure is the daemon-side failure reason (empty when the probe's own
	// output was used as is); the scheduler logs it when it changes.
	failure string
	// canceled is set when ctx was cancelled before the run finished.
	canceled bool
	started  time.Time
	duration time.Duration
}

// run executes one probe once and turns whatever happened into a result.
// It never returns before the probe's process group has been killed (when
// it had to be) and the probe reaped, so no run outlives its caller.
func run(ctx context.Context, s runSpec) runOutcome {
	stdout := &cappedBuffer{max: s.maxOutput, exceeded: make(chan struct{}, 1)}
	stderr := &tailBuffer{max: stderrTail}
	started := time.Now()
	out := runOutcome{started: started, exitCode: -1}

	var cmd *exec.Cmd
	var err error
	for attempt := 0; ; attempt++ {
		cmd = &exec.Cmd{
			Path:   s.path,
			Args:   []string{s.path},
			Dir:    s.dir,
			Env:    s.env,
			Stdout: stdout,
			Stderr: stderr,
			// Own process group: the probe and everything it spawns can be
			// killed as one with kill(-pgid).
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
			WaitDelay:   waitDelay,
		}
		err = cmd.Start()
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || attempt == startRetries {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	if err != nil {
		out.duration = time.Since(started)
		out.failure = fmt.Sprintf("probe %q could not be started: %v", s.name, startError(err))
		out.result = failed(s.name, out.failure, -1, started.Add(out.duration))
		return out
	}

	g := &group{pgid: cmd.Process.Pid}
	done := make(chan error, 1)
	go func() {
		if canWaitNoReap && waitExited(g.pgid) == nil {
			// The probe has exited but is not reaped yet: kill whatever it
			// left running in its group (background children holding
			// stdout open, forgotten helpers), then let Wait reap it.
			g.kill()
		}
		g.reaping()
		done <- cmd.Wait()
	}()

	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	var timedOut, tooBig bool
	var waitErr error
wait:
	for {
		select {
		case waitErr = <-done:
			break wait
		case <-timer.C:
			timedOut = true
			g.kill()
		case <-ctx.Done():
			out.canceled = true
			g.kill()
		case <-stdout.exceeded:
			tooBig = true
			g.kill()
		}
	}
	end := time.Now()
	tooBig = tooBig || stdout.over // it may have exited before we saw the signal
	out.duration = end.Sub(started)
	if cmd.ProcessState != nil {
		out.exitCode = cmd.ProcessState.ExitCode()
	}
	if out.canceled && !timedOut {
		// Shutdown or removal: whatever the probe produced is moot.
		return out
	}
	out.result, out.failure, out.disable = interpret(s, stdout, stderr, cmd.ProcessState, waitErr, timedOut, tooBig, end)
	if out.result != nil {
		out.result.ExitCode = out.exitCode
	}
	return out
}

// interpret turns a finished run into a result, or into a disable request.
func interpret(s runSpec, stdout *cappedBuffer, stderr *tailBuffer, ps *os.ProcessState,
	waitErr error, timedOut, tooBig bool, end time.Time) (*model.ProbeResult, string, int) {
	name := s.name
	code := -1
	if ps != nil {
		code = ps.ExitCode()
	}
	fail := func(msg string) (*model.ProbeResult, string, int) {
		r := failed(name, msg, code, end)
		if tail := stderr.String(); tail != "" {
			r.Detail = stderrDetail(tail)
		}
		return r, msg, 0
	}

	switch {
	case timedOut:
		return fail(fmt.Sprintf("probe %q timed out after %s and was killed", name, s.timeout))
	case tooBig:
		return fail(fmt.Sprintf("probe %q output exceeds %s; the probe was killed", name, formatSize(s.maxOutput)))
	case code == ExitDisable || code == ExitRemove:
		return nil, "", code
	}
	if ps == nil {
		return fail(fmt.Sprintf("probe %q failed: %v%s", name, waitErr, stderrSuffix(stderr)))
	}
	if ws, ok := sysStatus(ps); ok && ws.Signaled() {
		// Not our kill (those are handled above): OOM killer, an operator,
		// or the probe killing itself.
		return fail(fmt.Sprintf("probe %q was killed by signal %d (%s)%s", name, int(ws.Signal()), ws.Signal(), stderrSuffix(stderr)))
	}

	parsed, perr := parseOutput(stdout.Bytes())
	if code != 0 {
		reason := stderr.lastLine()
		if reason == "" {
			if b := stdout.Bytes(); perr != nil && len(strings.TrimSpace(string(b))) > 0 {
				reason = "stdout: " + firstBytes(b)
			} else {
				reason = "nothing on stderr"
			}
		}
		msg := fmt.Sprintf("probe %q exited with code %d: %s", name, code, reason)
		if perr != nil {
			return fail(msg)
		}
		// A valid body with a failing exit: keep what the probe said, so the
		// person reading the 500 sees both the cause and the probe's view.
		r, msg := failedWithBody(parsed, name, msg, end)
		return r, msg, 0
	}
	if perr != nil {
		return fail(fmt.Sprintf("probe %q %s%s", name, perr, stderrSuffix(stderr)))
	}
	if parsed.Status < model.StatusOK || parsed.Status > model.StatusDown {
		msg := fmt.Sprintf("probe %q returned Status %d, outside 100..999", name, parsed.Status)
		r, msg := failedWithBody(parsed, name, msg, end)
		return r, msg, 0
	}
	parsed.Name = name
	stamp(parsed, end)
	return parsed, "", 0
}

// failed is a status-500 result for a run the daemon judged broken.
func failed(name, msg string, code int, end time.Time) *model.ProbeResult {
	r := &model.ProbeResult{Name: name, Status: model.StatusError, Message: msg, ExitCode: code}
	stamp(r, end)
	return r
}

// stamp sets the daemon-owned dates: the end of the run, in the original's
// two forms.
func stamp(r *model.ProbeResult, end time.Time) {
	r.ProbeDate = model.FormatDate(end)
	r.Timestamp = end.Unix()
}

func sysStatus(ps *os.ProcessState) (syscall.WaitStatus, bool) {
	if ps == nil {
		return 0, false
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ws, ok
}

// startError strips exec's "fork/exec /long/path:" prefix: the message
// already names the probe, the errno is what the operator needs.
func startError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func stderrSuffix(t *tailBuffer) string {
	if l := t.lastLine(); l != "" {
		return "; stderr: " + l
	}
	return ""
}

// stderrDetail puts the kept stderr into Detail so the UI can show more than
// the one line that fits in Message.
func stderrDetail(tail string) []byte {
	b, _ := json.Marshal(map[string]string{"stderr": tail})
	return b
}

// group is a probe's process group, killable until the probe is reaped.
type group struct {
	mu     sync.Mutex
	pgid   int
	reaped bool
}

// kill SIGKILLs the whole group. It does nothing once reaping has begun:
// after the group leader is reaped its pid may be reused, and a kill then
// could hit a stranger. Before that the zombie leader pins the id.
func (g *group) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.reaped || !canWaitNoReap {
		_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
	}
}

// reaping marks the point after which kill must not send signals.
func (g *group) reaping() {
	if !canWaitNoReap {
		return
	}
	g.mu.Lock()
	g.reaped = true
	g.mu.Unlock()
}

// cappedBuffer keeps at most max bytes of a probe's stdout. Past that it
// signals exceeded (the runner kills the probe) and discards the rest, so
// the copy goroutine in os/exec keeps draining and never blocks the probe
// on a full pipe: memory stays bounded whatever the probe prints.
type cappedBuffer struct {
	max      int
	buf      []byte
	over     bool
	exceeded chan struct{}
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.over {
		return len(p), nil
	}
	room := c.max - len(c.buf)
	if len(p) > room {
		c.grow(room)
		c.buf = append(c.buf, p[:room]...)
		c.over = true
		select {
		case c.exceeded <- struct{}{}:
		default:
		}
		return len(p), nil
	}
	c.grow(len(p))
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// grow makes room for n more bytes by doubling, never past max. append's
// own growth (x1.25 for large slices) would allocate about five times the
// cap on the way to it; doubling keeps the total near twice the final size,
// and a typical probe's few hundred bytes cost one small allocation.
func (c *cappedBuffer) grow(n int) {
	need := len(c.buf) + n
	if need <= cap(c.buf) {
		return
	}
	nc := max(2*cap(c.buf), 4096, need)
	nc = min(nc, max(c.max, need))
	nb := make([]byte, len(c.buf), nc)
	copy(nb, c.buf)
	c.buf = nb
}

// ReadFrom lets io.Copy in os/exec read straight into this buffer through
// a 4 KiB chunk instead of allocating its own 32 KiB one per stream per run.
func (c *cappedBuffer) ReadFrom(r io.Reader) (int64, error) { return readChunks(c, r) }

// Bytes is what was kept. Only read it after Wait returned.
func (c *cappedBuffer) Bytes() []byte { return c.buf }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// ReadFrom: see cappedBuffer.ReadFrom.
func (t *tailBuffer) ReadFrom(r io.Reader) (int64, error) { return readChunks(t, r) }

// readChunks copies r to w in 4 KiB reads until EOF.
func readChunks(w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 4<<10)
	var n int64
	for {
		m, err := r.Read(buf)
		if m > 0 {
			_, _ = w.Write(buf[:m]) // never fails
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.buf)) }

// lastLine is the last non-empty line, which is where tools and
// interpreters put the error that matters ("die" in Perl, set -e in sh).
func (t *tailBuffer) lastLine() string {
	s := t.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// formatSize says "1 MiB" rather than "1048576 bytes" when it can.
func formatSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// buildEnv is the daemon's environment plus WIGO_PROBE_CONFIG_ROOT, which
// replaces any value inherited from the daemon's own environment.
func buildEnv(configDir string) []string {
	const key = "WIGO_PROBE_CONFIG_ROOT="
	base := os.Environ()
	env := make([]string, 0, len(base)+1)
	for _, kv := range base {
		if !strings.HasPrefix(kv, key) {
			env = append(env, kv)
		}
	}
	return append(env, key+configDir)
}

// failedWithBody turns a result the probe printed validly into a 500 that
// keeps what the probe said, so the person reading it sees both the cause
// and the probe's own view.
func failedWithBody(parsed *model.ProbeResult, name, msg string, end time.Time) (*model.ProbeResult, string) {
	if parsed.Message != "" {
		msg += "; probe said: " + parsed.Message
	}
	r := parsed
	r.Name = name
	r.Status = model.StatusError
	r.Message = msg
	stamp(r, end)
	return r, msg
}
