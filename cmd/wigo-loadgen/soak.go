package main

// The soak half: a real master daemon run for a long time under a steady
// load, its resources sampled and required flat (RELIABILITY.md, "Soak").
//
//	wigo-loadgen soak -wigo bin/wigo -plugins bin/plugins -duration 1h \
//	    -out var/soak/soak.tsv
//
// The master gets -probes local probes (tiny shell scripts, run every
// -probe-interval seconds, each CRIT for one run in every -flip-every so
// the log and the outbox get rows), the store on, a notify "http" block
// whose receiver is served here, and a transport "pull" block naming the
// -remotes remotes of the pull half (pull.go), served in this process.
// Pull rather than push: the master's transport-pull plugin then holds a
// connection per remote and parses every document itself, and the
// remotes' changes go through the same ingest, log and notify path as
// pushed ones.
//
// Every -sample the daemon and its plugin processes are measured: RSS
// (VmRSS), open descriptors (/proc/PID/fd), the daemon's goroutines
// (go_goroutines on /metrics) and the SQLite files (database and -wal),
// with the log and outbox row counts that explain the database's growth.
// One TSV line per sample goes to -out. At the end each series is judged
// over the samples after -warmup (see judgeSoak), and the command fails
// when one is not flat. -judge FILE judges an earlier run's TSV again (a
// 72-hour run with another -warmup, say) without running anything.

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	// Registers the "sqlite3" driver: the row counts are read from the
	// master's database, read-only.
	_ "github.com/mattn/go-sqlite3"
)

// soakOptions are runSoak's flags.
type soakOptions struct {
	wigo, plugins, dir, out string
	judge                   string
	keep                    bool
	duration, sample        time.Duration
	warmup                  float64
	probes, probeInterval   int
	flipEvery               int
	remotes, remoteProbes   int
	remoteInterval          time.Duration
	checkInterval           time.Duration
	change                  float64
	retentionDays           int
	rule                    string
	maxRowBytes             float64
}

// soakSample is one line of the TSV.
type soakSample struct {
	elapsed               time.Duration
	rssDaemon, rssPlugins int64
	goroutines            int64
	fdsDaemon, fdsPlugins int64
	plugins               int
	dbBytes, walBytes     int64
	logRows, outboxRows   int64
	notified              int64
}

func (s soakSample) rss() int64    { return s.rssDaemon + s.rssPlugins }
func (s soakSample) fds() int64    { return s.fdsDaemon + s.fdsPlugins }
func (s soakSample) sqlite() int64 { return s.dbBytes + s.walBytes }
func (s soakSample) rows() int64   { return s.logRows + s.outboxRows }

const soakHeader = "elapsed_s\trss_bytes\trss_daemon\trss_plugins\tgoroutines\tfds\tfds_daemon\tfds_plugins\tplugins\tsqlite_bytes\tdb_bytes\twal_bytes\tlog_rows\toutbox_rows\tnotified\n"

func (s soakSample) tsv() string {
	return fmt.Sprintf("%.0f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n",
		s.elapsed.Seconds(), s.rss(), s.rssDaemon, s.rssPlugins, s.goroutines, s.fds(), s.fdsDaemon, s.fdsPlugins,
		s.plugins, s.sqlite(), s.dbBytes, s.walBytes, s.logRows, s.outboxRows, s.notified)
}

