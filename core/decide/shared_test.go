package decide

import (
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// Another master's acknowledgement and silence (Shared events) hold back
// here what they hold back there; their own events are decided nothing
// (not delayed, not counted), and a silence the other master ended leaves
// no subject waiting for its end here: that master restated them.
func TestSharedChangesHoldBackTheSame(t *testing.T) {
	d := New()
	now := time.Unix(1_800_000_000, 0)
	d.SetClock(func() time.Time { return now })
	change := func(host, probe string, from, to int) event.Event {
		return event.Event{Kind: event.ProbeChanged, Time: now, HostUUID: "u-" + host, Host: host, Group: "g", Probe: probe, OldStatus: from, NewStatus: to}
	}
	ack := event.Ack{HostUUID: "u-web", Host: "web", Probe: "disk", Status: 300, Author: "alice", Time: now}
	si := event.Silence{ID: "s1", Host: "db", Start: now, End: now.Add(time.Hour), Author: "bob"}
	events := []event.Event{
		{Kind: event.Acknowledged, Time: now, HostUUID: "u-web", Host: "web", Probe: "disk", Ack: &ack, Shared: true},
		{Kind: event.SilenceSet, Time: now, Silence: &si, Shared: true},
		change("web", "disk", 300, 200),
		change("db", "load", 100, 300),
	}
	d.Decide(events)
	if got := events[2].Decision.HeldBack; got != event.HeldAcknowledged {
		t.Errorf("change of the acknowledged probe: held back %q, want acknowledged", got)
	}
	if got := events[3].Decision.HeldBack; got != event.HeldSilenced {
		t.Errorf("change under the silence: held back %q, want silenced", got)
	}
	if _, waiting := d.pending[key{"u-db", "load"}]; !waiting {
		t.Fatal("db/load does not wait for the silence's end")
	}
	if s := d.Stats(); s.Acks != 1 || s.Silences != 1 || s.HeldBack[event.HeldAcknowledged] != 1 || s.HeldBack[event.HeldSilenced] != 1 {
		t.Errorf("stats %+v", s)
	}
	end := []event.Event{{Kind: event.SilenceEnded, Time: now, Silence: &si, Shared: true},
		{Kind: event.AckRemoved, Time: now, HostUUID: "u-web", Host: "web", Probe: "disk", Ack: &ack, Shared: true}}
	d.Decide(end)
	if _, waiting := d.pending[key{"u-db", "load"}]; waiting {
		t.Error("db/load still waits for a silence the other master ended")
	}
	if len(d.Acks()) != 0 || len(d.Silences()) != 0 {
		t.Errorf("acks %v, silences %v left", d.Acks(), d.Silences())
	}
	next := []event.Event{change("web", "disk", 200, 300)}
	d.Decide(next)
	if got := next[0].Decision.HeldBack; got != "" {
		t.Errorf("change after the removal: held back %q", got)
	}
}
