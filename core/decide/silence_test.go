package decide

import (
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

var t0 = time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)

func silenceSet(id, host, probe string, from, to time.Duration) event.Event {
	return event.Event{Kind: event.SilenceSet, Time: t0, Silence: &event.Silence{ID: id, Host: host, Probe: probe,
		Start: t0.Add(from), End: t0.Add(to), Author: "alice", Comment: "reboot"}}
}

func at(e event.Event, d time.Duration) event.Event { e.Time = t0.Add(d); return e }

// end ends silence id the way the daemon does: it asks for the subjects
// the silence held back, and decides a current_state event for each, with
// the status given in now.
func end(t *testing.T, d *Decider, id string, when time.Duration, now map[string]int) []event.Event {
	t.Helper()
	si, ok := d.Silence(id)
	if !ok {
		t.Fatalf("silence %s has already ended", id)
	}
	pending, ok := d.Ending(si)
	if !ok {
		t.Fatalf("silence %s: Ending reports it ended", id)
	}
	events := []event.Event{{Kind: event.SilenceEnded, Time: t0.Add(when), Silence: &si}}
	for _, p := range pending {
		events = append(events, event.Event{Kind: event.CurrentState, Time: t0.Add(when), HostUUID: p.HostUUID,
			Host: p.Host, Probe: p.Probe, OldStatus: p.Notified, NewStatus: now[p.Probe]})
	}
	d.Decide(events)
	return events[1:]
}

// While a silence holds, what it matches is held back and named; what it
// does not match is notified; a change before its start is notified.
func TestSilenceHoldsBackWhatItMatches(t *testing.T) {
	d := New()
	events := []event.Event{
		silenceSet("s1", "web-*", "", time.Minute, time.Hour),
		at(probe("disk", 100, 300), 30*time.Second),
		at(probe("disk", 300, 400), 2*time.Minute),
		at(event.Event{Kind: event.HostDown, HostUUID: "u1", Host: "web-1", OldStatus: 100, NewStatus: 999}, 3*time.Minute),
		at(event.Event{Kind: event.ProbeChanged, HostUUID: "u2", Host: "db-1", Probe: "disk", OldStatus: 100, NewStatus: 300}, 4*time.Minute),
	}
	d.Decide(events)
	want := []string{"", event.HeldSilenced, event.HeldSilenced, ""}
	for i, e := range events[1:] {
		if e.Decision.HeldBack != want[i] {
			t.Errorf("event %d (%s %s/%s at +%s): held back %q, want %q", i+1, e.Kind, e.Host, e.Probe, e.Time.Sub(t0), e.Decision.HeldBack, want[i])
		}
	}
	if e := events[2]; e.Decision.Silence != "s1" || e.Decision.Reason != "silence s1 by alice: reboot" {
		t.Errorf("held-back change names %q / %q, want the silence and its author", e.Decision.Silence, e.Decision.Reason)
	}
	if st := d.Stats(); st.HeldBack[event.HeldSilenced] != 2 {
		t.Errorf("held back counted %v, want 2 silenced", st.HeldBack)
	}
}

// At the end of a silence, one notification per subject of how it is now,
// only where that differs from what was notified before the silence: a
// problem that came and went within the silence is not replayed, one that
// is still there is notified once, with the status notified before it as
// the old status.
func TestSilenceEndRestatesWhatDiffers(t *testing.T) {
	d := New()
	d.Decide([]event.Event{
		silenceSet("s1", "web-1", "", 0, time.Hour),
		at(probe("disk", 100, 300), time.Minute), // first held: 100 was last notified
		at(probe("disk", 300, 500), 2*time.Minute),
		at(probe("load", 100, 400), 3*time.Minute),
		at(probe("load", 400, 100), 4*time.Minute), // came and went
	})
	got := end(t, d, "s1", time.Hour, map[string]int{"disk": 500, "load": 100})
	if len(got) != 2 {
		t.Fatalf("%d subjects restated, want disk and load", len(got))
	}
	for _, e := range got {
		switch e.Probe {
		case "disk":
			if e.Decision.HeldBack != "" || e.OldStatus != 100 || e.NewStatus != 500 || !e.Decision.PendingEnded {
				t.Errorf("disk at the end: %+v (old %d new %d), want notified 100 -> 500", e.Decision, e.OldStatus, e.NewStatus)
			}
		case "load":
			if e.Decision.HeldBack != event.HeldUnchanged || e.Logged() {
				t.Errorf("load at the end: %+v, want held back as unchanged and not logged", e.Decision)
			}
		}
	}
	if _, ok := d.Silence("s1"); ok {
		t.Error("the silence is still listed after its end")
	}
	if p, _ := d.Ending(event.Silence{ID: "none"}); len(p) != 0 {
		t.Error("an unknown silence has subjects")
	}
	// After the end, changes are notified again.
	e := []event.Event{at(probe("disk", 500, 300), 61*time.Minute)}
	d.Decide(e)
	if e[0].Decision.HeldBack != "" {
		t.Errorf("a change after the silence: held back %q", e[0].Decision.HeldBack)
	}
}

