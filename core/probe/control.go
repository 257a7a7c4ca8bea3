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

// command is a control for the Run goroutine, which owns the runs.
type command struct {
	run   string
	reply chan error
}

// RunNow starts a run of the probe now, out of its schedule (its next
// scheduled run is unchanged); its result reaches the Sink like any
// other. It fails for an unknown, running, disabled or held probe, and
// when the manager does not run.
func (m *Manager) RunNow(ctx context.Context, name string) error {
	if !m.started.Load() {
		return errors.New("the probes are not running")
	}
	c := command{run: name, reply: make(chan error, 1)}
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
