package decide

import (
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

func ack(probe string, status int, sticky bool) event.Event {
	return event.Event{Kind: event.Acknowledged, HostUUID: "u1", Host: "web-1", Probe: probe,
		Ack: &event.Ack{HostUUID: "u1", Host: "web-1", Probe: probe, Status: status, Author: "alice", Sticky: sticky}}
}

func probe(name string, from, to int) event.Event {
	return event.Event{Kind: event.ProbeChanged, HostUUID: "u1", Host: "web-1", Probe: name, OldStatus: from, NewStatus: to}
}

// Each rule of an acknowledgement, as the on-call person relies on it: what
// is held back, what gets through, what ends it.
func TestAcknowledgementRules(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []event.Event
		held   []bool // per event after the first
		ended  []bool
		left   int // acks in force at the end
	}{
		{"same or better is held", []event.Event{ack("disk", 300, false), probe("disk", 300, 200), probe("disk", 200, 300)},
			[]bool{true, true}, []bool{false, false}, 1},
		{"worse gets through and ends it", []event.Event{ack("disk", 300, false), probe("disk", 300, 400), probe("disk", 400, 300)},
			[]bool{false, false}, []bool{true, false}, 0},
		{"sticky: worse gets through, the ack stays", []event.Event{ack("disk", 300, true), probe("disk", 300, 400), probe("disk", 400, 300)},
			[]bool{false, true}, []bool{false, false}, 1},
		{"recovery is notified and ends it", []event.Event{ack("disk", 300, false), probe("disk", 300, 100)},
			[]bool{false}, []bool{true}, 0},
		{"other probes are not muted", []event.Event{ack("disk", 300, false), probe("load", 100, 300)},
			[]bool{false}, []bool{false}, 1},
		{"a host's ack mutes its probes, a probe's recovery does not end it",
			[]event.Event{ack("", 300, false), probe("load", 100, 300), probe("load", 300, 100), probe("disk", 100, 500)},
			[]bool{true, false, false}, []bool{false, false, true}, 0},
		{"a host acknowledged DOWN: DOWN held, UP ends it",
			[]event.Event{ack("", 999, false), {Kind: event.HostDown, HostUUID: "u1", Host: "web-1", NewStatus: 999}, {Kind: event.HostUp, HostUUID: "u1", Host: "web-1", NewStatus: 100}},
			[]bool{true, false}, []bool{false, true}, 0},
		{"removed by hand", []event.Event{ack("disk", 300, false), {Kind: event.AckRemoved, HostUUID: "u1", Host: "web-1", Probe: "disk", Ack: &event.Ack{HostUUID: "u1", Host: "web-1", Probe: "disk"}}, probe("disk", 300, 200)},
			[]bool{false, false}, []bool{false, false}, 0},
		{"a vanished probe ends it", []event.Event{ack("disk", 300, false), {Kind: event.ProbeDisappeared, HostUUID: "u1", Host: "web-1", Probe: "disk"}},
			[]bool{false}, []bool{true}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := New()
			d.Decide(c.events)
			for i, e := range c.events[1:] {
				if got := e.Decision.HeldBack != ""; got != c.held[i] {
					t.Errorf("event %d (%s %d->%d): held %v, want %v", i+1, e.Kind, e.OldStatus, e.NewStatus, got, c.held[i])
				}
				if got := e.Decision.AckEnded != nil; got != c.ended[i] {
					t.Errorf("event %d (%s %d->%d): ended %v, want %v", i+1, e.Kind, e.OldStatus, e.NewStatus, got, c.ended[i])
				}
			}
			if n := len(d.Acks()); n != c.left {
				t.Errorf("%d acks left, want %d", n, c.left)
			}
		})
	}
}

// An acknowledgement given until a time holds nothing back past it: the
// next change gets through and ends it, and the list no longer shows it
// even before that change.
func TestAcknowledgementExpires(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	d := New()
	now := at
	d.SetClock(func() time.Time { return now })
	a := ack("disk", 300, false)
	a.Ack.Expires = at.Add(time.Hour)
	before, after := probe("disk", 300, 200), probe("disk", 200, 300)
	before.Time, after.Time = at.Add(30*time.Minute), at.Add(61*time.Minute)
	events := []event.Event{a, before}
	d.Decide(events)
	if events[1].Decision.HeldBack == "" {
		t.Error("a change within the hour was not held back")
	}
	now = at.Add(61 * time.Minute)
	if n := len(d.Acks()); n != 0 {
		t.Errorf("%d acks listed past their expiry, want none", n)
	}
	events = []event.Event{after}
	d.Decide(events)
	if events[0].Decision.HeldBack != "" || events[0].Decision.AckEnded == nil {
		t.Errorf("a change past the expiry: %+v, want notified and the ack ended", events[0].Decision)
	}
}
