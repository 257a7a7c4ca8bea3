package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/decide"
	"github.com/wigo-project/wigo/core/event"
)

// Clock is where the daemon reads the time that its own schedules (the end
// of silences) run on. Tests pass one they drive by hand (WithClock).
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the time t has come.
	At(t time.Time) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                  { return time.Now() }
func (systemClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// Option changes how New builds a daemon.
type Option func(*options)

type options struct{ clock Clock }

// WithClock makes the daemon read time from c instead of the system clock:
// the state's timestamps, the decisions and the end of silences.
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// runSchedules runs what the decisions schedule in time, until ctx is
// done: it opens the maintenance windows' silences, ends silences (with
// the current state of what they held back), ends the flapping of subjects
// whose changes aged out of the window, restates the children of parents
// that are back, has problems renotified and escalated, and delivers what
// notifiers' quiet hours put off once they end. It wakes for the earliest
// of those, whenever a silence is set, a subject starts flapping or a
// change is put off, and after a reload.
func (d *Daemon) runSchedules(ctx context.Context) {
	for {
		now := d.clock.Now()
		opens := d.openMaintenance(now)
		settled, settles := d.decider.FlapsDue(now)
		if len(settled) > 0 {
			d.state.StopFlapping(settled)
			continue
		}
		behind, graceEnds := d.decider.DependencyDue(now)
		if len(behind) > 0 {
			d.state.Restate(behind, "now that its parent is back")
			continue
		}
		again, escalate, renotifies := d.decider.RenotifyDue(now)
		if len(again) > 0 || len(escalate) > 0 {
			if len(again) > 0 {
				d.state.Renotify(again)
			}
			if len(escalate) > 0 {
				d.state.Escalate(escalate)
			}
			continue
		}
		delays, delaysEnd := d.decider.DelaysDue(now)
		if len(delays) > 0 {
			d.state.DeliverDelayed(delays)
			continue
		}
		due, next := d.decider.Due(now)
		if len(due) > 0 {
			for _, si := range due {
				d.EndSilence(si, "ended")
			}
			continue
		}
		for _, t := range []time.Time{opens, settles, renotifies, graceEnds, delaysEnd} {
			if !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		var wake <-chan time.Time
		if !next.IsZero() {
			wake = d.clock.At(next)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-d.decider.Changed():
		case <-d.reloaded:
		}
	}
}

// EndSilence ends si now (why: "ended", "expired by alice"): its end is
// logged, and what it held back that is not as people last heard is
// notified once, as it is now.
func (d *Daemon) EndSilence(si event.Silence, why string) {
	d.state.EndSilence(si, why, d.decider.Ending)
}

// openMaintenance sets the silences of every maintenance window open at
// now that were not opened yet (by this run or, as the store remembers, a
// previous one: a restart inside a window neither sets its silences twice
// nor opens again one that ended or was expired early), and returns when
// the next window opens.
func (d *Daemon) openMaintenance(now time.Time) (next time.Time) {
	d.mu.Lock()
	windows := d.cfg.Maintenance
	d.mu.Unlock()
	for id, end := range d.opened {
		if !now.Before(end) {
			delete(d.opened, id)
		}
	}
	for _, m := range windows {
		if start, end, open := m.Window.At(now); open {
			for _, si := range maintenanceSilences(m, start, end) {
				if _, done := d.opened[si.ID]; done {
					continue
				}
				d.opened[si.ID] = si.End
				if _, set := d.decider.Silence(si.ID); !set {
					d.state.SetSilence(si, "opened")
				}
			}
		}
		if s, _ := m.Window.Next(now); next.IsZero() || s.Before(next) {
			next = s
		}
	}
	return next
}

// maintenanceSilences are the silences that hold back what m matches from
// start to end: one per host pattern and per group pattern (a host matching
// either is silenced), each limited to m's probe patterns when it has some.
// Their IDs name the window and the occurrence, so a restart or a second
// look finds them instead of making new ones.
func maintenanceSilences(m config.Maintenance, start, end time.Time) []event.Silence {
	type target struct{ host, group string }
	var targets []target
	for _, h := range m.Hosts {
		targets = append(targets, target{host: h})
	}
	for _, g := range m.Groups {
		targets = append(targets, target{group: g})
	}
	if len(targets) == 0 {
		targets = []target{{}}
	}
	probes := m.Probes
	if len(probes) == 0 {
		probes = []string{""}
	}
	comment := fmt.Sprintf("maintenance %q (%s, %s)", m.Name, m.Schedule, m.TimeZone)
	var out []event.Silence
	for _, t := range targets {
		for _, p := range probes {
			out = append(out, event.Silence{
				ID:   fmt.Sprintf("%s.%s.%d", m.Name, start.UTC().Format("20060102T1504Z"), len(out)+1),
				Host: t.host, Group: t.group, Probe: p, Start: start, End: end,
				Author: event.MaintenanceAuthor, Comment: comment, Created: start,
			})
		}
	}
	return out
}

// dependencies are cfg's dependency blocks as the decisions take them.
// checks are the configuration's check blocks, for the decisions.
func checks(cfg *config.Config) []decide.Check {
	out := make([]decide.Check, 0, len(cfg.Checks))
	for _, c := range cfg.Checks {
		out = append(out, decide.Check{Name: c.Name, Probes: c.Probes, Hosts: c.Hosts, Groups: c.Groups,
			Attempts: c.Attempts, RecoveryAttempts: c.RecoveryAttempts})
	}
	return out
}

func dependencies(cfg *config.Config) []decide.Dependency {
	out := make([]decide.Dependency, 0, len(cfg.Dependencies))
	for _, d := range cfg.Dependencies {
		out = append(out, decide.Dependency{Name: d.Name, Hosts: d.Hosts, Groups: d.Groups, Parents: d.Parents})
	}
	return out
}
