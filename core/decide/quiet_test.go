package decide

import (
	"slices"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/schedule"
)

// nights are quiet hours from 22:00 to 07:00 in Paris: t0 (22:00 UTC) is
// 23:00 there, and they end at 06:00 UTC the next day, t0+8h.
func nights(t *testing.T, minLevel int, accepts func(event.Event) bool) Quiet {
	t.Helper()
	paris, err := schedule.LoadZone("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	w, err := schedule.Daily("22:00", "07:00", paris)
	if err != nil {
		t.Fatal(err)
	}
	return Quiet{Window: w, MinLevel: minLevel, Accepts: accepts}
}

func delayedTo(e event.Event) []string {
	var out []string
	for _, d := range e.Decision.Delayed {
		out = append(out, d.Instance)
	}
	return out
}

// Below min_level, a change in the quiet hours is put off for the quiet
// instance only (and for none that would not hear of it), until their end;
// a change whose old or new status reaches the level is not; the end
// delivers each host's put-off changes once, for that instance.
func TestQuietHoursPutOffAndDeliver(t *testing.T) {
	d := New()
	d.SetQuietHours(map[string]Quiet{"ops": nights(t, 500, func(e event.Event) bool { return e.Probe != "ignored" })})
	end := t0.Add(8 * time.Hour)
	for _, c := range []struct {
		e    event.Event
		want []string
	}{
		{at(probe("disk", 100, 300), 0), []string{"ops"}},
		{at(probe("disk", 300, 500), time.Hour), nil},                            // reaches the level: at once
		{at(probe("load", 100, 200), 2*time.Hour), []string{"ops"}},              // below it
		{at(probe("disk", 500, 100), 3*time.Hour), nil},                          // the recovery of an ERROR: at once
		{at(probe("ignored", 100, 300), 3*time.Hour), nil},                       // ops would not hear of it
		{at(probe("load", 200, 100), 8*time.Hour+time.Minute), nil},              // 07:01 in Paris: over
		{at(probe("swap", 100, 300), 22*time.Hour+time.Minute), nil},             // 21:01 the next day
		{at(probe("swap", 300, 200), 23*time.Hour+time.Minute), []string{"ops"}}, // 22:01: the next night
	} {
		es := []event.Event{c.e}
		d.Decide(es)
		e := es[0]
		if got := delayedTo(e); !slices.Equal(got, c.want) || e.Decision.HeldBack != "" {
			t.Errorf("%s %d→%d at +%s: delayed for %v (held %q), want %v", e.Probe, e.OldStatus, e.NewStatus, e.Time.Sub(t0), got, e.Decision.HeldBack, c.want)
			continue
		}
		if len(c.want) > 0 {
			if l := e.LogEntry(); l.HeldBack != event.HeldQuietHours {
				t.Errorf("%s at +%s: log row held %q, want quiet_hours: %s", e.Probe, e.Time.Sub(t0), l.HeldBack, l.Message)
			}
			if e.Time.Before(end) && !e.Decision.Delayed[0].Until.Equal(end) {
				t.Errorf("%s: delayed until %s, want %s", e.Probe, e.Decision.Delayed[0].Until, end)
			}
		}
	}
	if n := d.Stats().HeldBack[event.HeldQuietHours]; n != 3 {
		t.Errorf("held back for quiet hours: %d, want 3", n)
	}
	if due, next := d.DelaysDue(end.Add(-time.Second)); len(due) != 0 || !next.Equal(end) {
		t.Fatalf("before the end: due %v, next %s; want none, next at the end", due, next)
	}
	due, next := d.DelaysDue(end)
	if len(due) != 1 || len(due[0]) != 2 || due[0][0].Probe != "disk" || due[0][1].Probe != "load" || due[0][0].Instance != "ops" {
		t.Fatalf("at the end: due %+v, want web-1's disk and load changes for ops", due)
	}
	if !next.Equal(t0.Add(32 * time.Hour)) {
		t.Errorf("next end at +%s, want +32h (the next night's)", next.Sub(t0))
	}
	// A restart before delivery finds them again.
	restored := New()
	restored.RestoreDelays(due[0])
	if again, _ := restored.DelaysDue(end); len(again) != 1 || len(again[0]) != 2 {
		t.Errorf("restored: due %+v, want the same two", again)
	}
	es := []event.Event{{Kind: event.Delayed, Time: end, HostUUID: "u1", Host: "web-1", NewStatus: 100, Delays: due[0]}}
	d.Decide(es)
	if es[0].Decision.HeldBack != "" || !slices.Equal(es[0].Decision.To, []string{"ops"}) {
		t.Errorf("delivery: %+v, want for ops only", es[0].Decision)
	}
	es[0].Decision = event.Decision{}
	d.Decide(es)
	if es[0].Decision.HeldBack != event.HeldUnchanged || es[0].Logged() {
		t.Errorf("second delivery: %+v, want held back as unchanged, not logged", es[0].Decision)
	}
	if due, _ := d.DelaysDue(end.Add(time.Hour)); len(due) != 0 {
		t.Errorf("after delivery: due %+v", due)
	}
}

// A reminder that falls in the quiet hours below the level is skipped for
// the quiet instance (its next interval counts on); one at the level is
// sent. A problem put off for an instance renotifies and escalates counted
// from the end of its quiet hours, when its people were told.
func TestQuietHoursRenotifyAndEscalation(t *testing.T) {
	d := New()
	d.SetQuietHours(map[string]Quiet{"ops": nights(t, 500, nil)})
	d.SetRenotify(map[string]time.Duration{"ops": time.Hour, "mail": time.Hour})
	d.SetEscalation(map[string]Escalation{"ops": {After: 30 * time.Minute, To: "pager", MinLevel: 300}})
	// Told at 21:00 Paris, before the quiet hours.
	d.Decide([]event.Event{at(probe("disk", 100, 300), -2*time.Hour)})
	e := renotifyAt(d, -time.Hour, 300) // 22:00 Paris
	if !slices.Equal(e.Decision.To, []string{"mail"}) {
		t.Errorf("renotify in the quiet hours: %+v, want mail only", e.Decision)
	}
	d.SetRenotify(map[string]time.Duration{"ops": time.Hour})
	if e := renotifyAt(d, 0, 300); e.Decision.HeldBack != event.HeldUnchanged || e.Decision.Reason != "quiet hours of ops" {
		t.Errorf("renotify for ops alone in its quiet hours: %+v, want held back", e.Decision)
	}
	if e := renotifyAt(d, time.Hour, 500); !slices.Equal(e.Decision.To, []string{"ops"}) {
		t.Errorf("renotify at ERROR in the quiet hours: %+v, want ops", e.Decision)
	}

	// Put off at 23:00 Paris: nothing before the end (t0+8h); escalated
	// 30 minutes after it, renotified an hour after it.
	d.Decide([]event.Event{at(probe("load", 100, 300), 0)})
	isLoad := func(p event.Pending) bool { return p.Probe == "load" }
	if again, esc, _ := d.RenotifyDue(t0.Add(8*time.Hour + 29*time.Minute)); slices.ContainsFunc(esc, isLoad) || slices.ContainsFunc(again, isLoad) {
		t.Errorf("the put-off problem before +8h30m: renotify %v, escalate %v; want neither", again, esc)
	}
	if _, esc, _ := d.RenotifyDue(t0.Add(8*time.Hour + 30*time.Minute)); !slices.ContainsFunc(esc, isLoad) {
		t.Errorf("at +8h30m: escalate %v, want load", esc)
	}
	again, esc, _ := d.RenotifyDue(t0.Add(9 * time.Hour))
	if !slices.ContainsFunc(esc, isLoad) || !slices.ContainsFunc(again, isLoad) {
		t.Errorf("at +9h: renotify %v, escalate %v; want load in both", again, esc)
	}
	// An escalation in the quiet hours of its target below the level is
	// put off for the target.
	d.SetQuietHours(map[string]Quiet{"pager": nights(t, 500, nil)})
	es := []event.Event{{Kind: event.Escalation, Time: t0.Add(20 * time.Hour), HostUUID: "u1", Host: "web-1", Probe: "disk", NewStatus: 300}}
	d.SetEscalation(map[string]Escalation{"ops": {After: 30 * time.Minute, To: "pager", MinLevel: 300}})
	d.Decide([]event.Event{at(probe("disk", 300, 400), 23*time.Hour)}) // 00:00 Paris, the next night
	es[0].Time = t0.Add(23*time.Hour + 31*time.Minute)
	d.Decide(es)
	if got := delayedTo(es[0]); !slices.Equal(es[0].Decision.To, []string{"pager"}) || !slices.Equal(got, []string{"pager"}) {
		t.Errorf("escalation in the target's quiet hours: %+v, want to pager, put off for it", es[0].Decision)
	}
}
