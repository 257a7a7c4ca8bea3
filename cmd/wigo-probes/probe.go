package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Statuses of the probe contract.
const (
	statusOK    = 100
	statusInfo  = 101
	statusWarn  = 200
	statusCrit  = 300
	statusError = 500
)

// Exit codes the daemon gives a meaning to (core/probe).
const (
	exitDisable = 12
	exitRemove  = 13
)

// probeFunc is one probe: it fills r or returns an error, which becomes a
// Status 500 result (or exit 12/13 for an exitError).
type probeFunc func(e *env, r *result) error

// metric is one measurement as the daemon reads it.
type metric struct {
	Tags  map[string]string `json:"Tags"`
	Value float64           `json:"Value"`
}

// result is the JSON object a probe prints.
type result struct {
	Version string   `json:"Version"`
	Status  int      `json:"Status"`
	Message string   `json:"Message"`
	Value   any      `json:"Value,omitempty"`
	Detail  any      `json:"Detail"`
	Metrics []metric `json:"Metrics"`
}

// raise sets the status to s unless it is already worse.
func (r *result) raise(s int) {
	if s > r.Status {
		r.Status = s
	}
}

// metric appends one measurement; tags are key, value pairs.
func (r *result) metric(v float64, tags ...string) {
	t := make(map[string]string, len(tags)/2)
	for i := 0; i+1 < len(tags); i += 2 {
		t[tags[i]] = tags[i+1]
	}
	r.Metrics = append(r.Metrics, metric{Tags: t, Value: v})
}

// exitError ends a probe with a special exit code instead of a result.
type exitError struct {
	code int
	why  string
}

func (x *exitError) Error() string { return x.why }

// absent ends the probe with exit 13: its subject is not on this host, so
// the daemon disables it and removes its result.
func absent(format string, a ...any) error {
	return &exitError{code: exitRemove, why: fmt.Sprintf(format, a...)}
}

// env is what a probe may see of the host; tests build their own.
type env struct {
	name string
	// root is prepended to the host paths a probe reads ("" = "/").
	root   string
	getenv func(string) string
	now    func() time.Time
	// timeout bounds each command a probe runs.
	timeout time.Duration
	// sleep waits between the two samples of a rate (ifstat, iostat);
	// tests change the recorded counters there instead of waiting.
	sleep func(time.Duration)
}

// newEnv reads the probe environment from getenv.
func newEnv(getenv func(string) string) *env {
	return &env{root: getenv("WIGO_PROBES_ROOT"), getenv: getenv, now: time.Now, timeout: 30 * time.Second, sleep: time.Sleep}
}

// path is p (an absolute host path) under the configured root.
func (e *env) path(p string) string {
	if e.root == "" {
		return p
	}
	return filepath.Join(e.root, p)
}

// readFile reads a host file under the root.
func (e *env) readFile(p string) ([]byte, error) {
	b, err := os.ReadFile(e.path(p))
	if err != nil {
		// The error names the host path, not where a test's fake root put it.
		return nil, fmt.Errorf("cannot read %s: %w", p, unwrapPath(err))
	}
	return b, nil
}

// execute runs p and prints its result; it returns the exit code.
func execute(p probeFunc, e *env, stdout, stderr io.Writer) int {
	r := &result{Version: "1.0", Status: statusOK, Detail: map[string]any{}, Metrics: []metric{}}
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("internal error: %v", v)
			}
		}()
		return p(e, r)
	}()
	var x *exitError
	if errors.As(err, &x) {
		fmt.Fprintf(stderr, "%s: %s (exit %d)\n", e.name, x.why, x.code)
		return x.code
	}
	if err != nil {
		r.Status = statusError
		r.Message = fmt.Sprintf("%s: %v", e.name, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "> 200%" reads better than "\u003e 200%"
	if merr := enc.Encode(r); merr != nil {
		fmt.Fprintf(stderr, "%s: cannot encode result: %v\n", e.name, merr)
		return 1
	}
	if _, werr := stdout.Write(buf.Bytes()); werr != nil {
		fmt.Fprintf(stderr, "%s: cannot write result: %v\n", e.name, werr)
		return 1
	}
	return 0
}

// loadConfig decodes $WIGO_PROBE_CONFIG_ROOT/<name>.conf over cfg (which
// holds the defaults). A missing file or variable keeps the defaults. The
// JSON may hold '#' comments and trailing commas, as the original's relaxed
// parser allowed; an error names the file, line and column. "enabled":
// false, the original's switch, disables the probe (exit 12).
func (e *env) loadConfig(cfg any) error {
	root := e.getenv("WIGO_PROBE_CONFIG_ROOT")
	if root == "" {
		return nil
	}
	file := filepath.Join(root, e.name+".conf")
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read config: %w", err)
	}
	text := relax(raw)
	var sw struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeAt(file, text, &sw); err != nil {
		return err
	}
	if sw.Enabled != nil && !*sw.Enabled {
		return &exitError{code: exitDisable, why: "disabled in " + file}
	}
	return decodeAt(file, text, cfg)
}

