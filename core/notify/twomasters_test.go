package notify

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openShared opens two Stores on one fresh PostgreSQL database: two
// masters' handles on the database they share.
func openShared(t *testing.T) (a, b *store.Store) {
	t.Helper()
	dsn := pgtest.DSN(t)
	open := func() *store.Store {
		s, err := store.OpenPostgres(dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}

// observed is the i-th change as every master sees it: the same host
// UUID, probe, transition and result time, whoever pulled it.
func observed(i int) event.Event {
	e := change(fmt.Sprintf("web-%03d", i), "load")
	e.HostUUID = fmt.Sprintf("uuid-%03d", i)
	e.New.ProbeDate = model.FormatDate(time.Date(2026, 12, 4, 21, 0, 0, i*1000, time.UTC))
	return e
}

// Two masters sharing a PostgreSQL database observe the same 500 changes
// at the same time: each change is sent once, by one of them.
func TestTwoMastersSendEachChangeOnce(t *testing.T) {
	a, b := openShared(t)
	rec := newRecorder(nil)
	_, busA, _ := start(t, Options{Store: a, Sender: rec, Instances: []Instance{allOf("http")}, Owner: "master-a"})
	_, busB, _ := start(t, Options{Store: b, Sender: rec, Instances: []Instance{allOf("http")}, Owner: "master-b"})
	var wg sync.WaitGroup
	for _, bus := range []*event.Bus{busA, busB} {
		wg.Go(func() {
			for i := range 500 {
				bus.Publish(observed(i))
			}
		})
	}
	wg.Wait()
	eventually(t, "500 delivered rows", func() bool { return counts(t, a)[store.OutboxDelivered] == 500 })
	// Anything sent twice would have been sent by now: the rows are done.
	sent := map[string]int{}
	for _, c := range rec.snapshot() {
		sent[c.n.Hostname]++
	}
	dups := 0
	for _, n := range sent {
		dups += n - 1
	}
	if len(sent) != 500 || dups != 0 {
		t.Errorf("%d changes sent, %d duplicates; want 500, 0", len(sent), dups)
	}
	if c := counts(t, b); c[store.OutboxDelivered] != 500 || c[store.OutboxPending] != 0 {
		t.Errorf("outbox = %v, want 500 delivered", c)
	}
}

// A master that dies mid-delivery (its pipeline stops, its Send cut
// short and not recorded) holds the row until its lease ends; then the
// other master claims it and delivers it, under the second claim, without
// a failed attempt on the row.
func TestTwoMastersLeaseRunsOut(t *testing.T) {
	a, b := openShared(t)
	const lease = 1500 * time.Millisecond
	dead := newRecorder(func(ctx context.Context, _ string, _ *Notification, _ int) error {
		<-ctx.Done()
		return ctx.Err()
	})
	_, busA, stopA := start(t, Options{Store: a, Sender: dead, Instances: []Instance{allOf("http")}, Owner: "master-a",
		SendTimeout: time.Second, Lease: lease})
	busA.Publish(observed(1))
	var claimed store.OutboxRow
	eventually(t, "a's claim", func() bool {
		rows, _, err := a.ListOutbox(context.Background(), store.OutboxQuery{})
		if err == nil && len(rows) == 1 && rows[0].LeaseOwner == "master-a" {
			claimed = rows[0]
			return true
		}
		return false
	})
	stopA()
	rec := newRecorder(nil)
	start(t, Options{Store: b, Sender: rec, Instances: []Instance{allOf("http")}, Owner: "master-b"})
	c := await(t, rec.ch, 10*time.Second)
	if c.n.Hostname != "web-001" {
		t.Fatalf("b sent %+v", c.n)
	}
	claimedAt := claimed.LeaseUntil.Add(-lease)
	takeover := c.at.Sub(claimedAt)
	t.Logf("b sent the row %s after a claimed it (lease %s)", takeover.Round(time.Millisecond), lease)
	if takeover < lease || takeover > lease+2*time.Second {
		t.Errorf("b took over %s after a's claim, want just after the lease of %s", takeover, lease)
	}
	eventually(t, "b's delivery", func() bool { return counts(t, b)[store.OutboxDelivered] == 1 })
	got, err := b.GetOutbox(context.Background(), claimed.ID)
	if err != nil || got.LeaseOwner != "master-b" || got.Lease != 2 || got.Attempts != 0 {
		t.Errorf("row = %+v, %v; want b's, under the second claim, no failed attempt", got, err)
	}
}

// await is the next value of c, failing the test after d.
func await[T any](t *testing.T, c <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(d):
		t.Fatalf("nothing within %s", d)
	}
	var zero T
	return zero
}

// Only a probe's change, with the host's UUID and the result's own time,
// has a key; the same change seen twice has the same key, the next change
// of the probe another.
func TestIdempotencyKey(t *testing.T) {
	e := observed(7)
	k := idempotencyKey(e)
	if k == "" || idempotencyKey(observed(7)) != k {
		t.Fatalf("key of a change = %q, not the same for the same change", k)
	}
	later := observed(7)
	later.New.ProbeDate = model.FormatDate(time.Date(2026, 12, 4, 21, 0, 1, 0, time.UTC))
	back := observed(7)
	back.OldStatus, back.NewStatus = 300, 100
	if idempotencyKey(later) == k || idempotencyKey(back) == k {
		t.Error("another result or another transition has the same key")
	}
	noUUID, noTime, renotify := observed(7), observed(7), observed(7)
	noUUID.HostUUID = ""
	noTime.New.ProbeDate = ""
	renotify.Kind = event.Renotify
	for name, e := range map[string]event.Event{"no host UUID": noUUID, "no result time": noTime, "renotify": renotify} {
		if k := idempotencyKey(e); k != "" {
			t.Errorf("%s: key %q, want none", name, k)
		}
	}
}

// The database restarts while a Send is in flight: the outcome cannot be
// recorded when the Send returns, and is recorded once the database is
// back, under the claim it was sent under. The row is delivered and never
// claimed, nor sent, again (forgetting the outcome would send it a second
// time once the claim ran out).
func TestDeliveryRecordedAfterDatabaseRestart(t *testing.T) {
	st, _ := openShared(t)
	sending, release := make(chan struct{}, 10), make(chan struct{})
	rec := newRecorder(func(ctx context.Context, _ string, _ *Notification, _ int) error {
		sending <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second): // a failed test must still end
		}
		return nil
	})
	_, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http")}, Owner: "master-a",
		SendTimeout: time.Second, Lease: 1500 * time.Millisecond})
	bus.Publish(observed(1))
	await(t, sending, 10*time.Second)
	pgtest.Down(t)
	close(release) // received, and answered while the database is away
	// The outcome's first commit fails on the database that is down.
	time.Sleep(300 * time.Millisecond) // the outage's length: fault injection, not synchronisation
	pgtest.Up(t)
	var row store.OutboxRow
	eventually(t, "the delivery recorded", func() bool {
		rows, _, err := st.ListOutbox(context.Background(), store.OutboxQuery{States: []store.OutboxState{store.OutboxDelivered, store.OutboxPending}})
		if err == nil && len(rows) == 1 && rows[0].State == store.OutboxDelivered {
			row = rows[0]
			return true
		}
		return false
	})
	if row.Lease != 1 || len(sending) != 0 {
		t.Errorf("row under claim %d, sent %d more times; want delivered under its first claim, sent once", row.Lease, len(sending))
	}
}
