package store

import (
	"context"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// Changes put off by quiet hours are kept with the change, and forgotten
// with the delayed event that delivers them, in the transaction that
// queues its notification: only its instance's and host's, for that end.
func TestDelaysKept(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store) {
		until := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
		delay := func(instance, probe string, from, to int, at time.Duration) event.Delay {
			return event.Delay{Instance: instance, Until: until, HostUUID: "u1", Host: "web-1", Group: "front", Probe: probe,
				Kind: event.ProbeChanged, OldStatus: from, NewStatus: to, Time: until.Add(-8 * time.Hour).Add(at), Message: probe + " changed"}
		}
		change := func(delays ...event.Delay) event.Event {
			d := delays[0]
			return event.Event{Kind: event.ProbeChanged, Time: d.Time, HostUUID: "u1", Host: "web-1", Probe: d.Probe,
				OldStatus: d.OldStatus, NewStatus: d.NewStatus, Message: d.Message, Decision: event.Decision{Delayed: delays}}
		}
		first := []event.Delay{delay("ops", "disk", 100, 300, 0), delay("pager", "disk", 100, 300, 0)}
		second := delay("ops", "load", 100, 200, time.Hour)
		if err := s.insertEvents(ctx, []event.Event{change(first...), change(second)}, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Delays(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || !got[0].Time.Equal(first[0].Time) || got[0].NewStatus != 300 || got[2].Probe != "load" || !got[2].Until.Equal(until) ||
			got[1].Instance != "pager" || got[2].Message != "load changed" || got[0].Group != "front" {
			t.Fatalf("delays: %+v", got)
		}
		delivered := event.Event{Kind: event.Delayed, Time: until, HostUUID: "u1", Host: "web-1", Delays: []event.Delay{first[0], second},
			Decision: event.Decision{To: []string{"ops"}}}
		out := []OutboxEntry{{EventID: "e1", Instance: "ops", Host: "web-1", Payload: []byte(`{}`)}}
		if err := s.insertEvents(ctx, []event.Event{delivered}, out); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.Delays(ctx); len(got) != 1 || got[0].Instance != "pager" {
			t.Errorf("after ops's delivery: %+v, want pager's only", got)
		}
		if n := countRows(t, s, "outbox"); n != 1 {
			t.Errorf("outbox rows: %d, want the delivery's", n)
		}
	})
}
