package probe

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/model"
)

// Defaults for the zero values of Options.
const (
	// DefaultMaxOutput caps a probe's stdout: a result is a few KiB, so a
	// megabyte is a probe gone wrong, not a big result.
	DefaultMaxOutput = 1 << 20
	// DefaultRescan is the safety-net full rescan period.
	DefaultRescan = 60 * time.Second
)

// rescanDelay coalesces a burst of file-system events (a package install
// creating twenty links) into one rescan.
const rescanDelay = 50 * time.Millisecond

// Sink receives what the Manager learns. Its methods are called from the
// Manager's single scheduling goroutine, in order, never concurrently and
// never with the Manager's lock held (so they may call Probes). They should
// return quickly: while a Sink call runs, no probe is started.
type Sink interface {
	// ProbeResult is called after every completed run, successful or not:
	// a failed run is a Status 500 result whose Message says why.
	ProbeResult(r *model.ProbeResult)
	// ProbeRemoved is called when a probe is gone: its file or directory
	// was removed, or it exited with ExitRemove (13). Its result should be
	// dropped.
	ProbeRemoved(name string)
}

// DisableSink may be implemented by a Sink that wants to know when a probe
// disables itself (exit code ExitDisable or ExitRemove). For ExitRemove,
// ProbeRemoved follows.
type DisableSink interface {
	// ProbeDisabled is called once when the probe exits with exitCode 12
	// or 13; the probe is not run again until the daemon restarts.
	ProbeDisabled(name string, exitCode int)
}

// Options configures a Manager.
type Options struct {
	// Dir is the probes directory holding Dir/<seconds>/NAME.
	Dir string
	// ConfigDir is passed to probes as WIGO_PROBE_CONFIG_ROOT.
	ConfigDir string
	// Timeout bounds each run. Zero means the probe's interval minus one
	// second; either way at least one second.
	Timeout time.Duration
	// MaxOutput caps stdout; a probe printing more is killed and reported
	// as failed. Zero means DefaultMaxOutput (1 MiB).
	MaxOutput int
	// Rescan is how often the whole directory is rescanned as a safety net
	// for changes inotify does not report (a symlink target made
	// executable, a watch limit reached). Zero means DefaultRescan.
	Rescan time.Duration
	// Logger receives every log line, with "probe", "interval" and "err"
	// keys. Nil means hclog.Default().
	Logger hclog.Logger
	// Sink receives results and removals. Nil discards them.
	Sink Sink
	// Previous names the probes whose last results the sink holds from a
	// previous run of the daemon (restored from its database). Those that
	// the first complete scan does not find were deleted while the daemon
	// was stopped: they are removed through the sink (ProbeRemoved), as if
	// deleted while it ran, instead of showing their old status forever.
	Previous []string
	// Holds are the operators' holds a previous run left (Disable), with
	// their ends; those already over are ended at start.
	Holds []Hold
	// OnHold, when set, is told of every hold set (on) or ended (on
	// false: by Enable or by its end), to keep them across restarts.
	OnHold func(h Hold, on bool)
	// Now and At are the clock holds end on (the daemon's, which tests
	// move); probe runs keep the system clock. Default: the system clock.
	Now func() time.Time
	At  func(t time.Time) <-chan time.Time
}

// Scheduled describes one known probe, for the API and the UI.
type Scheduled struct {
	Name string
	// Interval is what it runs at: its Override's when it has one, else
	// its directory's (DirInterval).
	Interval    time.Duration
	DirInterval time.Duration
	// Override is an operator's change of its interval, nil without one.
	Override *Override
	// Path is the entry in the probes directory (Dir/<seconds>/NAME), not
	// the symlink's target.
	Path string
	// Next is when the next run is due; zero when disabled.
	Next time.Time
	// LastRun is when the last run started; zero before the first.
	LastRun time.Time
	// LastDuration is how long the last finished run took.
	LastDuration time.Duration
	// Running is true while a run is in progress.
	Running bool
	// Disabled is true after the probe exited with ExitDisable or
	// ExitRemove; it stays disabled until the daemon restarts.
	Disabled bool
	// DisabledBy is the exit code that disabled it (12 or 13).
	DisabledBy int
	// Hold is an operator's disabling (Disable), nil without one.
	Hold *Hold
}