// runSoak runs the master under load for -duration (or until ctx ends),
// writes the samples and returns an error when a series is not flat.
func runSoak(ctx context.Context, args []string, out io.Writer) (err error) {
	o, err := parseSoak(args)
	if err != nil {
		return err
	}
	if o.judge != "" {
		return judgeFile(out, o.judge, o)
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "wigo-soak-"); err != nil {
			return fmt.Errorf("work directory: %w", err)
		}
		// Kept when asked and when the soak fails: the master's log and
		// database are the evidence.
		defer func() {
			if o.keep || err != nil {
				fmt.Fprintf(out, "work directory kept: %s\n", dir)
				return
			}
			os.RemoveAll(dir)
		}()
	}
	if err := writeSoakProbes(filepath.Join(dir, "probes"), filepath.Join(dir, "state"), o); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	tsv, err := os.Create(o.out)
	if err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	defer tsv.Close()

	// The notification receiver: counts what the master delivers.
	var notified atomic.Int64
	hookLn, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("notification receiver: %w", err)
	}
	hook := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			notified.Add(1)
		}
	})}
	go func() { _ = hook.Serve(hookLn) }()
	defer hook.Close()

	// The remotes, for the run and a margin: they must outlive the master.
	pullLog, err := os.Create(filepath.Join(dir, "loadgen-pull.log"))
	if err != nil {
		return fmt.Errorf("pull log: %w", err)
	}
	defer pullLog.Close()
	pullCtx, stopPull := context.WithCancel(context.Background())
	pullBlock := filepath.Join(dir, "pull.hcl")
	// pullDone is closed when the pull half returns, pullErr then set.
	pullDone := make(chan struct{})
	var pullErr error
	go func() {
		defer close(pullDone)
		pullErr = runPull(pullCtx, []string{"-n", strconv.Itoa(o.remotes), "-probes", strconv.Itoa(o.remoteProbes),
			"-interval", o.remoteInterval.String(), "-change", strconv.FormatFloat(o.change, 'g', -1, 64),
			"-listen-port", "0", "-config", pullBlock, "-check-interval", o.checkInterval.String(),
			"-settle", "0", "-duration", (o.duration + time.Hour).String(), "-prefix", "soak-remote"}, pullLog)
	}()
	defer func() {
		stopPull()
		<-pullDone
	}()
	block, err := awaitFile(ctx, pullBlock, pullDone, &pullErr, time.Minute)
	if err != nil {
		return err
	}

	port, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`hostname = "soak-master"
group = "soak"
probes_dir = "probes"
probes_config_dir = "conf.d"
plugins_dir = %q
database = "data/wigo.db"
uuid_file = "data/uuid"
log_level = "info"
http {
  address = "127.0.0.1"
  port = %d
}
logs {
  retention_days = %d
}
notify "http" {
  url = "http://%s/hook"
}
%s`, o.plugins, port, o.retentionDays, hookLn.Addr(), block)
	cfgPath := filepath.Join(dir, "wigo.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("master config: %w", err)
	}
	wigoLog, err := os.Create(filepath.Join(dir, "wigo.log"))
	if err != nil {
		return fmt.Errorf("master log: %w", err)
	}
	defer wigoLog.Close()
	daemon := exec.Command(o.wigo, "-c", cfgPath)
	daemon.Stdout, daemon.Stderr = wigoLog, wigoLog
	// The master must not outlive an interrupted soak.
	daemon.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := daemon.Start(); err != nil {
		return fmt.Errorf("start %s: %w", o.wigo, err)
	}
	// exited is closed when the master has exited, exitErr then set.
	exited := make(chan struct{})
	var exitErr error
	go func() {
		defer close(exited)
		exitErr = daemon.Wait()
	}()
	stop := func() error {
		select {
		case <-exited:
			return nil // exited on its own: reported where it was seen
		default:
		}
		_ = daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			if exitErr != nil {
				return fmt.Errorf("master exited with %v after SIGTERM (log: %s)", exitErr, wigoLog.Name())
			}
			return nil
		case <-time.After(30 * time.Second):
			_ = daemon.Process.Kill()
			<-exited
			return fmt.Errorf("master did not stop within 30s of SIGTERM (log: %s)", wigoLog.Name())
		}
	}
	defer func() { _ = stop() }()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := awaitAPI(ctx, base, exited, &exitErr, time.Minute); err != nil {
		return fmt.Errorf("%w (log: %s)", err, wigoLog.Name())
	}
	dbPath := filepath.Join(dir, "data", "wigo.db")
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return fmt.Errorf("open %s: %w", dbPath, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	plugins := o.plugins
	if p, err := filepath.EvalSymlinks(plugins); err == nil {
		plugins = p
	}
	// The plugins start beside the API: sampling starts with both.
	if err := awaitPlugins(ctx, daemon.Process.Pid, plugins, 2, exited, &exitErr, time.Minute); err != nil {
		return fmt.Errorf("%w (log: %s)", err, wigoLog.Name())
	}

	fmt.Fprintf(out, "wigo-loadgen soak: master pid %d, %d probes every %ds, %d remotes × %d probes (check_interval %v), for %v; samples every %v to %s; work dir %s\n",
		daemon.Process.Pid, o.probes, o.probeInterval, o.remotes, o.remoteProbes, o.checkInterval, o.duration, o.sample, o.out, dir)
	if _, err := io.WriteString(tsv, soakHeader); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	began := time.Now()
	client := &http.Client{Timeout: 10 * time.Second}
	var samples []soakSample
	skipped := 0           // samples that could not be taken
	seen := map[int]bool{} // every plugin PID sampled: more than at once means a restart
	tick := time.NewTicker(o.sample)
	defer tick.Stop()
	end := time.NewTimer(o.duration)
	defer end.Stop()
	lastReport := began
loop:
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(out, "interrupted after %v: judging the samples so far\n", time.Since(began).Round(time.Second))
			break loop
		case <-end.C:
			break loop
		case <-exited:
			return fmt.Errorf("master exited during the soak: %v (log: %s)", exitErr, wigoLog.Name())
		case <-tick.C:
			s, pids, err := takeSample(ctx, client, base, daemon.Process.Pid, plugins, dir, db)
			if err != nil {
				if ctx.Err() != nil {
					break loop
				}
				// A master too busy to answer /metrics within the client's
				// timeout once (a shared machine under load) is not a
				// leak: the sample is skipped and said. Many are a failure.
				skipped++
				fmt.Fprintf(out, "sample at %v skipped: %v\n", time.Since(began).Round(time.Second), err)
				if skipped > maxSkipped(len(samples)+skipped) {
					return fmt.Errorf("%d of %d samples could not be taken, the last at %v: %w", skipped, len(samples)+skipped, time.Since(began).Round(time.Second), err)
				}
				continue
			}
			for _, p := range pids {
				seen[p] = true
			}
			s.elapsed = time.Since(began)
			s.notified = notified.Load()
			samples = append(samples, s)
			if _, err := io.WriteString(tsv, s.tsv()); err != nil {
				return fmt.Errorf("-out: %w", err)
			}
			if time.Since(lastReport) >= max(time.Minute, o.sample) || len(samples) == 1 {
				lastReport = time.Now()
				fmt.Fprintf(out, "%6.0fs rss=%s goroutines=%d fds=%d plugins=%d sqlite=%s log_rows=%d outbox_rows=%d notified=%d\n",
					s.elapsed.Seconds(), mb(s.rss()), s.goroutines, s.fds(), s.plugins, mb(s.sqlite()), s.logRows, s.outboxRows, s.notified)
			}
		}
	}
	if skipped > 0 {
		fmt.Fprintf(out, "%d of %d samples skipped (the master did not answer in time)\n", skipped, len(samples)+skipped)
	}
	if err := stop(); err != nil {
		return err
	}
	stopPull()
	<-pullDone
	if pullErr != nil {
		return fmt.Errorf("pull remotes: %w", pullErr)
	}
	if b, err := os.ReadFile(pullLog.Name()); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "window") {
				fmt.Fprintln(out, "remotes:", l)
			}
		}
	}
	most := 0
	for _, s := range samples {
		most = max(most, s.plugins)
	}
	fmt.Fprintf(out, "plugin processes: %d at a time, %d over the run\n", most, len(seen))
	if err := report(out, samples, o); err != nil {
		return err
	}
	// A restarted plugin is a crash, and its new process would hide a leak.
	if len(seen) > most {
		return fmt.Errorf("%d plugin processes over the run for %d at a time: a plugin restarted (log: %s)", len(seen), most, wigoLog.Name())
	}
	return nil
}