// decodeAt decodes text into v, locating any error in file.
func decodeAt(file string, text []byte, v any) error {
	err := json.Unmarshal(text, v)
	if err == nil {
		return nil
	}
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return fmt.Errorf("invalid config %s: %w", file, err)
	}
	line, col := 1, 1
	for _, c := range text[:min(int(off), len(text))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("invalid config %s:%d:%d: %w", file, line, col, err)
}

// relax blanks '#' comments and trailing commas outside strings, keeping
// every byte's position so error locations stay right.
func relax(in []byte) []byte {
	out := bytes.Clone(in)
	inStr, esc, comment := false, false, false
	lastComma := -1
	for i, c := range out {
		switch {
		case comment:
			if c == '\n' {
				comment = false
			} else {
				out[i] = ' '
			}
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr, lastComma = true, -1
		case c == '#':
			comment, out[i] = true, ' '
		case c == ',':
			lastComma = i
		case c == '}' || c == ']':
			if lastComma >= 0 {
				out[lastComma] = ' '
			}
			lastComma = -1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			lastComma = -1
		}
	}
	return out
}

// errNotInstalled is returned by command when the program is not on PATH.
var errNotInstalled = errors.New("not installed")

// lookPath finds prog on the probe's PATH (not the process's, so tests can
// give each probe its own stubs). A prog with a slash is used as is.
func (e *env) lookPath(prog string) (string, error) {
	if strings.Contains(prog, "/") {
		if st, err := os.Stat(prog); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return prog, nil
		}
		return "", fmt.Errorf("%s: %w", prog, errNotInstalled)
	}
	for _, dir := range filepath.SplitList(e.searchPath()) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, prog)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", prog, errNotInstalled)
}

// defaultPath is searched when the daemon was started without PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// searchPath is the probe's PATH, or defaultPath.
func (e *env) searchPath() string {
	if p := e.getenv("PATH"); p != "" {
		return p
	}
	return defaultPath
}

// cmdResult is what a command printed and how it ended.
type cmdResult struct {
	stdout, stderr []byte
	exitCode       int
}

// command runs prog with args under the probe's timeout, with the probe's
// environment and LC_ALL=C (parsers expect English, unlocalised output). A
// non-zero exit is not an error: several tools report through it.
func (e *env) command(prog string, args ...string) (cmdResult, error) {
	path, err := e.lookPath(prog)
	if err != nil {
		return cmdResult{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	var out, errb bytes.Buffer
	for attempt := 0; ; attempt++ {
		out.Reset()
		errb.Reset()
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Env = []string{"PATH=" + e.searchPath(), "LC_ALL=C", "LANG=C", "HOME=" + e.getenv("HOME")}
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.WaitDelay = time.Second
		err = cmd.Run()
		// ETXTBSY: the program was just written (a package upgrade, a
		// test's stub) and is still open for writing somewhere; it lasts
		// microseconds (golang/go#22315), as core/probe's runner knows.
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 5 {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	res := cmdResult{stdout: out.Bytes(), stderr: errb.Bytes()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("%s timed out after %s", prog, e.timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.exitCode = ee.ExitCode()
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("cannot run %s: %w", prog, err)
	}
	return res, nil
}

// human formats a byte count with binary units.
func human(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", int64(b))
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// round1 rounds to one decimal, as the messages show.
func round1(f float64) float64 {
	return math.Round(f*10) / 10
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// jsonUnmarshal is json.Unmarshal, named so custom decoders read alike.
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
