// Package decide is where the core decides, once, what becomes of each
// change before anyone hears of it: notified, or held back and why. The
// state calls Decide on every batch of events before publishing it; the
// notification pipeline, the log, the websocket and the API read the
// event's Decision and re-derive nothing.
//
// Today it knows acknowledgements: an operator's "I am on it" mutes a
// host's or a probe's notifications while the problem does not get worse
// (Icinga's non-sticky acknowledgement, with sticky as an option).
package decide

import (
	"sort"
	"sync"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// Decider holds what the decisions depend on. Decide runs in the state's
// publishing order (one batch at a time); the other methods may be called
// from anywhere.
type Decider struct {
	mu   sync.Mutex
	acks map[key]event.Ack
	// held counts the changes held back, by reason, since start.
	held map[string]uint64
	// now is the clock the lists are read at; tests replace it.
	now func() time.Time
}

// Stats are the decisions' counters, for /metrics.
type Stats struct {
	// Acks is the number of acknowledgements in force.
	Acks int
	// HeldBack counts the changes not notified since start, by reason
	// (event.Held*).
	HeldBack map[string]uint64
}

// key names an acknowledged host (probe "") or probe. Hosts are keyed by
// UUID (their name may change), by name only when they have none.
type key struct{ host, probe string }

func hostKey(uuid, name string) string {
	if uuid != "" {
		return uuid
	}
	return name
}

func ackKey(a event.Ack) key { return key{hostKey(a.HostUUID, a.Host), a.Probe} }

// New returns a Decider with no acknowledgements.
func New() *Decider {
	return &Decider{acks: map[key]event.Ack{}, held: map[string]uint64{}, now: time.Now}
}

// SetClock replaces the clock the lists are read at (tests).
func (d *Decider) SetClock(now func() time.Time) {
	d.mu.Lock()
	d.now = now
	d.mu.Unlock()
}

// Stats returns the counters.
func (d *Decider) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := Stats{Acks: len(d.acks), HeldBack: make(map[string]uint64, len(d.held))}
	for r, n := range d.held {
		s.HeldBack[r] = n
	}
	return s
}

// Restore loads the acknowledgements a previous run left in the store.
func (d *Decider) Restore(acks []event.Ack) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range acks {
		d.acks[ackKey(a)] = a
	}
}

// Acks returns the acknowledgements in force, by host then probe: an
// expired one is not, even before the next change of its subject ends it.
func (d *Decider) Acks() []event.Ack {
	d.mu.Lock()
	now := d.now()
	out := make([]event.Ack, 0, len(d.acks))
	for _, a := range d.acks {
		if !a.Expired(now) {
			out = append(out, a)
		}
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Probe < out[j].Probe
	})
	return out
}

// Ack returns the acknowledgement of host (by UUID, or name when it has
// none) or of its probe (probe "" for the host's own).
func (d *Decider) Ack(hostUUID, host, probe string) (event.Ack, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.acks[key{hostKey(hostUUID, host), probe}]
	return a, ok
}

// Decide sets the Decision of each event, in order, and applies the events
// that change what it holds (an acknowledgement given, removed or ended).
func (d *Decider) Decide(events []event.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range events {
		d.decide(&events[i])
		if r := events[i].Decision.HeldBack; r != "" {
			d.held[r]++
		}
	}
}

func (d *Decider) decide(e *event.Event) {
	hk := hostKey(e.HostUUID, e.Host)
	switch e.Kind {
	case event.Acknowledged:
		if e.Ack != nil {
			d.acks[ackKey(*e.Ack)] = *e.Ack
		}
	case event.AckRemoved:
		if e.Ack != nil {
			delete(d.acks, ackKey(*e.Ack))
		}
	case event.ProbeChanged, event.ProbeAppeared:
		if a, ok := d.acks[key{hk, e.Probe}]; ok {
			d.judge(e, a, true)
		} else if a, ok := d.acks[key{hk, ""}]; ok {
			d.judge(e, a, false)
		}
	case event.ProbeDisappeared:
		if a, ok := d.acks[key{hk, e.Probe}]; ok {
			d.end(e, a)
		}
	case event.HostDown:
		if a, ok := d.acks[key{hk, ""}]; ok {
			d.judge(e, a, true)
		}
	case event.HostUp:
		if a, ok := d.acks[key{hk, ""}]; ok && a.Status >= model.StatusDown {
			d.end(e, a)
		}
	case event.HostRemoved:
		for k, a := range d.acks {
			if k.host == hk {
				delete(d.acks, k)
				if k.probe == "" {
					e.Decision.AckEnded = &a
				}
			}
		}
	}
}

// judge applies acknowledgement a to change e: a recovery to OK is notified
// and, when a is about e's own subject (own), ends it; a worse status than
// a's gets through and ends it unless sticky; anything else is held back.
func (d *Decider) judge(e *event.Event, a event.Ack, own bool) {
	switch {
	case a.Expired(e.Time):
		// Past its time it holds nothing back, and the change says it
		// ended.
		d.end(e, a)
	case e.NewStatus <= model.StatusOK:
		if own {
			d.end(e, a)
		}
	case e.NewStatus > a.Status:
		if !a.Sticky {
			d.end(e, a)
		}
	default:
		e.Decision.HeldBack = event.HeldAcknowledged
		e.Decision.Reason = "acknowledged by " + a.Author
		if a.Comment != "" {
			e.Decision.Reason += ": " + a.Comment
		}
	}
}

func (d *Decider) end(e *event.Event, a event.Ack) {
	delete(d.acks, ackKey(a))
	e.Decision.AckEnded = &a
}
