package decide

import (
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// flips decides n changes of web-1/disk, one a minute from start,
// alternating between 300 and 100, and returns them.
func flips(d *Decider, start time.Duration, n int) []event.Event {
	var events []event.Event
	for i := range n {
		from, to := 100, 300
		if i%2 == 1 {
			from, to = 300, 100
		}
		events = append(events, at(probe("disk", from, to), start+time.Duration(i)*time.Minute))
	}
	d.Decide(events)
	return events
}

// Five changes within the hour are notified; the sixth starts the
// flapping (notified, marked), the ones after are held back; it stops
// when fewer than half as many remain within the hour, by a change or, with
// none, when they age out (FlapsDue, then the flapping_stopped event).
func TestFlapping(t *testing.T) {
	d := New()
	events := flips(d, 0, 8)
	for i, e := range events {
		wantHeld, wantFlap := "", ""
		switch {
		case i == 5:
			wantFlap = event.FlapStarted
		case i > 5:
			wantHeld = event.HeldFlapping
		}
		if e.Decision.HeldBack != wantHeld || e.Decision.Flapping != wantFlap {
			t.Errorf("change %d: held %q flapping %q, want %q %q (%s)", i+1, e.Decision.HeldBack, e.Decision.Flapping, wantHeld, wantFlap, e.Decision.Reason)
		}
	}
	if got := events[5].Decision.Reason; got != "started flapping: 6 changes in 1h0m0s" {
		t.Errorf("reason %q", got)
	}
	if f := d.Flapping(); len(f) != 1 || f[0].Probe != "disk" {
		t.Fatalf("flapping %+v, want web-1/disk", f)
	}
	// 8 changes at +0..+7 min: it settles when 2 remain, i.e. once the
	// change at +5 min is an hour old.
	due, next := d.FlapsDue(t0.Add(30 * time.Minute))
	if len(due) != 0 || !next.Equal(t0.Add(65*time.Minute)) {
		t.Fatalf("at +30m: due %v, next %s; want none, next at +65m", due, next.Sub(t0))
	}
	due, _ = d.FlapsDue(t0.Add(65 * time.Minute))
	if len(due) != 1 || due[0].Notified != 100 {
		t.Fatalf("at +65m: due %+v, want disk, last notified 100 (the start)", due)
	}
	stop := []event.Event{{Kind: event.FlappingStopped, Time: t0.Add(65 * time.Minute), HostUUID: "u1", Host: "web-1", Probe: "disk", NewStatus: 100}}
	d.Decide(stop)
	if e := stop[0]; e.Decision.HeldBack != "" || e.Decision.Flapping != event.FlapStopped || e.OldStatus != 100 {
		t.Errorf("stop: %+v (old %d), want notified as the end", e.Decision, e.OldStatus)
	}
	// Told once: a second stop event says nothing.
	again := []event.Event{stop[0]}
	again[0].Decision = event.Decision{}
	d.Decide(again)
	if again[0].Decision.HeldBack != event.HeldUnchanged || again[0].Logged() {
		t.Errorf("second stop: %+v, want held back unchanged and not logged", again[0].Decision)
	}
	if st := d.Stats(); st.Flapping != 0 || st.HeldBack[event.HeldFlapping] != 2 {
		t.Errorf("stats %+v, want none flapping, 2 held back as flapping", st)
	}
}

// A change that brings the count under half ends the flapping itself,
// notified and marked; a change held by a silence still counts.
func TestFlappingEndsWithAChange(t *testing.T) {
	d := New()
	d.SetFlapping(10*time.Minute, 4)
	flips(d, 0, 5) // 5 changes in 4 minutes: flapping
	if len(d.Flapping()) != 1 {
		t.Fatal("not flapping after 5 changes with threshold 4")
	}
	// At +13m the changes at +4m and +13m remain: 2 is not under half of 4.
	e := []event.Event{at(probe("disk", 100, 300), 13*time.Minute)}
	d.Decide(e)
	if e[0].Decision.HeldBack != event.HeldFlapping {
		t.Errorf("with 2 changes left: %+v, want still flapping", e[0].Decision)
	}
	// At +24m only this one remains.
	e = []event.Event{at(probe("disk", 300, 100), 24*time.Minute)}
	d.Decide(e)
	if e[0].Decision.HeldBack != "" || e[0].Decision.Flapping != event.FlapStopped {
		t.Errorf("with 1 change left: %+v, want notified as the end", e[0].Decision)
	}
	// Off: nothing flaps.
	d.SetFlapping(time.Hour, 0)
	for _, e := range flips(d, time.Hour, 10) {
		if e.Decision.HeldBack != "" || e.Decision.Flapping != "" {
			t.Fatalf("with threshold 0: %+v", e.Decision)
		}
	}
}

// A restart replays the logged changes: a subject flapping before it is
// flapping after it, without a second start, and its end will be told from
// the status its start was told at (the sixth change's), not the last one.
func TestFlappingRestored(t *testing.T) {
	d := New()
	var logged []event.Event
	for i := range 7 {
		logged = append(logged, event.Event{Kind: event.ProbeChanged, Time: t0.Add(time.Duration(i) * time.Minute),
			HostUUID: "u1", Host: "web-1", Probe: "disk", NewStatus: []int{300, 100}[i%2]})
	}
	d.RestoreChanges(logged)
	if f := d.Flapping(); len(f) != 1 || f[0].Notified != 100 {
		t.Errorf("flapping after the restart: %+v, want disk, started at 100", f)
	}
	e := []event.Event{at(probe("disk", 300, 100), 8*time.Minute)}
	d.Decide(e)
	if e[0].Decision.HeldBack != event.HeldFlapping {
		t.Errorf("first change after the restart: %+v, want held back as flapping", e[0].Decision)
	}
}
