package decide

import (
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// renotifyAt decides the renotify event of web-1/disk at +d, status now.
func renotifyAt(d *Decider, at time.Duration, status int) event.Event {
	e := []event.Event{{Kind: event.Renotify, Time: t0.Add(at), HostUUID: "u1", Host: "web-1", Probe: "disk", NewStatus: status}}
	d.Decide(e)
	return e[0]
}

// A notified problem is renotified to each instance at its own interval
// until it recovers; an acknowledgement or a silence keeps it quiet (the
// clock moves on); RenotifyDue says when.
func TestRenotify(t *testing.T) {
	d := New()
	d.SetRenotify(map[string]time.Duration{"pager": time.Hour, "mail": 3 * time.Hour, "chat": 0})
	d.Decide([]event.Event{at(probe("disk", 100, 300), 0)})
	due, _, next := d.RenotifyDue(t0.Add(59 * time.Minute))
	if len(due) != 0 || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("at +59m: due %v next %s, want none, next at +1h", due, next.Sub(t0))
	}
	if due, _, _ = d.RenotifyDue(t0.Add(time.Hour)); len(due) != 1 || due[0].Probe != "disk" {
		t.Fatalf("at +1h: due %+v, want disk", due)
	}
	for _, c := range []struct {
		at time.Duration
		to []string
	}{{time.Hour, []string{"pager"}}, {2 * time.Hour, []string{"pager"}}, {3 * time.Hour, []string{"mail", "pager"}}} {
		e := renotifyAt(d, c.at, 300)
		if e.Decision.HeldBack != "" || len(e.Decision.To) != len(c.to) || e.Decision.To[0] != c.to[0] || e.OldStatus != 300 {
			t.Errorf("at +%s: %+v, want to %v", c.at, e.Decision, c.to)
		}
	}
	// Acknowledged: quiet, and not owed later.
	d.Decide([]event.Event{ack("disk", 300, false)})
	if e := renotifyAt(d, 4*time.Hour, 300); e.Decision.HeldBack != event.HeldUnchanged || e.Decision.To != nil || e.Logged() {
		t.Errorf("acknowledged: %+v, want held back, not logged", e.Decision)
	}
	if _, _, next := d.RenotifyDue(t0.Add(4 * time.Hour)); !next.Equal(t0.Add(5 * time.Hour)) {
		t.Errorf("after the held one, next at +%s, want +5h", next.Sub(t0))
	}
	// Recovered: no longer a problem.
	d.Decide([]event.Event{at(probe("disk", 300, 100), 270*time.Minute)})
	if due, _, next := d.RenotifyDue(t0.Add(10 * time.Hour)); len(due) != 0 || !next.IsZero() {
		t.Errorf("after the recovery: due %v next %s", due, next)
	}
}

// A silenced problem is not renotified; a restored one waits an interval.
func TestRenotifySilencedAndRestored(t *testing.T) {
	d := New()
	d.SetRenotify(map[string]time.Duration{"pager": time.Hour})
	d.RestoreProblems([]event.Problem{{Pending: event.Pending{HostUUID: "u1", Host: "web-1", Probe: "disk", Notified: 500}, Since: t0}})
	if due, _, next := d.RenotifyDue(t0); len(due) != 0 || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("restored: due %v next %s, want the first in an hour", due, next.Sub(t0))
	}
	d.Decide([]event.Event{silenceSet("s1", "web-1", "", 0, 2*time.Hour)})
	if e := renotifyAt(d, time.Hour, 500); e.Decision.To != nil || e.Decision.HeldBack != event.HeldUnchanged {
		t.Errorf("silenced: %+v", e.Decision)
	}
	if e := renotifyAt(d, 3*time.Hour, 500); len(e.Decision.To) != 1 || e.OldStatus != 500 {
		t.Errorf("after the silence: %+v", e.Decision)
	}
}

