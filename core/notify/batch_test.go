package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/storetest"
)

// batchRecorder is a BatchSender recording each batch; the first attempt
// of probe "p0" of host h3 fails, to show a host's order across retries.
type batchRecorder struct {
	*recorder
	mu      sync.Mutex
	batches [][]string // host/probe of each notification, per batch
}

func (b *batchRecorder) Batches(instance string) bool { return instance == "http" }

func (b *batchRecorder) SendBatch(ctx context.Context, instance string, ns []*Notification) ([]error, error) {
	if instance != "http" {
		return nil, fmt.Errorf("a batch for %s, which does not take them", instance)
	}
	var names []string
	errs := make([]error, len(ns))
	for i, n := range ns {
		names = append(names, n.Hostname+"/"+n.Probe)
		errs[i] = b.Send(ctx, instance, n)
	}
	b.mu.Lock()
	b.batches = append(b.batches, names)
	b.mu.Unlock()
	return errs, nil
}

// TestBatchesKeepEachHostsOrder: with a BatchSender, a burst goes out in
// batches to the instance that takes them (one at a time to the other),
// none holding two notifications of one host, each host's in the order of
// its events (a failed one holds its host's next), every one delivered
// once.
func TestBatchesKeepEachHostsOrder(t *testing.T) {
	st := storetest.Open(t)
	rec := &batchRecorder{recorder: newRecorder(func(_ context.Context, _ string, n *Notification, attempt int) error {
		if n.Hostname == "h3" && n.Probe == "p0" && attempt == 1 {
			return errors.New("503")
		}
		return nil
	})}
	_, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http"), allOf("mail")}, BatchSize: 8})
	const hosts, per = 20, 5
	for p := range per {
		for h := range hosts {
			bus.Publish(change(fmt.Sprintf("h%d", h), fmt.Sprintf("p%d", p)))
		}
	}
	eventually(t, "all delivered", func() bool { return counts(t, st)[store.OutboxDelivered] == 2*hosts*per })

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, b := range rec.batches {
		if len(b) > 8 {
			t.Errorf("a batch of %d, over BatchSize: %v", len(b), b)
		}
		seen := map[string]bool{}
		for _, hp := range b {
			h := hp[:len(hp)-3]
			if seen[h] {
				t.Errorf("batch %v holds host %s twice", b, h)
			}
			seen[h] = true
		}
	}
	if len(rec.batches) >= hosts*per/2 {
		t.Errorf("%d sends for %d notifications: not batched", len(rec.batches), hosts*per)
	}
	order := map[string][]string{}
	delivered := map[string]int{}
	for _, c := range rec.snapshot() {
		if c.instance != "http" {
			continue
		}
		order[c.n.Hostname] = append(order[c.n.Hostname], c.n.Probe)
		if c.err == nil {
			delivered[c.n.EventId]++
		}
	}
	for h, got := range order {
		want := []string{"p0", "p1", "p2", "p3", "p4"}
		if h == "h3" {
			want = slices.Insert(want, 0, "p0")
		}
		if !slices.Equal(got, want) {
			t.Errorf("host %s sent %v, want %v", h, got, want)
		}
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(delivered) != hosts*per {
		t.Errorf("%d events delivered, want %d", len(delivered), hosts*per)
	}
}