// Manager discovers, schedules and runs probes. Create it with New, start it
// with Run; Probes and SetDirs are safe from any goroutine.
type Manager struct {
	opts    Options
	log     hclog.Logger
	sink    Sink
	started atomic.Bool
	reload  chan struct{}
	cmds    chan command
	wake    chan struct{}

	mu        sync.Mutex
	dir       string
	configDir string
	env       []string
	entries   map[string]*entry
	// disabled outlives entries: a probe that disabled itself stays
	// disabled even if its file is removed and put back, until restart.
	disabled map[string]int
	// holds are the operators' (Disable), by probe name.
	holds map[string]Hold

	// Owned by the Run goroutine.
	sched     schedHeap
	inflight  int
	problems  map[string]bool
	dupLogged map[string]string
	rootErr   string
	// previous is Options.Previous until a complete scan has used it.
	previous []string
}

// entry is one known probe. Fields read by Probes are guarded by Manager.mu.
type entry struct {
	name         string
	path         string
	interval     time.Duration
	offset       time.Duration
	next         time.Time
	index        int // position in Manager.sched, -1 when not scheduled
	running      bool
	cancel       context.CancelFunc
	lastRun      time.Time
	lastDuration time.Duration
	lastFailure  string
	disabled     int
	// override is the operator's interval (SetInterval), nil without.
	override *Override
}

// every is the interval e runs at.
func (e *entry) every() time.Duration {
	if e.override != nil {
		return e.override.Interval
	}
	return e.interval
}

// finished is a run reporting back to the Run goroutine.
type finished struct {
	e   *entry
	out runOutcome
}

// note is a Sink call, queued under the lock and delivered after it.
type note struct {
	result   *model.ProbeResult
	removed  string
	disabled string
	code     int
}

// New returns a Manager; nothing runs until Run.
func New(opts Options) *Manager {
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = DefaultMaxOutput
	}
	if opts.Rescan <= 0 {
		opts.Rescan = DefaultRescan
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.At == nil {
		opts.At = func(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }
	}
	log := opts.Logger
	if log == nil {
		log = hclog.Default()
	}
	sink := opts.Sink
	if sink == nil {
		sink = nopSink{}
	}
	return &Manager{
		opts:      opts,
		log:       log,
		sink:      sink,
		reload:    make(chan struct{}, 1),
		cmds:      make(chan command),
		wake:      make(chan struct{}, 1),
		holds:     holdsByName(opts.Holds),
		dir:       absDir(opts.Dir),
		configDir: opts.ConfigDir,
		env:       buildEnv(opts.ConfigDir),
		entries:   map[string]*entry{},
		disabled:  map[string]int{},
		problems:  map[string]bool{},
		dupLogged: map[string]string{},
		previous:  slices.Clone(opts.Previous),
	}
}

// SetDirs switches the probes and config directories (SIGHUP reload). Probes
// present under both the old and the new directory keep their schedule and
// their results (no ProbeRemoved); the others are removed or discovered as
// usual. New runs see the new WIGO_PROBE_CONFIG_ROOT.
func (m *Manager) SetDirs(dir, configDir string) {
	dir = absDir(dir)
	m.mu.Lock()
	changed := dir != m.dir || configDir != m.configDir
	m.dir = dir
	if configDir != m.configDir {
		m.configDir = configDir
		m.env = buildEnv(configDir)
	}
	m.mu.Unlock()
	if changed {
		select {
		case m.reload <- struct{}{}:
		default: // a reload is already pending; it will read the new values
		}
	}
}