// report prints the whole run's range of each series, then the judgement.
func report(out io.Writer, samples []soakSample, o soakOptions) error {
	if len(samples) > 0 {
		fmt.Fprintf(out, "run: %d samples over %v\n", len(samples), samples[len(samples)-1].elapsed.Round(time.Second))
		for _, sr := range append(soakSeries, series{name: "sqlite_bytes", value: soakSample.sqlite}, series{name: "rows", value: soakSample.rows}) {
			lo, hi := sr.value(samples[0]), sr.value(samples[0])
			for _, s := range samples {
				lo, hi = min(lo, sr.value(s)), max(hi, sr.value(s))
			}
			fmt.Fprintf(out, "run %-12s start=%d end=%d min=%d max=%d\n", sr.name, sr.value(samples[0]), sr.value(samples[len(samples)-1]), lo, hi)
		}
	}
	verdicts, err := judgeSoak(samples, o)
	if len(verdicts) > 0 {
		fmt.Fprintf(out, "after warm-up (%.0f %% of the run), a line fitted to each series (slope: Theil–Sen, judged; least squares beside it):\n", 100*o.warmup)
	}
	for _, v := range verdicts {
		fmt.Fprintln(out, v)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "soak: passed (%s rule, %d samples, %d after warm-up)\n", o.rule, len(samples), len(afterWarmup(samples, o.warmup)))
	return nil
}

