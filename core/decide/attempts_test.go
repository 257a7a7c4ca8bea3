package decide

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wigo-project/wigo/core/event"
)

func report(name string, status int) event.Event {
	return event.Event{Kind: event.ProbeUpdated, HostUUID: "u1", Host: "web-1", Probe: name, OldStatus: status, NewStatus: status}
}

// With attempts = 3 a change is held back as soft until the third result
// in a row at its status, which becomes the change (from the last hard
// status); a change undone before that is never notified; recoveries
// count recovery_attempts.
func TestCheckAttempts(t *testing.T) {
	d := New()
	d.SetAttempts(3, 2)
	events := []event.Event{
		probe("disk", 100, 300), // soft 1/3
		report("disk", 300),     // soft 2/3
		report("disk", 300),     // hard: the change 100 -> 300
		report("disk", 300),     // nothing more
		probe("disk", 300, 500), // soft 1/3
		probe("disk", 500, 300), // back: undone
		probe("disk", 300, 100), // recovery: soft 1/2
		report("disk", 100),     // hard
	}
	d.Decide(events)
	want := []struct {
		kind   event.Kind
		held   string
		old    int
		reason string
	}{
		{event.ProbeChanged, event.HeldAttempts, 100, "soft 1/3"},
		{event.ProbeUpdated, event.HeldAttempts, 300, "soft 2/3"},
		{event.ProbeChanged, "", 100, ""},
		{event.ProbeUpdated, "", 300, ""},
		{event.ProbeChanged, event.HeldAttempts, 300, "soft 1/3"},
		{event.ProbeChanged, event.HeldAttempts, 500, "back to 300 before the change was confirmed"},
		{event.ProbeChanged, event.HeldAttempts, 300, "soft 1/2"},
		{event.ProbeChanged, "", 300, ""},
	}
	for i, e := range events {
		w := want[i]
		if e.Kind != w.kind || e.Decision.HeldBack != w.held || e.OldStatus != w.old || e.Decision.Reason != w.reason {
			t.Errorf("result %d: %s held %q old %d reason %q; want %s held %q old %d reason %q",
				i+1, e.Kind, e.Decision.HeldBack, e.OldStatus, e.Decision.Reason, w.kind, w.held, w.old, w.reason)
		}
	}
	if events[2].Message == "" || !events[2].Decision.SoftEnded || events[0].Decision.Soft == nil {
		t.Errorf("the confirming result: message %q, soft ended %v; the first: soft %+v", events[2].Message, events[2].Decision.SoftEnded, events[0].Decision.Soft)
	}
	// The second result carries its count, for the store to keep.
	if s := events[1].Decision.Soft; s == nil || s.Count != 2 || s.Hard != 100 || s.Status != 300 {
		t.Errorf("the second result's soft state: %+v, want 2 results of 300 from 100", s)
	}
	// Held back counts changes, not reports.
	if n := d.Stats().HeldBack[event.HeldAttempts]; n != 4 {
		t.Errorf("%d held back for attempts, want 4", n)
	}
}

// A soft change restored after a restart counts on from the results it
// had: with attempts = 3 and two seen, the next one confirms it.
func TestSoftRestored(t *testing.T) {
	d := New()
	d.SetAttempts(3, 1)
	d.RestoreSoft([]event.Soft{{HostUUID: "u1", Host: "web-1", Probe: "disk", Hard: 100, Status: 300, Count: 2}})
	e := []event.Event{report("disk", 300)}
	d.Decide(e)
	if e[0].Kind != event.ProbeChanged || e[0].OldStatus != 100 || e[0].Decision.HeldBack != "" {
		t.Errorf("after the restart: %s %d -> %d %+v, want the change 100 -> 300", e[0].Kind, e[0].OldStatus, e[0].NewStatus, e[0].Decision)
	}
}

// check blocks set the attempts of the probes they match, the first that
// matches winning: a disk probe needs 3 results, the same probe on a db
// host 5 (the earlier block), a recovery of either its rule's 2, and every
// other probe the instance's 1. The soft state says how far it is.
func TestCheckAttemptsPerProbe(t *testing.T) {
	d := New()
	d.SetAttempts(1, 1)
	d.SetChecks([]Check{
		{Name: "db-disks", Probes: []string{"disk*"}, Hosts: []string{"db-*"}, Attempts: 5},
		{Name: "disks", Probes: []string{"DISK*"}, Attempts: 3, RecoveryAttempts: 2},
	})
	on := func(host string, e event.Event) event.Event { e.Host, e.HostUUID = host, host; return e }
	count := func(host string, changes ...event.Event) (held int, soft []string) {
		t.Helper()
		for _, c := range changes {
			e := []event.Event{on(host, c)}
			d.Decide(e)
			if e[0].Decision.HeldBack == event.HeldAttempts || (e[0].Kind == event.ProbeUpdated && e[0].Decision.Reason != "") {
				held++
			}
			if s := e[0].Decision.Soft; s != nil {
				soft = append(soft, fmt.Sprintf("%d/%d", s.Count, s.Of))
			}
		}
		return held, soft
	}
	if held, soft := count("web-1", probe("disk", 100, 300), report("disk", 300), report("disk", 300)); held != 2 || !slices.Equal(soft, []string{"1/3", "2/3"}) {
		t.Errorf("disk on web-1: %d results held, soft %v; want 2 held, 1/3 2/3", held, soft)
	}
	if held, _ := count("web-1", probe("disk", 300, 100), report("disk", 100)); held != 1 {
		t.Errorf("disk's recovery on web-1: %d results held, want 1 (recovery_attempts 2)", held)
	}
	if held, soft := count("db-1", probe("disk", 100, 300), report("disk", 300), report("disk", 300), report("disk", 300)); held != 4 || soft[3] != "4/5" {
		t.Errorf("disk on db-1: %d results held, soft %v; want 4 held up to 4/5", held, soft)
	}
	if got := d.SoftStates(); len(got) != 1 || got[0].Host != "db-1" || got[0].Count != 4 || got[0].Of != 5 {
		t.Errorf("soft states: %+v, want db-1/disk at 4 of 5", got)
	}
	if held, _ := count("db-1", report("disk", 300)); held != 0 || len(d.SoftStates()) != 0 {
		t.Errorf("the fifth result on db-1 is held (%d) or left soft (%+v)", held, d.SoftStates())
	}
	if held, _ := count("web-1", probe("load", 100, 300)); held != 0 {
		t.Errorf("load (no rule) held %d times, want notified at once", held)
	}
}
