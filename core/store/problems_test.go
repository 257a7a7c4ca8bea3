package store

import (
	"context"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// The open problems are kept with their timers' times, replaced by each
// change of their problem and forgotten when it is resolved or its host
// removed.
func TestProblems(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
		problem := func(probe string, since, renotified, escalated time.Time) event.Event {
			p := &event.Problem{Pending: event.Pending{HostUUID: "u1", Host: "web-1", Group: "front", Probe: probe, Notified: 300},
				Since: since, Renotified: renotified, Escalated: escalated}
			return event.Event{Kind: event.Renotify, HostUUID: "u1", Host: "web-1", Probe: probe, Decision: event.Decision{HeldBack: event.HeldUnchanged, Problem: p}}
		}
		if err := s.insertEvents(ctx, []event.Event{
			problem("disk", t0, time.Time{}, time.Time{}),
			problem("load", t0, time.Time{}, time.Time{}),
			problem("disk", t0, t0.Add(time.Hour), t0.Add(30*time.Minute)),
			{Kind: event.ProbeChanged, HostUUID: "u1", Host: "web-1", Probe: "load", Decision: event.Decision{ProblemEnded: true}},
		}, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Problems(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Probe != "disk" || got[0].Group != "front" || got[0].Notified != 300 || !got[0].Since.Equal(t0) ||
			!got[0].Renotified.Equal(t0.Add(time.Hour)) || !got[0].Escalated.Equal(t0.Add(30*time.Minute)) {
			t.Fatalf("problems: %+v, want disk's, renotified at +1h, escalated at +30m", got)
		}
		if err := s.insertEvents(ctx, []event.Event{{Kind: event.HostRemoved, HostUUID: "u1", Host: "web-1"}}, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Problems(ctx); err != nil || len(got) != 0 {
			t.Errorf("problems after the host's removal: %+v %v", got, err)
		}
		// A problem not renotified nor escalated reads back with zero times.
		if err := s.insertEvents(ctx, []event.Event{problem("io", t0, time.Time{}, time.Time{})}, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Problems(ctx); err != nil || len(got) != 1 || !got[0].Renotified.IsZero() || !got[0].Escalated.IsZero() {
			t.Errorf("problems: %+v %v, want io's with zero times", got, err)
		}
	})
}

// The silences maintenance windows open are remembered until their end,
// those of people are not.
func TestMaintenanceOpened(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
		set := func(id, author string, end time.Time) event.Event {
			return event.Event{Kind: event.SilenceSet, Silence: &event.Silence{ID: id, Host: "db*", Start: t0, End: end, Author: author, Created: t0}}
		}
		if err := s.insertEvents(ctx, []event.Event{
			set("backups.20260329T0100Z.1", event.MaintenanceAuthor, t0.Add(time.Hour)),
			set("patch.20260329T0100Z.1", event.MaintenanceAuthor, t0.Add(3*time.Hour)),
			set("5e1c0c3a-0000-4000-8000-000000000000", "alice", t0.Add(time.Hour)),
			{Kind: event.SilenceEnded, Silence: &event.Silence{ID: "backups.20260329T0100Z.1"}},
		}, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.MaintenanceOpened(ctx, t0.Add(30*time.Minute))
		if err != nil || len(got) != 2 || !got["backups.20260329T0100Z.1"].Equal(t0.Add(time.Hour)) || !got["patch.20260329T0100Z.1"].Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("opened inside the windows: %v %v, want both maintenance silences, the ended one too", got, err)
		}
		if got, err := s.MaintenanceOpened(ctx, t0.Add(time.Hour)); err != nil || len(got) != 1 || got["patch.20260329T0100Z.1"].IsZero() {
			t.Errorf("opened after the first window's end: %v %v, want the second only", got, err)
		}
		if n := countRows(t, s, "maintenance_opened"); n != 1 {
			t.Errorf("%d rows kept, want the one whose window has not ended", n)
		}
	})
}