// judgeFile judges the samples of a TSV written by an earlier run.
func judgeFile(out io.Writer, path string, o soakOptions) error {
	samples, err := readSoakTSV(path)
	if err != nil {
		return err
	}
	return report(out, samples, o)
}

// readSoakTSV reads a TSV in soakHeader's format.
func readSoakTSV(path string) ([]soakSample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-judge: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	want := strings.Split(strings.TrimSpace(soakHeader), "\t")
	if lines[0] != strings.Join(want, "\t") {
		return nil, fmt.Errorf("%s:1: header %q, want %q", path, lines[0], strings.Join(want, "\t"))
	}
	var samples []soakSample
	for i, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != len(want) {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", path, i+2, len(f), len(want))
		}
		v := make([]int64, len(f))
		for j := range f {
			if v[j], err = strconv.ParseInt(f[j], 10, 64); err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", path, i+2, want[j], err)
			}
		}
		// The columns of soakHeader; the sums (rss_bytes, fds,
		// sqlite_bytes) are recomputed from their parts.
		samples = append(samples, soakSample{elapsed: time.Duration(v[0]) * time.Second, rssDaemon: v[2], rssPlugins: v[3],
			goroutines: v[4], fdsDaemon: v[6], fdsPlugins: v[7], plugins: int(v[8]), dbBytes: v[10], walBytes: v[11],
			logRows: v[12], outboxRows: v[13], notified: v[14]})
	}
	return samples, nil
}

