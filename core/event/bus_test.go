package event

import (
	"testing"
	"time"
)

func TestLossySubscriberDropsAndCounts(t *testing.T) {
	b := NewBus()
	slow := b.Subscribe(SubscribeOptions{Buffer: 2})
	fast := b.Subscribe(SubscribeOptions{Buffer: 100})
	for range 10 {
		b.Publish(Event{Kind: ProbeChanged})
	}
	if got := slow.Dropped(); got != 8 {
		t.Errorf("slow dropped %d, want 8", got)
	}
	if got := len(fast.C); got != 10 || fast.Dropped() != 0 {
		t.Errorf("fast has %d events, dropped %d", got, fast.Dropped())
	}
	first := <-fast.C
	if first.Seq != 1 || first.Time.IsZero() {
		t.Errorf("first event = %+v", first)
	}
}

func TestKindsFilter(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(SubscribeOptions{Kinds: []Kind{HostDown}})
	b.Publish(Event{Kind: ProbeUpdated}, Event{Kind: HostDown}, Event{Kind: ProbeChanged})
	if len(s.C) != 1 {
		t.Fatalf("got %d events, want 1", len(s.C))
	}
	if e := <-s.C; e.Kind != HostDown || e.Seq != 2 {
		t.Errorf("event = %+v", e)
	}
}

// Also lets through, besides the kinds, the events it accepts: the soft
// result that is logged, not the other updates.
func TestKindsAlso(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(SubscribeOptions{Kinds: []Kind{HostDown}, Also: (*Event).Logged})
	b.Publish(Event{Kind: ProbeUpdated}, Event{Kind: ProbeUpdated, Decision: Decision{Soft: &Soft{Count: 2}}}, Event{Kind: HostDown})
	if len(s.C) != 2 {
		t.Fatalf("got %d events, want 2", len(s.C))
	}
	if e := <-s.C; e.Kind != ProbeUpdated || e.Seq != 2 {
		t.Errorf("first event = %+v, want the soft result", e)
	}
}

func TestLosslessBackPressureAndClose(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(SubscribeOptions{Buffer: 1, Lossless: true})
	b.Publish(Event{Kind: HostUp})
	done := make(chan struct{})
	go func() {
		b.Publish(Event{Kind: HostDown}) // waits: the buffer is full
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("lossless publish did not wait for room")
	case <-time.After(50 * time.Millisecond):
	}
	// Closing from the consumer side must release the blocked publisher.
	s.Close()
	<-done
	s.Close()
	b.Publish(Event{Kind: HostUp}) // no subscriber left: must not block or panic
}
