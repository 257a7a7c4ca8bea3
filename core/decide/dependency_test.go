package decide

import (
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// A restart within the grace that a parent back gave its children (the
// parent found up, children it held back still waiting) gives them a grace
// from the restart: the ones still waiting are due then, not never; behind
// a parent found DOWN they keep waiting for it.
func TestDependencyRestoredWithinGrace(t *testing.T) {
	for _, tc := range []struct {
		name string
		down []string
		due  int
	}{
		{"parent up", nil, 1},
		{"parent down", []string{"relay-1"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New()
			d.SetDependencies([]Dependency{{Name: "behind-relay", Hosts: []string{"child-*"}, Parents: []string{"relay-1"}}}, time.Minute)
			d.Restore(nil, nil, []event.Pending{
				{HostUUID: "c1", Host: "child-1", Notified: 100},
				{HostUUID: "w1", Host: "web-1", Notified: 100}, // another silence's, not the relay's child
			})
			d.RestoreDown(tc.down, t0)
			if due, _ := d.DependencyDue(t0.Add(59 * time.Second)); len(due) != 0 {
				t.Fatalf("due within the grace: %+v", due)
			}
			due, next := d.DependencyDue(t0.Add(time.Minute))
			if len(due) != tc.due || (tc.due == 1 && due[0].Host != "child-1") || !next.IsZero() {
				t.Errorf("due at the end of the grace: %+v (next %s), want %d of child-1", due, next, tc.due)
			}
		})
	}
}

// A child whose DOWN was heard before its parent went DOWN is an open
// problem; while the parent is DOWN, an interval later, the parent is
// renotified and escalated, the child is not (held back as its changes
// are).
func TestDependencyQuietsRenotify(t *testing.T) {
	d := New()
	d.SetDependencies([]Dependency{{Name: "behind-relay", Hosts: []string{"child-*"}, Parents: []string{"relay-1"}}}, time.Minute)
	d.SetRenotify(map[string]time.Duration{"pager": time.Hour})
	d.SetEscalation(map[string]Escalation{"pager": {After: 30 * time.Minute, To: "oncall", MinLevel: 300}})
	d.RestoreProblems([]event.Problem{
		{Pending: event.Pending{HostUUID: "r1", Host: "relay-1", Notified: 999}, Since: t0},
		{Pending: event.Pending{HostUUID: "c1", Host: "child-1", Notified: 999}, Since: t0},
	})
	d.RestoreDown([]string{"relay-1", "child-1"}, t0)
	again, escalate, _ := d.RenotifyDue(t0.Add(time.Hour))
	if len(again) != 2 || len(escalate) != 2 {
		t.Fatalf("due at +1h: %+v, %+v; want both", again, escalate)
	}
	var events []event.Event
	for _, p := range again {
		events = append(events, event.Event{Kind: event.Renotify, Time: t0.Add(time.Hour), HostUUID: p.HostUUID, Host: p.Host, NewStatus: 999})
	}
	for _, p := range escalate {
		events = append(events, event.Event{Kind: event.Escalation, Time: t0.Add(time.Hour), HostUUID: p.HostUUID, Host: p.Host, NewStatus: 999})
	}
	d.Decide(events)
	for _, e := range events {
		switch {
		case e.Host == "relay-1" && (e.Decision.HeldBack != "" || len(e.Decision.To) != 1):
			t.Errorf("%s of the relay: %+v, want sent", e.Kind, e.Decision)
		case e.Host == "child-1" && (e.Decision.HeldBack != event.HeldUnchanged || e.Decision.Reason != "parent relay-1 is DOWN (dependency behind-relay)"):
			t.Errorf("%s of the child: %+v, want held back behind the relay", e.Kind, e.Decision)
		}
	}
}
