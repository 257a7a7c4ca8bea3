package decide

import (
	"fmt"
	"sort"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// problem is a host (probe "") or probe left at a problem by the last
// change people were told of: what renotify repeats.
type problem struct {
	subject event.Pending // Notified: the status notified
	since   time.Time
	// next is, per notifier instance with a renotify interval, when it is
	// told again.
	next map[string]time.Time
}

// SetRenotify sets the renotify interval of each notifier instance that
// has one (renotify_every): an unresolved problem that nobody
// acknowledged, silenced or that flaps is notified again to it at that
// interval.
func (d *Decider) SetRenotify(every map[string]time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.renotify = map[string]time.Duration{}
	for in, iv := range every {
		if iv > 0 {
			d.renotify[in] = iv
		}
	}
	for _, p := range d.problems {
		d.schedule(p, p.since)
	}
}

// schedule sets p's next times from t, for every instance with an interval.
func (d *Decider) schedule(p *problem, t time.Time) {
	p.next = make(map[string]time.Time, len(d.renotify))
	for in, iv := range d.renotify {
		p.next[in] = t.Add(iv)
	}
}

// RestoreProblems makes the subjects a restart found at a problem open
// problems, as if just notified at t: a restart neither renotifies at once
// nor forgets them.
func (d *Decider) RestoreProblems(subjects []event.Pending, t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range subjects {
		p := &problem{subject: s, since: t}
		d.schedule(p, t)
		d.problems[key{hostKey(s.HostUUID, s.Host), s.Probe}] = p
	}
}

// track keeps the open problems up to date with a change people were told
// of (e not held back).
func (d *Decider) track(e *event.Event) {
	if e.Decision.HeldBack != "" {
		return
	}
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	open := e.NewStatus > model.StatusOK
	switch e.Kind {
	case event.ProbeDisappeared, event.HostUp:
		open = false
	case event.HostDown:
		open = true
	}
	if !open {
		delete(d.problems, k)
		return
	}
	p := &problem{subject: event.Pending{HostUUID: e.HostUUID, Host: e.Host, Group: e.Group, Probe: e.Probe, Notified: e.NewStatus}, since: e.Time}
	d.schedule(p, e.Time)
	d.problems[k] = p
}

// RenotifyDue returns the problems some instance is to hear of again at t,
// and when the next one is (zero when none).
func (d *Decider) RenotifyDue(t time.Time) (due []event.Pending, next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.problems {
		isDue := false
		for _, at := range p.next {
			if !t.Before(at) {
				isDue = true
			} else if next.IsZero() || at.Before(next) {
				next = at
			}
		}
		if isDue {
			due = append(due, p.subject)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if due[i].Host != due[j].Host {
			return due[i].Host < due[j].Host
		}
		return due[i].Probe < due[j].Probe
	})
	return due, next
}

// renotifyOf decides a renotify event: for the instances whose time has
// come (Decision.To), unless the problem is acknowledged, silenced or
// flapping now (held back; their next time moves on all the same) or gone.
func (d *Decider) renotifyOf(e *event.Event) {
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	p := d.problems[k]
	if p == nil || e.NewStatus <= model.StatusOK && e.Probe != "" {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "no longer a problem"
		return
	}
	var to []string
	for in, at := range p.next {
		if !e.Time.Before(at) {
			to = append(to, in)
			for !e.Time.Before(at) {
				at = at.Add(d.renotify[in])
			}
			p.next[in] = at
		}
	}
	if len(to) == 0 {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "not due"
		return
	}
	sort.Strings(to)
	e.OldStatus = p.subject.Notified
	switch {
	case d.ackHolds(k):
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "acknowledged"
	case d.flapping(k):
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "flapping"
	default:
		if s, ok := d.silencing(e.Host, e.Group, e.Probe, e.Time); ok {
			e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "silenced by "+s.ID
			return
		}
		e.Decision.To = to
		e.Message += fmt.Sprintf(", a problem since %s", p.since.UTC().Format(time.RFC3339))
	}
}

// ackHolds reports whether an acknowledgement in force covers subject k
// (its own, or its host's).
func (d *Decider) ackHolds(k key) bool {
	for _, ak := range []key{k, {k.host, ""}} {
		if a, ok := d.acks[ak]; ok && !a.Expired(d.now()) {
			return true
		}
	}
	return false
}

func (d *Decider) flapping(k key) bool {
	f := d.flaps[k]
	return f != nil && f.flapping
}
