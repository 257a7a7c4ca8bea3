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

// A master whose Send hangs past its lease (as if it had died mid-
// delivery) loses the row to the other master, which delivers it; its own
// late success is refused, and the row stays delivered once.
func TestTwoMastersLeaseRunsOut(t *testing.T) {
	a, b := openShared(t)
	release := make(chan struct{})
	hung := newRecorder(func(ctx context.Context, _ string, _ *Notification, _ int) error {
		<-release
		return nil
	})
	_, busA, stopA := start(t, Options{Store: a, Sender: hung, Instances: []Instance{allOf("http")}, Owner: "master-a",
		Lease: 300 * time.Millisecond})
	busA.Publish(observed(1))
	eventually(t, "a's claim", func() bool {
		rows, _, err := a.ListOutbox(context.Background(), store.OutboxQuery{})
		return err == nil && len(rows) == 1 && rows[0].LeaseOwner == "master-a"
	})
	rec := newRecorder(nil)
	start(t, Options{Store: b, Sender: rec, Instances: []Instance{allOf("http")}, Owner: "master-b"})
	c := <-rec.ch
	if c.n.Hostname != "web-001" {
		t.Fatalf("b sent %+v", c.n)
	}
	eventually(t, "b's delivery", func() bool { return counts(t, b)[store.OutboxDelivered] == 1 })
	rows, _, err := b.ListOutbox(context.Background(), store.OutboxQuery{States: []store.OutboxState{store.OutboxDelivered}})
	if err != nil || len(rows) != 1 || rows[0].LeaseOwner != "master-b" || rows[0].Lease != 2 {
		t.Fatalf("delivered rows = %+v, %v; want b's, under the second claim", rows, err)
	}
	close(release) // a's Send returns, too late
	eventually(t, "a's late send", func() bool { return len(hung.snapshot()) == 1 })
	stopA()
	if c := counts(t, a); c[store.OutboxDelivered] != 1 || len(c) != 1 {
		t.Errorf("outbox = %v, want the one row delivered", c)
	}
	if got, err := a.GetOutbox(context.Background(), rows[0].ID); err != nil || got.Lease != 2 || got.Attempts != 0 {
		t.Errorf("row after a's late result = %+v, %v; want b's claim and no failed attempt", got, err)
	}
}