// A problem at the escalating block's level that nobody acknowledged
// within escalate_after goes once to escalate_to; one acknowledged in time,
// or under the level, never does.
func TestEscalation(t *testing.T) {
	d := New()
	d.SetEscalation(map[string]Escalation{"mail": {After: 30 * time.Minute, To: "pager", MinLevel: 300}})
	d.Decide([]event.Event{at(probe("disk", 100, 300), 0), at(probe("load", 100, 200), 0)})
	_, esc, next := d.RenotifyDue(t0.Add(29 * time.Minute))
	if len(esc) != 0 || !next.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("at +29m: %v next %s", esc, next.Sub(t0))
	}
	_, esc, _ = d.RenotifyDue(t0.Add(30 * time.Minute))
	if len(esc) != 1 || esc[0].Probe != "disk" {
		t.Fatalf("at +30m escalating %+v, want disk only (load is under the level)", esc)
	}
	e := []event.Event{{Kind: event.Escalation, Time: t0.Add(30 * time.Minute), HostUUID: "u1", Host: "web-1", Probe: "disk", NewStatus: 300}}
	d.Decide(e)
	if len(e[0].Decision.To) != 1 || e[0].Decision.To[0] != "pager" || e[0].Decision.HeldBack != "" {
		t.Fatalf("escalation: %+v, want to pager", e[0].Decision)
	}
	if _, esc, _ = d.RenotifyDue(t0.Add(5 * time.Hour)); len(esc) != 0 {
		t.Errorf("escalated twice: %+v", esc)
	}
	// Acknowledged in time: no escalation.
	d.Decide([]event.Event{at(probe("io", 100, 500), time.Hour), at(ack("io", 500, false), 70*time.Minute)})
	e = []event.Event{{Kind: event.Escalation, Time: t0.Add(90 * time.Minute), HostUUID: "u1", Host: "web-1", Probe: "io", NewStatus: 500}}
	d.Decide(e)
	if e[0].Decision.To != nil || e[0].Decision.HeldBack != event.HeldUnchanged {
		t.Errorf("escalation of an acknowledged problem: %+v", e[0].Decision)
	}
}

// escalateAt decides the escalation event of web-1/disk at +d, status now.
func escalateAt(d *Decider, at time.Duration, status int) event.Event {
	e := []event.Event{{Kind: event.Escalation, Time: t0.Add(at), HostUUID: "u1", Host: "web-1", Probe: "disk", NewStatus: status}}
	d.Decide(e)
	return e[0]
}

// A problem silenced when its escalation is due is not escalated while the
// silence lasts; the escalation is due when the silence ends (at its end,
// or when it is expired early) and goes out then, once, if the problem is
// still unresolved; a problem that recovered under the silence never
// escalates.
func TestEscalationSilencedIsDueAtTheSilenceEnd(t *testing.T) {
	d := New()
	d.SetEscalation(map[string]Escalation{"mail": {After: 30 * time.Minute, To: "pager", MinLevel: 300}})
	d.Decide([]event.Event{at(probe("disk", 100, 300), 0), silenceSet("s1", "web-1", "", 0, 2*time.Hour)})
	if e := escalateAt(d, 30*time.Minute, 300); e.Decision.To != nil || e.Decision.HeldBack != event.HeldSilenced || e.Decision.Silence != "s1" || !e.Logged() {
		t.Fatalf("due under the silence: %+v, want held back by s1, logged", e.Decision)
	}
	if _, esc, next := d.RenotifyDue(t0.Add(time.Hour)); len(esc) != 0 || !next.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("under the silence: escalating %v, next at +%s, want at its end (+2h)", esc, next.Sub(t0))
	}
	// Expired early, at +1h: due then.
	d.Decide([]event.Event{{Kind: event.SilenceEnded, Time: t0.Add(time.Hour), Silence: &event.Silence{ID: "s1"}}})
	if _, esc, _ := d.RenotifyDue(t0.Add(time.Hour)); len(esc) != 1 || esc[0].Probe != "disk" {
		t.Fatalf("at the silence's end: escalating %+v, want disk", esc)
	}
	if e := escalateAt(d, time.Hour, 300); len(e.Decision.To) != 1 || e.Decision.To[0] != "pager" || e.Decision.Problem == nil || !e.Decision.Problem.Escalated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("at the silence's end: %+v, want to pager, recorded", e.Decision)
	}
	if _, esc, next := d.RenotifyDue(t0.Add(5 * time.Hour)); len(esc) != 0 || !next.IsZero() {
		t.Errorf("escalated twice: %+v (next %s)", esc, next)
	}

	// Recovered under a silence: at the silence's end, not escalated.
	d.Decide([]event.Event{at(probe("io", 100, 500), 6*time.Hour), silenceSet("s2", "web-1", "", 6*time.Hour, 8*time.Hour)})
	io := func(at time.Duration, status int) event.Event {
		e := []event.Event{{Kind: event.Escalation, Time: t0.Add(at), HostUUID: "u1", Host: "web-1", Probe: "io", NewStatus: status}}
		d.Decide(e)
		return e[0]
	}
	if e := io(6*time.Hour+30*time.Minute, 500); e.Decision.To != nil {
		t.Fatalf("io under the silence: %+v", e.Decision)
	}
	if e := io(8*time.Hour, 100); e.Decision.To != nil || e.Decision.HeldBack != event.HeldUnchanged {
		t.Errorf("io recovered under the silence, at its end: %+v, want not escalated", e.Decision)
	}
}