func parseSoak(args []string) (soakOptions, error) {
	var o soakOptions
	self, _ := os.Executable()
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.StringVar(&o.wigo, "wigo", filepath.Join(filepath.Dir(self), "wigo"), "master daemon binary")
	fs.StringVar(&o.plugins, "plugins", filepath.Join(filepath.Dir(self), "plugins"), "plugins_dir holding transport-pull and notify-http")
	fs.StringVar(&o.judge, "judge", "", "judge the TSV of an earlier run (with -warmup, -rule, -max-row-bytes) instead of running")
	fs.StringVar(&o.dir, "dir", "", "work directory (config, probes, database, logs); a temporary one when empty")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary work directory (the master's log and database)")
	fs.StringVar(&o.out, "out", filepath.Join("var", "soak", "soak-"+time.Now().UTC().Format("20060102T150405Z")+".tsv"), "TSV of the samples")
	fs.DurationVar(&o.duration, "duration", time.Hour, "length of the run")
	fs.DurationVar(&o.sample, "sample", 10*time.Second, "sampling period")
	fs.Float64Var(&o.warmup, "warmup", 0.5, "share of the run left out of the judgement (caches, pools and the WAL filling up)")
	fs.IntVar(&o.probes, "probes", 200, "local probes")
	fs.IntVar(&o.probeInterval, "probe-interval", 2, "local probes' interval in seconds (the probes_dir subdirectory)")
	fs.IntVar(&o.flipEvery, "flip-every", 150, "each local probe is CRIT for one run in every flip-every (0 = never)")
	fs.IntVar(&o.remotes, "remotes", 1000, "simulated remotes the master pulls")
	fs.IntVar(&o.remoteProbes, "remote-probes", 20, "probes per remote")
	fs.DurationVar(&o.remoteInterval, "remote-interval", 10*time.Second, "how often each remote renews its probe results")
	fs.DurationVar(&o.checkInterval, "check-interval", 10*time.Second, "the master's check_interval for the remotes (whole seconds)")
	fs.Float64Var(&o.change, "change", 0.0005, "share of remote probe statuses changing per renewal")
	fs.IntVar(&o.retentionDays, "retention-days", 1, "the master's logs.retention_days (1 is the shortest: rows older than a day are pruned)")
	fs.StringVar(&o.rule, "rule", "flat", "flat: every series within noise after warm-up; gross: only that sampling works and nothing grows grossly (short runs)")
	fs.Float64Var(&o.maxRowBytes, "max-row-bytes", 2048, "database growth allowed per log or outbox row added after warm-up")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.duration <= 0 || o.sample <= 0 || o.sample > o.duration:
		return o, errors.New("need 0 < -sample <= -duration")
	case o.warmup < 0 || o.warmup >= 1:
		return o, fmt.Errorf("-warmup %v: need 0 <= warmup < 1", o.warmup)
	case o.probes < 0 || o.probes > 100_000 || o.probeInterval < 1 || o.flipEvery < 0:
		return o, errors.New("need 0 <= probes <= 100000, probe-interval >= 1, flip-every >= 0")
	case o.remotes < 1 || o.remoteProbes < 1 || o.remoteInterval <= 0:
		return o, errors.New("need remotes >= 1, remote-probes >= 1, remote-interval > 0")
	case o.checkInterval < time.Second || o.checkInterval%time.Second != 0:
		return o, fmt.Errorf("-check-interval %v: need whole seconds", o.checkInterval)
	case o.retentionDays < 0:
		return o, fmt.Errorf("-retention-days %d: need >= 0", o.retentionDays)
	case o.rule != "flat" && o.rule != "gross":
		return o, fmt.Errorf("-rule %q: need flat or gross", o.rule)
	}
	if o.judge != "" {
		return o, nil
	}
	// The master's config lives in the work directory: its plugins_dir
	// must not be relative to where this command runs.
	var err error
	if o.plugins, err = filepath.Abs(o.plugins); err != nil {
		return o, fmt.Errorf("-plugins: %w", err)
	}
	if _, err := os.Stat(o.wigo); err != nil {
		return o, fmt.Errorf("-wigo: %w (make build puts it in bin/)", err)
	}
	for _, p := range []string{"transport-pull", "notify-http"} {
		if _, err := os.Stat(filepath.Join(o.plugins, p)); err != nil {
			return o, fmt.Errorf("-plugins: %w (make build puts the plugins in bin/plugins/)", err)
		}
	}
	return o, nil
}

// writeSoakProbes writes o.probes shell probes into probesDir/<interval>/.
// Each counts its runs in a file of stateDir (builtins only: a run is one
// sh process, no fork) and reports CRIT for one run in every flip-every,
// at its own phase so the changes are spread over time.
func writeSoakProbes(probesDir, stateDir string, o soakOptions) error {
	dir := filepath.Join(probesDir, strconv.Itoa(o.probeInterval))
	for _, d := range []string{dir, stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("probes: %w", err)
		}
	}
	for i := range o.probes {
		name := fmt.Sprintf("soak%03d", i)
		state := filepath.Join(stateDir, name)
		crit := "false"
		if o.flipEvery > 0 {
			crit = fmt.Sprintf("[ $(( (n + %d) %% %d )) -eq 0 ]", i, o.flipEvery)
		}
		script := fmt.Sprintf(`#!/bin/sh
n=0
read n < %[1]q 2>/dev/null || n=0
n=$((n + 1))
echo "$n" > %[1]q
if %[2]s; then
  echo '{"Status":300,"Message":"soak: critical run"}'
else
  echo '{"Status":100,"Message":"soak: fine"}'
fi
`, state, crit)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			return fmt.Errorf("probes: %w", err)
		}
	}
	return nil
}