// Probes lists every known probe, disabled ones included, sorted by name.
func (m *Manager) Probes() []Scheduled {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Scheduled, 0, len(m.entries))
	for _, e := range m.entries {
		s := Scheduled{
			Name:         e.name,
			Interval:     e.every(),
			DirInterval:  e.interval,
			Path:         e.path,
			LastRun:      e.lastRun,
			LastDuration: e.lastDuration,
			Running:      e.running,
			Disabled:     e.disabled != 0,
			DisabledBy:   e.disabled,
		}
		if e.index >= 0 {
			s.Next = e.next
		}
		if e.override != nil {
			o := *e.override
			s.Override = &o
		}
		if h, ok := m.holds[e.name]; ok {
			s.Hold = &h
			s.Next = h.Until // runs again then (zero: when enabled)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Run discovers and runs probes until ctx is done. It returns nil on a
// normal shutdown, after every running probe's process group has been
// killed and reaped; results of runs cut short by the shutdown are dropped.
// It returns an error only if it cannot start (no Dir, called twice).
func (m *Manager) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("probe: Manager.Run called more than once")
	}
	m.mu.Lock()
	dir := m.dir
	m.mu.Unlock()
	if dir == "" {
		return errors.New("probe: Options.Dir is empty")
	}

	// Inotify is an optimisation: without it (watch limit, no inotify)
	// the periodic rescan still finds everything, just later.
	w, err := fsnotify.NewWatcher()
	var events <-chan fsnotify.Event
	var watchErrs <-chan error
	if err != nil {
		m.log.Warn("cannot watch the probes directory; relying on periodic rescans", "err", err, "rescan", m.opts.Rescan)
	} else {
		defer w.Close()
		events, watchErrs = w.Events, w.Errors
	}
	watched := map[string]bool{}

	// Runs hang off their own context so shutdown can cancel them and then
	// still wait for them here.
	runCtx, cancelRuns := context.WithCancel(context.Background())
	defer cancelRuns()
	done := make(chan finished)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	debouncing := false
	rescanTick := time.NewTicker(m.opts.Rescan)
	defer rescanTick.Stop()

	requestRescan := func() {
		if !debouncing {
			debouncing = true
			debounce.Reset(rescanDelay)
		}
	}
	rescan := func(rewatch bool) {
		m.mu.Lock()
		dir := m.dir
		m.mu.Unlock()
		res := scan(dir)
		m.deliver(m.apply(dir, res, time.Now()))
		if w != nil && res.rootErr == nil {
			if m.syncWatches(w, watched, dir, res.dirs, rewatch) {
				// Files created between listing a directory and watching it
				// produced no event: look once more now that it is watched.
				requestRescan()
			}
		}
	}

	rescan(false)
	for {
		m.mu.Lock()
		ended, holdEnds := m.expireHolds(m.opts.Now())
		for _, h := range ended {
			// Back at once, with a fresh result.
			if e := m.entries[h.Probe]; e != nil && !e.running && e.disabled == 0 {
				m.start(runCtx, done, e, time.Now())
			}
		}
		var wakeAt time.Time
		if len(m.sched) > 0 {
			wakeAt = m.sched[0].next
		}
		m.mu.Unlock()
		var holdEnd <-chan time.Time
		if !holdEnds.IsZero() {
			holdEnd = m.opts.At(holdEnds)
		}
		for _, h := range ended {
			m.log.Info("probe enabled: its hold ended", "probe", h.Probe, "reason", h.Reason, "until", h.Until)
			if m.opts.OnHold != nil {
				m.opts.OnHold(h, false)
			}
		}
		if !wakeAt.IsZero() {
			timer.Reset(time.Until(wakeAt))
		} else {
			timer.Stop()
		}
		select {
		case <-holdEnd:
		case c := <-m.cmds:
			m.mu.Lock()
			var err error
			if c.interval != nil {
				err = m.changeInterval(c.interval, time.Now())
			} else {
				err = m.runNow(runCtx, done, c.run, time.Now())
			}
			m.mu.Unlock()
			c.reply <- err
		case <-m.wake:
		case <-ctx.Done():
			cancelRuns()
			for m.inflight > 0 {
				m.finish(<-done, true)
			}
			return nil
		case <-timer.C:
			m.runDue(runCtx, done, time.Now())
		case f := <-done:
			m.deliver(m.finish(f, false))
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				if watched[ev.Name] {
					// The kernel dropped the watch with the directory; forget
					// it so a directory recreated at that path is watched again.
					delete(watched, ev.Name)
					_ = w.Remove(ev.Name)
				}
			}
			if ev.Op == fsnotify.Write {
				continue // content changes do not change what runs
			}
			requestRescan()
		case err, ok := <-watchErrs:
			if !ok {
				watchErrs = nil
				continue
			}
			// Typically an event queue overflow: events were lost.
			m.log.Warn("probes directory watch error; rescanning", "err", err)
			requestRescan()
		case <-debounce.C:
			debouncing = false
			rescan(false)
		case <-rescanTick.C:
			rescan(true)
		case <-m.reload:
			m.mu.Lock()
			m.log.Info("probes directories changed", "dir", m.dir, "config_dir", m.configDir)
			m.mu.Unlock()
			rescan(true)
		}
	}
}

