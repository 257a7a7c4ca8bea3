package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// changes are n probe changes of n hosts as a master queues their
// notifications, with the event ids this master made up (each master its
// own) and the idempotency key every master derives alike.
func changes(n int, master string) []OutboxEntry {
	out := make([]OutboxEntry, n)
	for i := range out {
		host := fmt.Sprintf("web-%03d", i)
		out[i] = OutboxEntry{
			EventID:  fmt.Sprintf("%s-%d", master, i),
			Instance: "pager",
			Host:     host,
			Payload:  []byte(`{"Host":"` + host + `"}`),
			Key: IdempotencyKey(fmt.Sprintf("uuid-%03d", i), "load", event.ProbeChanged, 100, 300,
				"2026-12-04T21:00:00.000000Z"),
		}
	}
	return out
}

// Two masters sharing a database observe the same 500 changes and queue
// them at the same time, each in batches: the outbox holds 500 rows, one
// per change, whoever queued it.
func TestOutboxQueuesEachChangeOnce(t *testing.T) {
	forEachBackendPair(t, func(t *testing.T, a, b *Store) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		var wg sync.WaitGroup
		inserted := make([]int, 2)
		for m, s := range []*Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				all := changes(500, fmt.Sprint("master", m))
				for len(all) > 0 {
					n := min(len(all), 50)
					ids, err := s.EnqueueOutbox(ctx, now, all[:n]...)
					if err != nil {
						t.Errorf("master %d: %v", m, err)
						return
					}
					for _, id := range ids {
						if id != 0 {
							inserted[m]++
						}
					}
					all = all[n:]
				}
			}()
		}
		wg.Wait()
		if got := countRows(t, a, "outbox"); got != 500 {
			t.Fatalf("outbox has %d rows, want 500", got)
		}
		if inserted[0]+inserted[1] != 500 {
			t.Errorf("ids returned: %d + %d, want 500 in all", inserted[0], inserted[1])
		}
		// Rows without a key are never taken for one another.
		plain := changes(3, "x")
		for i := range plain {
			plain[i].Key = ""
		}
		for range 2 {
			if _, err := a.EnqueueOutbox(ctx, now, plain...); err != nil {
				t.Fatal(err)
			}
		}
		if got := countRows(t, b, "outbox"); got != 506 {
			t.Errorf("outbox has %d rows after 6 without a key, want 506", got)
		}
	})
}

// A master claims a row and dies (its lease runs out): the other claims it
// then, not before, and the first one's late result is refused while the
// second one's is applied.
func TestOutboxLeaseFencing(t *testing.T) {
	forEachBackendPair(t, func(t *testing.T, a, b *Store) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		const lease = 30 * time.Second
		if _, err := a.EnqueueOutbox(ctx, now, changes(1, "a")...); err != nil {
			t.Fatal(err)
		}
		first, err := a.ClaimOutbox(ctx, "master-a", now, lease, 10)
		if err != nil || len(first) != 1 || first[0].LeaseOwner != "master-a" || first[0].Lease != 1 {
			t.Fatalf("a's claim = %+v, %v; want the row, lease 1", first, err)
		}
		if got, err := b.ClaimOutbox(ctx, "master-b", now.Add(lease-time.Second), lease, 10); err != nil || len(got) != 0 {
			t.Fatalf("b's claim within a's lease = %+v, %v; want none", got, err)
		}
		if next, ok, err := b.NextOutboxAttempt(ctx, now); err != nil || !ok || !next.Equal(now.Add(lease)) {
			t.Errorf("next attempt = %v, %v, %v; want the end of a's lease %v", next, ok, err, now.Add(lease))
		}
		later := now.Add(lease)
		second, err := b.ClaimOutbox(ctx, "master-b", later, lease, 10)
		if err != nil || len(second) != 1 || second[0].ID != first[0].ID || second[0].Lease != 2 {
			t.Fatalf("b's claim after a's lease = %+v, %v; want the row, lease 2", second, err)
		}
		done := func(r OutboxRow) OutboxResult {
			return OutboxResult{ID: r.ID, EventID: r.EventID, Instance: r.Instance, Lease: r.Lease}
		}
		refused, err := a.CompleteOutbox(ctx, later.Add(time.Second), done(first[0]))
		if err != nil || len(refused) != 1 || refused[0] != first[0].ID {
			t.Fatalf("a's late completion: refused %v, %v; want its row refused", refused, err)
		}
		// A failure under the old lease is refused just the same.
		failed := done(first[0])
		failed.Err, failed.NextAttempt = errors.New("timeout"), later.Add(time.Minute)
		if refused, err := a.CompleteOutbox(ctx, later.Add(time.Second), failed); err != nil || len(refused) != 1 {
			t.Fatalf("a's late failure: refused %v, %v; want it refused", refused, err)
		}
		if row, err := b.GetOutbox(ctx, first[0].ID); err != nil || row.State != OutboxPending || row.Attempts != 0 {
			t.Fatalf("after a's late results the row is %+v, %v; want it pending, untouched", row, err)
		}
		if refused, err := b.CompleteOutbox(ctx, later.Add(2*time.Second), done(second[0])); err != nil || len(refused) != 0 {
			t.Fatalf("b's completion: refused %v, %v; want it applied", refused, err)
		}
		if row, _ := a.GetOutbox(ctx, first[0].ID); row.State != OutboxDelivered {
			t.Errorf("row is %s after b's completion, want delivered", row.State)
		}
		if got, _ := a.ClaimOutbox(ctx, "master-a", later.Add(time.Hour), lease, 10); len(got) != 0 {
			t.Errorf("a delivered row was claimed again: %+v", got)
		}
	})
}

// Two masters claiming at the same time share the due rows: each row goes
// to one of them, none to both.
func TestOutboxConcurrentClaimsAreDisjoint(t *testing.T) {
	forEachBackendPair(t, func(t *testing.T, a, b *Store) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		if _, err := a.EnqueueOutbox(ctx, now, changes(500, "a")...); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		owner := map[int64]string{}
		var wg sync.WaitGroup
		for _, c := range []struct {
			s    *Store
			name string
		}{{a, "a"}, {b, "b"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					rows, err := c.s.ClaimOutbox(ctx, c.name, now, time.Minute, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(rows) == 0 {
						return
					}
					mu.Lock()
					for _, r := range rows {
						if prev, ok := owner[r.ID]; ok {
							t.Errorf("row %d claimed by %s and %s", r.ID, prev, c.name)
						}
						owner[r.ID] = c.name
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(owner) != 500 {
			t.Errorf("%d rows claimed, want 500", len(owner))
		}
	})
}