// awaitFile waits for path to exist and returns its content; the pull
// half writes it once its remotes answer. done reports the pull half
// ending first (its error in *errp).
func awaitFile(ctx context.Context, path string, done <-chan struct{}, errp *error, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for {
		if b, err := os.ReadFile(path); err == nil {
			return string(b), nil
		}
		select {
		case <-done:
			return "", fmt.Errorf("pull remotes ended before they answered: %v", *errp)
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond): // another goroutine's file: its existence is the signal
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no %s within %v", path, within)
		}
	}
}

// awaitAPI waits until the master answers GET /api.
func awaitAPI(ctx context.Context, base string, exited <-chan struct{}, exitErr *error, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(base + "/api/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("master exited at start: %v", *exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond): // another process: its API is the only window
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("master API %s not up within %v", base, within)
		}
	}
}

// awaitPlugins waits until the daemon has n plugin processes.
func awaitPlugins(ctx context.Context, pid int, pluginsDir string, n int, exited <-chan struct{}, exitErr *error, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		got := len(pluginPIDs(pid, pluginsDir))
		if got >= n {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("master exited at start: %v", *exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond): // another process's children: /proc is the only window
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d plugins running after %v", got, n, within)
		}
	}
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// takeSample measures the master once.
// It also returns the plugin PIDs measured.
// maxSkipped is how many of n samples may fail to be taken before the run
// fails: 3, or 5 % of them in a long run.
func maxSkipped(n int) int { return max(3, n/20) }

func takeSample(ctx context.Context, client *http.Client, base string, pid int, pluginsDir, dir string, db *sql.DB) (soakSample, []int, error) {
	var s soakSample
	var measured []int
	s.rssDaemon = pidRSS(pid)
	if s.rssDaemon == 0 {
		return s, nil, fmt.Errorf("no RSS for the master (pid %d)", pid)
	}
	fds, err := pidFDs(pid)
	if err != nil {
		return s, nil, err
	}
	s.fdsDaemon = fds
	for _, p := range pluginPIDs(pid, pluginsDir) {
		// A plugin may exit between the listing and the reading: it then
		// counts for nothing in this sample.
		if n, err := pidFDs(p); err == nil {
			s.fdsPlugins += n
			s.rssPlugins += pidRSS(p)
			s.plugins++
			measured = append(measured, p)
		}
	}
	if s.goroutines, err = goroutines(ctx, client, base); err != nil {
		return s, nil, err
	}
	s.dbBytes = fileSize(filepath.Join(dir, "data", "wigo.db"))
	s.walBytes = fileSize(filepath.Join(dir, "data", "wigo.db-wal"))
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.QueryRowContext(qctx, "SELECT (SELECT count(*) FROM logs), (SELECT count(*) FROM outbox)").Scan(&s.logRows, &s.outboxRows); err != nil {
		return s, nil, fmt.Errorf("count rows: %w", err)
	}
	return s, measured, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// pidFDs counts the open descriptors of pid.
func pidFDs(pid int) (int64, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("open descriptors of %d: %w", pid, err)
	}
	return int64(len(entries)), nil
}