// Where two silences overlap, the first's end does not restate what the
// second still holds; the second's does.
func TestOverlappingSilences(t *testing.T) {
	d := New()
	d.Decide([]event.Event{
		silenceSet("short", "web-1", "", 0, time.Hour),
		silenceSet("long", "web-*", "", 0, 2*time.Hour),
		at(probe("disk", 100, 300), time.Minute),
	})
	got := end(t, d, "short", time.Hour, map[string]int{"disk": 300})
	if len(got) != 1 || got[0].Decision.HeldBack != event.HeldSilenced || got[0].Decision.Silence != "long" {
		t.Fatalf("at the first end: %+v, want disk still held by the longer silence", got)
	}
	got = end(t, d, "long", 2*time.Hour, map[string]int{"disk": 300})
	if len(got) != 1 || got[0].Decision.HeldBack != "" || got[0].NewStatus != 300 {
		t.Fatalf("at the second end: %+v, want disk notified once", got)
	}
}

// A change that is notified (no silence holds it) ends its subject's wait:
// the silence's end then has nothing to say about it.
func TestNotifiedChangeEndsTheWait(t *testing.T) {
	d := New()
	d.Decide([]event.Event{
		silenceSet("s1", "web-1", "disk", 0, time.Hour),
		at(probe("disk", 100, 300), time.Minute),
	})
	// The silence is expired early; its subjects are asked first.
	si, _ := d.Silence("s1")
	d.Decide([]event.Event{{Kind: event.SilenceEnded, Time: t0.Add(2 * time.Minute), Silence: &si}})
	e := []event.Event{at(probe("disk", 300, 400), 3*time.Minute)}
	d.Decide(e)
	if e[0].Decision.HeldBack != "" || !e[0].Decision.PendingEnded {
		t.Errorf("change after the silence: %+v, want notified and the wait ended", e[0].Decision)
	}
	if _, ok := d.Ending(si); ok {
		t.Error("an ended silence still reports subjects")
	}
}

// An acknowledged problem stays the acknowledgement's: the silence neither
// holds it nor restates it.
func TestAckBeforeSilence(t *testing.T) {
	d := New()
	events := []event.Event{ack("disk", 400, false), silenceSet("s1", "web-1", "", 0, time.Hour), at(probe("disk", 400, 300), time.Minute)}
	d.Decide(events)
	if events[2].Decision.HeldBack != event.HeldAcknowledged {
		t.Errorf("held back %q, want acknowledged", events[2].Decision.HeldBack)
	}
	if got := end(t, d, "s1", time.Hour, map[string]int{"disk": 300}); len(got) != 0 {
		t.Errorf("the silence's end restates %d acknowledged subjects", len(got))
	}
}

// Due gives the silences whose end has come and when the next one ends;
// a restart's Restore brings back silences and waiting subjects.
func TestDueAndRestore(t *testing.T) {
	d := New()
	d.Restore(nil, []event.Silence{
		{ID: "a", Host: "x", Start: t0, End: t0.Add(time.Hour)},
		{ID: "b", Host: "y", Start: t0, End: t0.Add(2 * time.Hour)},
	}, []event.Pending{{HostUUID: "u1", Host: "x", Probe: "disk", Notified: 100}})
	due, next := d.Due(t0.Add(30 * time.Minute))
	if len(due) != 0 || !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("at +30m: due %v, next %s; want none due, next at +1h", due, next)
	}
	due, next = d.Due(t0.Add(time.Hour))
	if len(due) != 1 || due[0].ID != "a" || !next.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("at +1h: due %v, next %s; want a due, next at +2h", due, next)
	}
	p, ok := d.Ending(due[0])
	if !ok || len(p) != 1 || p[0].Probe != "disk" || p[0].Notified != 100 {
		t.Errorf("restored subjects of a: %+v %v, want x/disk last notified 100", p, ok)
	}
	d.SetClock(func() time.Time { return t0.Add(time.Minute) })
	if st := d.Stats(); st.Silences != 2 {
		t.Errorf("%d silences in force, want 2", st.Silences)
	}
}
