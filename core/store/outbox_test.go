package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func outboxEntry(ev, inst, host string) OutboxEntry {
	return OutboxEntry{EventID: ev, Instance: inst, Host: host, Payload: []byte(`{"EventId":"` + ev + `"}`)}
}

func dueIDs(t *testing.T, s *Store, now time.Time) []int64 {
	t.Helper()
	rows, err := s.DueOutbox(context.Background(), now, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestOutboxLifecycleAndOrdering(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Unix(1_700_000_000, 0)
		ids, err := s.EnqueueOutbox(ctx, t0,
			outboxEntry("e1", "http", "a"),
			outboxEntry("e2", "http", "a"),
			outboxEntry("e3", "http", "b"),
			outboxEntry("e1", "mail", "a"),
		)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 4 || ids[0] >= ids[1] {
			t.Fatalf("ids = %v", ids)
		}
		// Head of each (instance, host) queue only: e2 waits behind e1.
		if got := dueIDs(t, s, t0); !equalIDs(got, []int64{ids[0], ids[2], ids[3]}) {
			t.Fatalf("due = %v, want %v", got, []int64{ids[0], ids[2], ids[3]})
		}
		// e1/http fails: it is retried later and still blocks e2.
		next := t0.Add(time.Minute)
		if err := s.RecordOutboxResults(ctx, t0, OutboxResult{ID: ids[0], EventID: "e1", Instance: "http", Err: errors.New("boom"), NextAttempt: next}); err != nil {
			t.Fatal(err)
		}
		if got := dueIDs(t, s, t0); !equalIDs(got, []int64{ids[2], ids[3]}) {
			t.Fatalf("due after failure = %v", got)
		}
		if at, ok, err := s.NextOutboxAttempt(ctx, t0); err != nil || !ok || !at.Equal(next) {
			t.Fatalf("next attempt = %v %v %v, want %v", at, ok, err, next)
		}
		row, err := s.GetOutbox(ctx, ids[0])
		if err != nil || row.Attempts != 1 || row.LastError != "boom" || row.State != OutboxPending {
			t.Fatalf("row after failure = %+v, %v", row, err)
		}
		// Success of e1 unblocks e2.
		if err := s.RecordOutboxResults(ctx, next, OutboxResult{ID: ids[0], EventID: "e1", Instance: "http"}); err != nil {
			t.Fatal(err)
		}
		if got := dueIDs(t, s, next); !equalIDs(got, []int64{ids[1], ids[2], ids[3]}) {
			t.Fatalf("due after success = %v", got)
		}
		// Dead letter: listed, retried, due again with attempts reset.
		if err := s.RecordOutboxResults(ctx, next, OutboxResult{ID: ids[1], EventID: "e2", Instance: "http", Err: errors.New("gone"), Dead: true}); err != nil {
			t.Fatal(err)
		}
		dead, total, err := s.ListOutbox(ctx, OutboxQuery{States: []OutboxState{OutboxDead}})
		if err != nil || total != 1 || len(dead) != 1 || dead[0].ID != ids[1] || dead[0].Attempts != 1 {
			t.Fatalf("dead = %+v total %d %v", dead, total, err)
		}
		if err := s.RetryOutbox(ctx, ids[0], next); !errors.Is(err, ErrNotDead) {
			t.Fatalf("retry delivered row: %v, want ErrNotDead", err)
		}
		if err := s.RetryOutbox(ctx, 9999, next); !errors.Is(err, ErrNotFound) {
			t.Fatalf("retry unknown row: %v, want ErrNotFound", err)
		}
		if err := s.RetryOutbox(ctx, ids[1], next); err != nil {
			t.Fatal(err)
		}
		row, _ = s.GetOutbox(ctx, ids[1])
		if row.State != OutboxPending || row.Attempts != 0 {
			t.Fatalf("retried row = %+v", row)
		}
		counts, err := s.CountOutbox(ctx)
		if err != nil || counts[OutboxPending] != 3 || counts[OutboxDelivered] != 1 {
			t.Fatalf("counts = %v %v", counts, err)
		}
		// Pruning removes only old delivered rows.
		n, err := s.PruneOutbox(ctx, next.Add(time.Second))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v", n, err)
		}
		if _, total, _ := s.ListOutbox(ctx, OutboxQuery{}); total != 3 {
			t.Fatalf("after prune %d rows listed, want 3", total)
		}
	})
}

func TestOutboxFallbackReleaseAndCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		held := OutboxEntry{EventID: "e1", Instance: "mail", Host: "a", Payload: []byte("{}"), FallbackFor: "http"}
		held2 := held
		held2.EventID = "e2"
		ids, err := s.EnqueueOutbox(ctx, now, outboxEntry("e1", "http", "a"), held, outboxEntry("e2", "http", "a"), held2)
		if err != nil {
			t.Fatal(err)
		}
		if got := dueIDs(t, s, now); !equalIDs(got, []int64{ids[0]}) {
			t.Fatalf("due = %v: held rows must not be due", got)
		}
		// e1 fails once: its fallback is released; e2's stays held.
		if err := s.RecordOutboxResults(ctx, now, OutboxResult{ID: ids[0], EventID: "e1", Instance: "http", Err: errors.New("500"), NextAttempt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got := dueIDs(t, s, now); !equalIDs(got, []int64{ids[1]}) {
			t.Fatalf("due after primary failure = %v, want the released fallback %d", got, ids[1])
		}
		// e1 then succeeds; later e2 succeeds at once: its fallback is cancelled.
		if err := s.RecordOutboxResults(ctx, now,
			OutboxResult{ID: ids[0], EventID: "e1", Instance: "http"},
			OutboxResult{ID: ids[2], EventID: "e2", Instance: "http"}); err != nil {
			t.Fatal(err)
		}
		row, _ := s.GetOutbox(ctx, ids[3])
		if row.State != OutboxCancelled {
			t.Fatalf("fallback of a delivered event is %s, want cancelled", row.State)
		}
		row, _ = s.GetOutbox(ctx, ids[1])
		if row.State != OutboxPending {
			t.Fatalf("released fallback is %s, want pending", row.State)
		}
		// A held row whose primary is no longer configured is released.
		held3 := held
		held3.EventID = "e3"
		ids3, err := s.EnqueueOutbox(ctx, now, held3)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.ReleaseOrphanedOutbox(ctx, now, []string{"http", "mail"}); err != nil || n != 0 {
			t.Fatalf("released %d with http configured, %v", n, err)
		}
		if n, err := s.ReleaseOrphanedOutbox(ctx, now, []string{"mail"}); err != nil || n != 1 {
			t.Fatalf("released %d with http removed, %v", n, err)
		}
		if row, _ := s.GetOutbox(ctx, ids3[0]); row.State != OutboxPending {
			t.Fatalf("orphaned fallback is %s, want pending", row.State)
		}
	})
}

func TestOutboxSurvivesReopen(t *testing.T) {
	path := t.TempDir() + "/wigo.db"
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.EnqueueOutbox(context.Background(), time.Now(), outboxEntry("e1", "http", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := dueIDs(t, s2, time.Now()); !equalIDs(got, ids) {
		t.Fatalf("after reopen due = %v, want %v", got, ids)
	}
	// A retry scheduled by the previous run is brought forward by
	// RescheduleOutbox, keeping the attempt count.
	later := time.Now().Add(time.Hour)
	if err := s2.RecordOutboxResults(context.Background(), time.Now(), OutboxResult{ID: ids[0], EventID: "e1", Instance: "http", Err: errors.New("x"), NextAttempt: later}); err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(t, s2, time.Now()); len(got) != 0 {
		t.Fatalf("due before reschedule = %v", got)
	}
	if n, err := s2.RescheduleOutbox(context.Background(), time.Now()); err != nil || n != 1 {
		t.Fatalf("reschedule = %d, %v", n, err)
	}
	if row, _ := s2.GetOutbox(context.Background(), ids[0]); row.Attempts != 1 || row.NextAttempt.After(time.Now()) {
		t.Fatalf("rescheduled row = %+v", row)
	}
	if _, _, err := s2.ListOutbox(context.Background(), OutboxQuery{Limit: -1}); !errors.Is(err, ErrInvalidQuery) {
		t.Fatalf("negative limit: %v", err)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOutboxDuePlan checks that the dispatcher's query reads indexes only:
// it runs after every batch of deliveries, with the whole backlog in the
// table, so a full scan would make a large backlog quadratic.
func TestOutboxDuePlan(t *testing.T) {
	s := OpenTest(t)
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT `+outboxColumns+` FROM outbox o
		WHERE o.state = 'pending' AND o.next_at <= ?
		  AND NOT EXISTS (SELECT 1 FROM outbox p
		                  WHERE p.state = 'pending' AND p.instance = o.instance
		                    AND p.host = o.host AND p.id < o.id)
		ORDER BY o.next_at, o.id LIMIT ?`, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	p := strings.Join(plan, " | ")
	t.Logf("due plan: %s", p)
	if !strings.Contains(p, "outbox_due") || !strings.Contains(p, "outbox_order") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("due plan %q does not use outbox_due and outbox_order without a sort", p)
	}
}