// syncWatches watches dir and every interval directory, stops watching the
// ones gone, and says whether a new watch was added. With refresh it also
// re-adds existing watches (a no-op for a live watch), which re-arms one the
// kernel dropped without an event reaching us.
func (m *Manager) syncWatches(w *fsnotify.Watcher, watched map[string]bool, dir string, dirs []string, refresh bool) bool {
	want := map[string]bool{dir: true}
	for _, d := range dirs {
		want[d] = true
	}
	for p := range watched {
		if !want[p] {
			_ = w.Remove(p)
			delete(watched, p)
		}
	}
	added := false
	for p := range want {
		if watched[p] && !refresh {
			continue
		}
		if err := w.Add(p); err != nil {
			m.log.Debug("cannot watch directory; periodic rescans will cover it", "dir", p, "err", err)
			delete(watched, p)
			continue
		}
		if !watched[p] {
			watched[p] = true
			added = true
		}
	}
	return added
}

// apply reconciles the known probes with a scan of dir.
func (m *Manager) apply(dir string, res scanResult, now time.Time) []note {
	if res.rootErr != nil {
		// Unreadable (permissions, I/O): keep everything as it is rather
		// than report every probe removed.
		if msg := res.rootErr.Error(); msg != m.rootErr {
			m.rootErr = msg
			m.log.Error("cannot list probes directory; keeping current probes", "dir", dir, "err", res.rootErr)
		}
		return nil
	}
	m.rootErr = ""
	seen := make(map[string]bool, len(res.problems))
	for k, p := range res.problems {
		seen[k] = true
		if !m.problems[k] {
			m.log.Warn(p.msg, p.kv...)
		}
	}
	m.problems = seen

	m.mu.Lock()
	defer m.mu.Unlock()
	var notes []note
	dups := map[string]string{}
	for name, c := range res.probes {
		if len(c.also) > 0 {
			sig := fmt.Sprint(c.interval, c.also)
			dups[name] = sig
			if m.dupLogged[name] != sig {
				m.log.Warn("probe is linked in several interval directories; it runs once, at the smallest interval",
					"probe", name, "interval", c.interval, "ignored_intervals", c.also, "path", c.path)
			}
		}
		e, ok := m.entries[name]
		if !ok {
			e = &entry{name: name, path: c.path, interval: c.interval, index: -1, disabled: m.disabled[name]}
			m.entries[name] = e
			if e.disabled != 0 {
				m.log.Info("probe found again but stays disabled until restart", "probe", name, "interval", c.interval, "exit_code", e.disabled)
				continue
			}
			m.schedule(e, now)
			m.log.Info("probe discovered", "probe", name, "interval", c.interval, "path", c.path, "first_run", e.next.Sub(now).Round(time.Millisecond))
			continue
		}
		if e.path != c.path {
			m.log.Info("probe moved", "probe", name, "interval", c.interval, "path", c.path, "old_path", e.path)
			e.path = c.path
		}
		if e.interval != c.interval {
			m.log.Info("probe interval changed", "probe", name, "interval", c.interval, "old_interval", e.interval)
			e.interval = c.interval
			if e.disabled == 0 && e.override == nil {
				m.schedule(e, now)
			}
		}
	}
	m.dupLogged = dups

	for name, e := range m.entries {
		if _, ok := res.probes[name]; ok || res.unreadable[filepath.Dir(e.path)] {
			continue
		}
		delete(m.entries, name)
		if e.index >= 0 {
			heap.Remove(&m.sched, e.index)
		}
		if e.cancel != nil {
			e.cancel() // kill the run; its result would describe a probe that is gone
		}
		m.log.Info("probe removed", "probe", name, "interval", e.interval, "path", e.path)
		if e.disabled != ExitRemove { // exit 13 already removed its result
			notes = append(notes, note{removed: name})
		}
	}
	// A probe of the previous run is judged on a scan that listed every
	// interval directory: one it could not read may still hold it.
	if m.previous != nil && len(res.unreadable) == 0 {
		for _, name := range m.previous {
			if _, ok := res.probes[name]; !ok {
				m.log.Info("probe of the previous run is gone; removing its result", "probe", name)
				notes = append(notes, note{removed: name})
			}
		}
		m.previous = nil
	}
	return notes
}

// schedule (re)computes e's phase and first run and puts it in the heap.
// Called with m.mu held.
func (m *Manager) schedule(e *entry, now time.Time) {
	e.offset = phase(e.name, e.every())
	e.next = firstRun(now, e.every(), e.offset)
	m.place(e)
}

// reschedule moves e to its grid of its current interval (an override set
// or cleared): its next run is the first slot after now. Called with m.mu
// held.
func (m *Manager) reschedule(e *entry, now time.Time) {
	e.offset = phase(e.name, e.every())
	e.next = slotAfter(now, e.every(), e.offset)
	m.place(e)
}