// A restored problem's timers run from when it was notified, renotified
// and escalated, not from the restart: the next renotify an interval after
// the last, one missed while down due at once, an escalation done not done
// again.
func TestRestoredTimers(t *testing.T) {
	d := New()
	d.RestoreProblems([]event.Problem{
		{Pending: event.Pending{HostUUID: "u1", Host: "web-1", Probe: "disk", Notified: 300}, Since: t0, Renotified: t0.Add(2 * time.Hour), Escalated: t0.Add(30 * time.Minute)},
		{Pending: event.Pending{HostUUID: "u1", Host: "web-1", Probe: "io", Notified: 300}, Since: t0},
	})
	d.SetRenotify(map[string]time.Duration{"pager": time.Hour})
	d.SetEscalation(map[string]Escalation{"mail": {After: 30 * time.Minute, To: "pager", MinLevel: 300}})
	due, esc, next := d.RenotifyDue(t0.Add(150 * time.Minute))
	if len(due) != 1 || due[0].Probe != "io" || len(esc) != 1 || esc[0].Probe != "io" || !next.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("at +2h30 after a restart: renotify %+v, escalate %+v, next at +%s; want io's (missed while down) at once, disk's at +3h",
			due, esc, next.Sub(t0))
	}
}

// A problem that recovered under a silence (its recovery held back) is
// neither renotified nor escalated when their time comes, and they are not
// due again at once: the scheduler would spin on them and never reach the
// silence's end. The escalation waits for the silence's end (the probe may
// be back at a problem by then), and is dropped then if it is still OK.
func TestRecoveredUnderASilenceIsNotDueAgain(t *testing.T) {
	d := New()
	d.SetRenotify(map[string]time.Duration{"pager": time.Hour})
	d.SetEscalation(map[string]Escalation{"mail": {After: time.Hour, To: "pager", MinLevel: 300}})
	d.Decide([]event.Event{at(probe("disk", 100, 300), 0), silenceSet("s1", "web-1", "", 0, 3*time.Hour), at(probe("disk", 300, 100), 10*time.Minute)})
	if e := renotifyAt(d, time.Hour, 100); e.Decision.To != nil || e.Decision.HeldBack != event.HeldUnchanged {
		t.Errorf("renotify of a problem recovered under a silence: %+v", e.Decision)
	}
	if e := escalateAt(d, time.Hour, 100); e.Decision.To != nil || e.Decision.HeldBack != event.HeldSilenced {
		t.Errorf("escalation of a problem recovered under a silence: %+v, want held back by it", e.Decision)
	}
	if due, esc, _ := d.RenotifyDue(t0.Add(time.Hour)); len(due) != 0 || len(esc) != 0 {
		t.Errorf("due again at once: renotify %+v, escalate %+v", due, esc)
	}
	if e := escalateAt(d, 3*time.Hour, 100); e.Decision.To != nil || e.Decision.HeldBack != event.HeldUnchanged {
		t.Errorf("escalation at the silence's end of a problem still OK: %+v, want dropped", e.Decision)
	}
	if _, esc, _ := d.RenotifyDue(t0.Add(3 * time.Hour)); len(esc) != 0 {
		t.Errorf("escalation due again at once: %+v", esc)
	}
}
