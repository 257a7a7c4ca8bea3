package probe

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Hold is an operator's disabling of a probe: it is not run from Since
// until Until (zero: until enabled again), for Reason, by By. Unlike a
// probe's own exit code 12, a hold is the operator's, and the daemon keeps
// it across restarts (Options.Holds, Options.OnHold).
type Hold struct {
	Probe  string    `json:"probe"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until,omitzero"`
}

// Errors of the probe controls.
var (
	ErrUnknownProbe = errors.New("no such probe")
	ErrRunning      = errors.New("the probe is running")
	ErrSelfDisabled = errors.New("the probe disabled itself (exit code 12 or 13) until the daemon restarts")
	ErrHeld         = errors.New("the probe is disabled: enable it first")
)

// Override is an operator's change of a probe's interval (SetInterval):
// it runs every Interval instead of its directory's, until the override
// is cleared or the daemon restarts. Unlike a Hold it is not kept across
// restarts: a restart is the way back to the directories' schedule.
type Override struct {
	Probe    string
	Interval time.Duration
	By       string
	Since    time.Time
}

// Bounds of an Override's interval.
const (
	MinInterval = time.Second
	MaxInterval = 7 * 24 * time.Hour
)

// errNotOverridden is a ClearInterval on a probe without an override.
var errNotOverridden = errors.New("the probe's interval is not overridden")

// command is a control for the Run goroutine, which owns the runs and
// the schedule: run names a probe to run now; interval, a probe whose
// override changes.
type command struct {
	run      string
	interval *intervalChange
	reply    chan error
}

// intervalChange sets an override (set) or clears probe's (set nil).
type intervalChange struct {
	probe string
	set   *Override
}

// RunNow starts a run of the probe now, out of its schedule (its next
// scheduled run is unchanged); its result reaches the Sink like any
// other. It fails for an unknown, running, disabled or held probe, and
// when the manager does not run.
func (m *Manager) RunNow(ctx context.Context, name string) error {
	return m.do(ctx, command{run: name})
}

// SetInterval has probe o.Probe run every o.Interval from now on, on its
// grid for that interval (its next run within one new interval), until
// ClearInterval or a restart; it replaces an override it has. The run
// timeout stays that of the shorter of the two intervals. It fails for an
// unknown probe, one that disabled itself, and when the manager does not
// run; a held probe keeps its hold, on its new schedule.
func (m *Manager) SetInterval(ctx context.Context, o Override) error {
	if o.Interval < MinInterval || o.Interval > MaxInterval {
		return fmt.Errorf("interval %v: want %v to %v", o.Interval, MinInterval, MaxInterval)
	}
	return m.do(ctx, command{interval: &intervalChange{probe: o.Probe, set: &o}})
}

// ClearInterval ends probe name's override, by by: it runs on its
// directory's interval again, from its next slot there. It reports false
// when the probe had no override.
func (m *Manager) ClearInterval(ctx context.Context, name, by string) (bool, error) {
	err := m.do(ctx, command{interval: &intervalChange{probe: name}})
	if errors.Is(err, errNotOverridden) {
		return false, nil
	}
	if err == nil {
		m.log.Info("probe interval override cleared", "probe", name, "by", by)
	}
	return err == nil, err
}

// do has the Run goroutine carry out c and returns its answer.
func (m *Manager) do(ctx context.Context, c command) error {
	if !m.started.Load() {
		return errors.New("the probes are not running")
	}
	c.reply = make(chan error, 1)
	select {
	case m.cmds <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runNow is RunNow in the Run goroutine, with m.mu held.
func (m *Manager) runNow(runCtx context.Context, done chan<- finished, name string, now time.Time) error {
	e := m.entries[name]
	switch {
	case e == nil:
		return fmt.Errorf("%w: %q", ErrUnknownProbe, name)
	case e.disabled != 0:
		return ErrSelfDisabled
	case m.heldAt(name, m.opts.Now()):
		return ErrHeld
	case e.running:
		return ErrRunning
	}
	m.log.Info("probe run on request", "probe", name)
	m.start(runCtx, done, e, now)
	return nil
}

// changeInterval is SetInterval or ClearInterval in the Run goroutine,
// with m.mu held.
func (m *Manager) changeInterval(c *intervalChange, now time.Time) error {
	e := m.entries[c.probe]
	switch {
	case e == nil:
		return fmt.Errorf("%w: %q", ErrUnknownProbe, c.probe)
	case e.disabled != 0:
		return ErrSelfDisabled
	case c.set == nil && e.override == nil:
		return errNotOverridden
	}
	if c.set != nil {
		m.log.Info("probe interval overridden", "probe", e.name, "interval", c.set.Interval, "directory_interval", e.interval, "by", c.set.By)
	}
	e.override = c.set
	m.reschedule(e, now)
	return nil
}

// Disable holds probe name from now until h.Until (zero: until Enable),
// replacing a hold it has. A run in progress finishes.
func (m *Manager) Disable(h Hold) error {
	m.mu.Lock()
	if m.entries[h.Probe] == nil {
		m.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownProbe, h.Probe)
	}
	m.holds[h.Probe] = h
	m.mu.Unlock()
	m.log.Info("probe disabled", "probe", h.Probe, "reason", h.Reason, "by", h.By, "until", h.Until)
	m.wakeRun()
	if m.opts.OnHold != nil {
		m.opts.OnHold(h, true)
	}
	return nil
}

// Enable ends the hold of probe name, by by, and runs it at once; it
// reports false when the probe was not held.
func (m *Manager) Enable(ctx context.Context, name, by string) (bool, error) {
	m.mu.Lock()
	h, held := m.holds[name]
	delete(m.holds, name)
	m.mu.Unlock()
	if !held {
		return false, nil
	}
	m.log.Info("probe enabled", "probe", name, "by", by)
	if m.opts.OnHold != nil {
		m.opts.OnHold(h, false)
	}
	if err := m.RunNow(ctx, name); err != nil && !errors.Is(err, ErrRunning) {
		return true, err
	}
	return true, nil
}

// Holds lists the holds in force.
func (m *Manager) Holds() []Hold {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Hold, 0, len(m.holds))
	for _, h := range m.holds {
		out = append(out, h)
	}
	return out
}

// heldAt reports whether probe name is held at now. m.mu held.
func (m *Manager) heldAt(name string, now time.Time) bool {
	h, ok := m.holds[name]
	return ok && (h.Until.IsZero() || now.Before(h.Until))
}

// expireHolds ends the holds whose time has come, returning them and when
// the next one ends (zero: none does). m.mu held.
func (m *Manager) expireHolds(now time.Time) (ended []Hold, next time.Time) {
	for name, h := range m.holds {
		switch {
		case h.Until.IsZero():
		case !now.Before(h.Until):
			delete(m.holds, name)
			ended = append(ended, h)
		case next.IsZero() || h.Until.Before(next):
			next = h.Until
		}
	}
	return ended, next
}

// wakeRun makes the Run goroutine look at the holds again (a new end).
func (m *Manager) wakeRun() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func holdsByName(holds []Hold) map[string]Hold {
	m := make(map[string]Hold, len(holds))
	for _, h := range holds {
		m[h.Probe] = h
	}
	return m
}