// pluginPIDs lists the children of parent whose executable lies in
// pluginsDir: the master's plugins, not its short-lived probe runs.
func pluginPIDs(parent int, pluginsDir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		st := string(b)
		f := strings.Fields(st[strings.LastIndexByte(st, ')')+2:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != parent {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && filepath.Dir(exe) == pluginsDir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// goroutines reads go_goroutines from the master's /metrics (the Go
// collector client_golang registers in core/metrics).
func goroutines(ctx context.Context, client *http.Client, base string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "go_goroutines "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("/metrics go_goroutines %q: %w", v, err)
			}
			return int64(n), nil
		}
	}
	return 0, errors.New("/metrics has no go_goroutines")
}

// afterWarmup returns the samples taken after the warm-up share of the
// run.
func afterWarmup(samples []soakSample, warmup float64) []soakSample {
	if len(samples) == 0 {
		return nil
	}
	cut := time.Duration(float64(samples[len(samples)-1].elapsed) * warmup)
	for i, s := range samples {
		if s.elapsed >= cut {
			return samples[i:]
		}
	}
	return nil
}

// fit is a line through a series over time, two ways: least squares
// (slope, resid: reported) and Theil–Sen (robust, noise: judged). Probe
// runs, deliveries and polls come in bursts that show as single-sample
// spikes of goroutines and descriptors; least squares would count them as
// noise and widen the tolerance for a real leak, the median of pairwise
// slopes and the median absolute deviation of the residuals ignore them.
type fit struct {
	n                         int
	first, last, lo, hi, mean float64
	slope                     float64 // least squares, per second
	resid                     float64 // standard deviation of its residuals
	robust                    float64 // Theil–Sen, per second
	noise                     float64 // 1.4826 × MAD of its residuals: a standard deviation for normal noise
	span                      float64 // seconds covered
}

// maxTheilSen caps the points of the Theil–Sen fit (their pairs are
// sorted): a longer window is thinned evenly.
const maxTheilSen = 2000

func lineFit(ts, ys []float64) fit {
	f := fit{n: len(ys)}
	if f.n == 0 {
		return f
	}
	f.first, f.last, f.lo, f.hi = ys[0], ys[f.n-1], ys[0], ys[0]
	var mt, my float64
	for i := range ys {
		mt += ts[i]
		my += ys[i]
		f.lo, f.hi = min(f.lo, ys[i]), max(f.hi, ys[i])
	}
	mt /= float64(f.n)
	my /= float64(f.n)
	f.mean = my
	f.span = ts[f.n-1] - ts[0]
	var stt, sty float64
	for i := range ys {
		stt += (ts[i] - mt) * (ts[i] - mt)
		sty += (ts[i] - mt) * (ys[i] - my)
	}
	if stt > 0 {
		f.slope = sty / stt
	}
	var ss float64
	for i := range ys {
		r := ys[i] - (my + f.slope*(ts[i]-mt))
		ss += r * r
	}
	if f.n > 2 {
		f.resid = math.Sqrt(ss / float64(f.n-2))
	}
	f.robust, f.noise = theilSen(ts, ys)
	return f
}

// theilSen returns the median of the slopes between every pair of points
// and the scaled median absolute deviation of the residuals around the
// line of that slope through the median intercept.
func theilSen(ts, ys []float64) (slope, noise float64) {
	if len(ys) < 2 {
		return 0, 0
	}
	step := max(1, (len(ys)+maxTheilSen-1)/maxTheilSen)
	var tt, yy []float64
	for i := 0; i < len(ys); i += step {
		tt, yy = append(tt, ts[i]), append(yy, ys[i])
	}
	var slopes []float64
	for i := range tt {
		for j := i + 1; j < len(tt); j++ {
			if tt[j] != tt[i] {
				slopes = append(slopes, (yy[j]-yy[i])/(tt[j]-tt[i]))
			}
		}
	}
	slope = medianOf(slopes)
	icept := make([]float64, len(ys))
	for i := range ys {
		icept[i] = ys[i] - slope*ts[i]
	}
	c := medianOf(icept)
	dev := make([]float64, len(ys))
	for i := range ys {
		dev[i] = math.Abs(ys[i] - slope*ts[i] - c)
	}
	return slope, 1.4826 * medianOf(dev)
}

// medianOf sorts v in place and returns its median, 0 for none.
func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// drift is the robustly fitted change over the window.
func (f fit) drift() float64 { return f.robust * f.span }

// flatWithin is the flat rule: the fitted rise over the window is no more
// than three standard deviations of the noise (GC cycles, pools, WAL
// checkpoints, bursts) or floor, whichever is larger. A fall always
// passes.
func (f fit) flatWithin(floor float64) (bool, float64) {
	tol := max(3*f.noise, floor)
	return f.drift() <= tol, tol
}

// series is one judged column.
type series struct {
	name  string
	value func(soakSample) int64
	// floor is the rise always tolerated, from the window's mean: one
	// more goroutine or descriptor is not a leak.
	floor func(mean float64) float64
}

var soakSeries = []series{
	{"rss_bytes", soakSample.rss, func(m float64) float64 { return 0.02 * m }},
	{"goroutines", func(s soakSample) int64 { return s.goroutines }, func(m float64) float64 { return max(5, 0.02*m) }},
	{"fds", soakSample.fds, func(m float64) float64 { return max(5, 0.01*m) }},
}

// judgeSoak applies o.rule to the samples after warm-up and returns one
// line per series, and an error naming the series that failed.
func judgeSoak(samples []soakSample, o soakOptions) ([]string, error) {
	win := afterWarmup(samples, o.warmup)
	if len(win) < 5 {
		return nil, fmt.Errorf("only %d samples after warm-up (of %d): run longer or sample more often", len(win), len(samples))
	}
	ts := make([]float64, len(win))
	for i, s := range win {
		ts[i] = s.elapsed.Seconds()
	}
	col := func(v func(soakSample) int64) []float64 {
		ys := make([]float64, len(win))
		for i, s := range win {
			ys[i] = float64(v(s))
		}
		return ys
	}
	var lines, failed []string
	line := func(name string, f fit, verdict string) {
		lines = append(lines, fmt.Sprintf("%-12s first=%.0f last=%.0f min=%.0f max=%.0f mean=%.0f slope=%.4g/h (least squares %.4g/h, residual sd %.4g) noise_sd=%.4g %s",
			name, f.first, f.last, f.lo, f.hi, f.mean, f.robust*3600, f.slope*3600, f.resid, f.noise, verdict))
	}

	// Sampling works: every sample saw the daemon, a plugin, goroutines
	// and a database.
	for _, s := range samples {
		if s.rssDaemon <= 0 || s.plugins == 0 || s.goroutines <= 0 || s.fdsDaemon <= 0 || s.dbBytes <= 0 {
			return nil, fmt.Errorf("sample at %v incomplete: %+v", s.elapsed.Round(time.Second), s)
		}
	}
	for _, sr := range soakSeries {
		f := lineFit(ts, col(sr.value))
		switch o.rule {
		case "gross":
			// Half the window's start (RSS: all of it) plus a margin:
			// only a climb, not noise, a GC cycle or a pool filling up.
			limit := max(0.5*f.first, 20)
			if sr.name == "rss_bytes" {
				limit = f.first
			}
			verdict := fmt.Sprintf("ok (gross: rise %.4g <= %.4g)", f.drift(), limit)
			if f.drift() > limit {
				verdict = fmt.Sprintf("GROWS (gross: rise %.4g > %.4g)", f.drift(), limit)
				failed = append(failed, sr.name)
			}
			line(sr.name, f, verdict)
		default:
			ok, tol := f.flatWithin(sr.floor(f.mean))
			verdict := fmt.Sprintf("flat (rise %.4g <= %.4g)", f.drift(), tol)
			if !ok {
				verdict = fmt.Sprintf("NOT FLAT (rise %.4g > %.4g)", f.drift(), tol)
				failed = append(failed, sr.name)
			}
			line(sr.name, f, verdict)
		}
	}

	// The database grows by design until retention prunes (logs after
	// retention_days, delivered notifications after a day): it is flat,
	// or its growth is paid for by the rows added.
	size := lineFit(ts, col(soakSample.sqlite))
	rows := lineFit(ts, col(soakSample.rows))
	verdict := "not judged (gross)"
	if o.rule == "flat" {
		ok, tol := size.flatWithin(0.02 * size.mean)
		perRow := math.NaN()
		if rows.drift() > 0 {
			perRow = size.drift() / rows.drift()
		}
		switch {
		case ok:
			verdict = fmt.Sprintf("flat (rise %.4g <= %.4g)", size.drift(), tol)
		case perRow <= o.maxRowBytes:
			verdict = fmt.Sprintf("grows with the rows (%.0f B per row added <= %.0f)", perRow, o.maxRowBytes)
		default:
			verdict = fmt.Sprintf("NOT FLAT (rise %.4g > %.4g, %.0f B per row added > %.0f)", size.drift(), tol, perRow, o.maxRowBytes)
			failed = append(failed, "sqlite_bytes")
		}
	}
	line("sqlite_bytes", size, verdict)
	line("rows", rows, fmt.Sprintf("(log and outbox; %.0f added after warm-up)", rows.drift()))
	if len(failed) > 0 {
		return lines, fmt.Errorf("not flat: %s", strings.Join(failed, ", "))
	}
	return lines, nil
}
