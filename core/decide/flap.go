package decide

import (
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// flap is what flap detection keeps of one host (probe "") or probe: the
// times of its status changes within the window.
type flap struct {
	subject  event.Pending // Notified: the status notified when it started flapping
	changes  []time.Time
	flapping bool
	// settled is set by FlapsDue when the subject stopped flapping for want
	// of changes, until its flapping_stopped event is decided.
	settled bool
}

// SetFlapping sets flap detection's window and threshold (0 turns it off):
// a subject whose status changed more than threshold times within window
// flaps until fewer than half as many changes remain within it.
func (d *Decider) SetFlapping(window time.Duration, threshold int) {
	d.mu.Lock()
	d.flapWindow, d.flapThreshold = window, threshold
	d.mu.Unlock()
}

// recent drops the changes older than the window at t.
func (d *Decider) recent(f *flap, t time.Time) {
	cut := t.Add(-d.flapWindow)
	i := 0
	for i < len(f.changes) && !f.changes[i].After(cut) {
		i++
	}
	f.changes = f.changes[i:]
}

// settled reports whether n changes within the window end flapping.
func (d *Decider) settled(n int) bool { return 2*n < d.flapThreshold }

// flapOf counts change e and decides what flapping makes of it, when
// nothing else held it back: the change that crosses the threshold is
// notified as the start, the ones after are held back, the one that
// brings the count under half is notified as the end.
func (d *Decider) flapOf(e *event.Event) {
	if d.flapThreshold <= 0 {
		return
	}
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	f := d.flaps[k]
	if f == nil {
		f = &flap{subject: event.Pending{HostUUID: e.HostUUID, Host: e.Host, Group: e.Group, Probe: e.Probe}}
		d.flaps[k] = f
	}
	d.recent(f, e.Time)
	if len(f.changes) > d.flapThreshold {
		// The newest threshold+1 changes decide both the start and the
		// end (older ones leave the window first): keep no more.
		f.changes = f.changes[:copy(f.changes, f.changes[len(f.changes)-d.flapThreshold:])]
	}
	f.changes = append(f.changes, e.Time)
	n := len(f.changes)
	switch {
	case !f.flapping && n > d.flapThreshold:
		f.flapping = true
		d.wake() // its end is now one of the times to wait for
		if e.Decision.HeldBack == "" {
			f.subject.Notified = e.NewStatus
			e.Decision.Flapping = event.FlapStarted
			e.Decision.Reason = fmt.Sprintf("started flapping: %d changes in %s", n, d.flapWindow)
		}
	case f.flapping && d.settled(n):
		f.flapping = false
		if e.Decision.HeldBack == "" {
			e.Decision.Flapping = event.FlapStopped
		}
	case f.flapping && e.Decision.HeldBack == "":
		e.Decision.HeldBack = event.HeldFlapping
		e.Decision.Reason = fmt.Sprintf("flapping: %d changes in %s", n, d.flapWindow)
	}
}

// stopFlapping decides a flapping_stopped event, made when a subject's
// changes aged out of the window without a new one (FlapsDue): notified
// once, as the end; held back as unchanged if its end was already told.
func (d *Decider) stopFlapping(e *event.Event) {
	f := d.flaps[key{hostKey(e.HostUUID, e.Host), e.Probe}]
	if f == nil || !f.settled {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "not flapping"
		return
	}
	f.settled = false
	e.OldStatus = f.subject.Notified
	e.Decision.Flapping = event.FlapStopped
}

// FlapsDue returns the subjects that stop flapping at t for want of new
// changes (they no longer flap from now on; their flapping_stopped event
// tells it), and when the next one will (zero when none flaps). Subjects
// with no change left within the window are forgotten.
func (d *Decider) FlapsDue(t time.Time) (due []event.Pending, next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, f := range d.flaps {
		d.recent(f, t)
		if !f.flapping {
			if len(f.changes) == 0 && !f.settled {
				delete(d.flaps, k)
			}
			continue
		}
		if d.settled(len(f.changes)) {
			f.flapping, f.settled = false, true
			due = append(due, f.subject)
			continue
		}
		// It settles once enough of the oldest changes leave the window.
		stay := (d.flapThreshold - 1) / 2
		at := f.changes[len(f.changes)-stay-1].Add(d.flapWindow)
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	sortSubjects(due)
	return due, next
}

// Flapping returns the subjects flapping now, by host then probe.
func (d *Decider) Flapping() []event.Pending {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []event.Pending
	for _, f := range d.flaps {
		if f.flapping {
			out = append(out, f.subject)
		}
	}
	sortSubjects(out)
	return out
}

// RestoreChanges replays the changes a previous run logged within the
// window (oldest first, each with the status it went to), so that a
// restart neither forgets a flapping subject nor announces it again, and
// its end is told from the status its start was told at.
func (d *Decider) RestoreChanges(changes []event.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range changes {
		e := changes[i]
		e.Decision = event.Decision{HeldBack: "restored"}
		k := key{hostKey(e.HostUUID, e.Host), e.Probe}
		was := d.flaps[k] != nil && d.flaps[k].flapping
		d.flapOf(&e)
		if f := d.flaps[k]; f != nil && f.flapping && !was {
			f.subject.Notified = e.NewStatus
		}
	}
}