// place puts e in the heap at e.next. Called with m.mu held.
func (m *Manager) place(e *entry) {
	if e.index >= 0 {
		heap.Fix(&m.sched, e.index)
	} else {
		heap.Push(&m.sched, e)
	}
}

// runDue starts every probe whose time has come and schedules its next run.
func (m *Manager) runDue(runCtx context.Context, done chan<- finished, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.sched) > 0 && !m.sched[0].next.After(now) {
		e := m.sched[0]
		if m.heldAt(e.name, m.opts.Now()) {
			// Disabled by an operator: its schedule goes on, unrun.
		} else if e.running {
			// Never two runs at once: this tick is skipped, not queued, so
			// a slow probe cannot build a backlog.
			m.log.Debug("probe still running; skipping this run", "probe", e.name, "interval", e.interval,
				"running_for", now.Sub(e.lastRun).Round(time.Millisecond))
		} else {
			m.start(runCtx, done, e, now)
		}
		e.next = nextRun(e.next, now, e.every(), e.offset)
		heap.Fix(&m.sched, 0)
	}
}

// start launches one run of e. Called with m.mu held.
func (m *Manager) start(runCtx context.Context, done chan<- finished, e *entry, now time.Time) {
	timeout := m.opts.Timeout
	if timeout <= 0 {
		// An override to a longer interval does not give a hung probe
		// longer: the shorter interval bounds the run.
		timeout = min(e.interval, e.every()) - time.Second
	}
	timeout = max(timeout, time.Second)
	spec := runSpec{
		name:      e.name,
		path:      e.path,
		dir:       filepath.Dir(e.path),
		env:       m.env,
		timeout:   timeout,
		maxOutput: m.opts.MaxOutput,
	}
	ctx, cancel := context.WithCancel(runCtx)
	e.running = true
	e.cancel = cancel
	e.lastRun = now
	m.inflight++
	go func() {
		out := run(ctx, spec)
		cancel()
		done <- finished{e, out}
	}()
}

// finish records a run's end and turns it into Sink calls.
func (m *Manager) finish(f finished, shutdown bool) []note {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight--
	e, out := f.e, f.out
	e.running = false
	e.cancel = nil
	e.lastDuration = out.duration
	if shutdown || m.entries[e.name] != e || out.canceled && out.result == nil {
		return nil // shutting down, or the probe was removed while it ran
	}
	iv := e.interval
	switch out.disable {
	case ExitDisable, ExitRemove:
		e.disabled = out.disable
		m.disabled[e.name] = out.disable
		if e.index >= 0 {
			heap.Remove(&m.sched, e.index)
		}
		notes := []note{{disabled: e.name, code: out.disable}}
		if out.disable == ExitRemove {
			m.log.Warn("probe exited with code 13: disabled until restart and its result removed", "probe", e.name, "interval", iv)
			notes = append(notes, note{removed: e.name})
		} else {
			m.log.Warn("probe exited with code 12: disabled until restart, last result kept", "probe", e.name, "interval", iv)
		}
		return notes
	}
	if out.result == nil {
		return nil
	}
	switch {
	case out.failure != "" && out.failure != e.lastFailure:
		m.log.Warn("probe failed", "probe", e.name, "interval", iv, "err", out.failure)
	case out.failure == "" && e.lastFailure != "":
		m.log.Info("probe works again", "probe", e.name, "interval", iv)
	}
	e.lastFailure = out.failure
	m.log.Debug("probe finished", "probe", e.name, "interval", iv, "status", out.result.Status,
		"exit_code", out.exitCode, "duration", out.duration.Round(time.Millisecond))
	return []note{{result: out.result}}
}

// deliver makes the queued Sink calls, outside the lock.
func (m *Manager) deliver(notes []note) {
	for _, n := range notes {
		switch {
		case n.result != nil:
			m.sink.ProbeResult(n.result)
		case n.disabled != "":
			if ds, ok := m.sink.(DisableSink); ok {
				ds.ProbeDisabled(n.disabled, n.code)
			}
		case n.removed != "":
			m.sink.ProbeRemoved(n.removed)
		}
	}
}

// absDir makes dir absolute once, up front: exec resolves a relative
// program path against the child's working directory, which is the
// interval directory, so a relative probes dir would point nowhere.
func absDir(dir string) string {
	if dir == "" {
		return ""
	}
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}

type nopSink struct{}

func (nopSink) ProbeResult(*model.ProbeResult) {}
func (nopSink) ProbeRemoved(string)            {}
