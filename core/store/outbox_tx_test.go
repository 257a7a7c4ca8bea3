package store

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// notifyAll is an Outbox that queues one row per probe change.
type notifyAll struct {
	mu        sync.Mutex
	prepared  int
	committed []string
}

func (o *notifyAll) Prepare(events []event.Event) ([]OutboxEntry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []OutboxEntry
	for _, e := range events {
		if e.Kind == event.ProbeChanged {
			o.prepared++
			out = append(out, OutboxEntry{EventID: e.Probe, Instance: "http", Host: e.Host, Payload: []byte(`{}`)})
		}
	}
	return out, nil
}

func (o *notifyAll) Committed(entries []OutboxEntry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range entries {
		o.committed = append(o.committed, e.EventID)
	}
}

// failures counts the writer's failed commits from its log.
type failures struct {
	mu sync.Mutex
	n  int
	c  chan struct{}
}

func (f *failures) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "committing log rows failed") {
		f.mu.Lock()
		f.n++
		if f.n == 2 {
			close(f.c)
		}
		f.mu.Unlock()
	}
	return len(p), nil
}

// A status change, its record and its notification are committed in one
// transaction: while the outbox rows cannot be written, neither the log row
// nor the host record is, and once they can, all three are there, the
// notifications prepared once however many times the commit was retried.
func TestWriterQueuesNotificationsWithTheChange(t *testing.T) {
	fails := &failures{c: make(chan struct{})}
	s := OpenTestOptions(t, Options{FlushInterval: time.Millisecond,
		Logger: hclog.New(&hclog.LoggerOptions{Output: fails, Level: hclog.Error})})
	ob := &notifyAll{}
	s.SetOutbox(ob)
	if _, err := s.w.Exec(`CREATE TRIGGER full_disk BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	ch := make(chan event.Event, 1)
	done := make(chan error, 1)
	go func() { done <- s.RunWriter(context.Background(), ch) }()
	ch <- event.Event{Kind: event.ProbeChanged, Time: base, HostUUID: "h1", Host: "web-1", Probe: "disk",
		OldStatus: 100, NewStatus: 300, New: &model.ProbeResult{Name: "disk", Status: 300}, Remote: true,
		Facts: event.HostFacts{Alive: true, Heard: base}}
	<-fails.c // two commits failed
	count := func(table string) int {
		var n int
		if err := s.w.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if l, h, o := count("logs"), count("host_probes"), count("outbox"); l+h+o != 0 {
		t.Fatalf("after failed commits: %d log rows, %d probe records, %d outbox rows; want none of them", l, h, o)
	}
	if _, err := s.w.Exec(`DROP TRIGGER full_disk`); err != nil {
		t.Fatal(err)
	}
	close(ch)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l, h, o := count("logs"), count("host_probes"), count("outbox"); l != 1 || h != 1 || o != 1 {
		t.Fatalf("after the commit: %d log rows, %d probe records, %d outbox rows; want 1 of each", l, h, o)
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.prepared != 1 || strings.Join(ob.committed, ",") != "disk" {
		t.Errorf("prepared %d times, committed %v; want once, [disk]", ob.prepared, ob.committed)
	}
}
