package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

func probeChanged(i int) event.Event {
	return event.Event{
		Kind: event.ProbeChanged, Time: base.Add(time.Duration(i) * time.Second),
		Host: "leaf-1", Group: "web", Probe: "load",
		OldStatus: 100, NewStatus: 300, Message: fmt.Sprintf("change %d", i),
	}
}

func TestWriterThroughBus(t *testing.T) {
	// A flush interval no test waits for: only Flush may commit here.
	forEachBackendOptions(t, Options{FlushInterval: time.Hour}, func(t *testing.T, s *Store) {
		bus := event.NewBus()
		sub := bus.Subscribe(event.SubscribeOptions{Lossless: true})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Consume(ctx, sub) }()

		at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
		bus.Publish(
			event.Event{Kind: event.ProbeChanged, Time: at(1), Host: "leaf-1", Group: "web", Probe: "warn", OldStatus: 250, NewStatus: 300, Message: "Probe warn switched from 250 to 300 : disk 99%"},
			event.Event{Kind: event.ProbeUpdated, Time: at(2), Host: "leaf-1", Group: "web", Probe: "warn", OldStatus: 300, NewStatus: 300, Message: "updated, not logged"},
			event.Event{Kind: event.ProbeAppeared, Time: at(3), Host: "leaf-1", Group: "web", Probe: "ok", NewStatus: 100, Message: "appeared OK, not logged"},
			event.Event{Kind: event.ProbeAppeared, Time: at(4), Host: "leaf-1", Group: "web", Probe: "bad", NewStatus: 200, Message: "appeared WARN"},
			event.Event{Kind: event.HostAppeared, Time: at(5), Host: "db-1", Group: "infra", Message: "host appeared, not logged"},
			event.Event{Kind: event.HostDown, Time: at(6), Host: "db-1", Group: "infra", OldStatus: 100, NewStatus: 999, Message: "db-1 is DOWN"},
			event.Event{Kind: event.HostUp, Time: at(7), Host: "db-1", Group: "infra", OldStatus: 999, NewStatus: 100, Message: "db-1 is UP"},
			event.Event{Kind: event.ProbeDisappeared, Time: at(8), Host: "leaf-1", Group: "web", Probe: "bad", OldStatus: 200, Message: "probe bad removed"},
		)
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := s.Search(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"probe bad removed", "db-1 is UP", "db-1 is DOWN", "appeared WARN", "Probe warn switched from 250 to 300 : disk 99%"}
		if !slices.Equal(messages(got), want) {
			t.Fatalf("rows %q, want %q", messages(got), want)
		}
		// The row is exactly what Event.LogEntry renders.
		first := event.Event{Kind: event.ProbeChanged, Time: at(1), Host: "leaf-1", Group: "web", Probe: "warn", OldStatus: 250, NewStatus: 300, Message: want[4]}
		if got[4] != first.LogEntry() {
			t.Errorf("row %+v, want %+v", got[4], first.LogEntry())
		}
		if got[2].Level != model.LogEmergency || got[0].Level != model.LogNotice {
			t.Errorf("levels: DOWN %d, disappeared %d", got[2].Level, got[0].Level)
		}

		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Consume: %v", err)
		}
		// The subscription is closed: publishing no longer blocks on it.
		bus.Publish(probeChanged(99))
		if err := s.Flush(context.Background()); err != nil {
			t.Errorf("Flush without a writer: %v", err)
		}
	})
}

func TestWriterBatchesBySize(t *testing.T) {
	commits := make(chan int, 100)
	s := OpenTestOptions(t, Options{BatchSize: 10, FlushInterval: time.Hour, OnCommit: func(n int) { commits <- n }})
	ch := make(chan event.Event)
	done := make(chan error, 1)
	go func() { done <- s.RunWriter(context.Background(), ch) }()
	for i := range 25 {
		ch <- probeChanged(i)
		ch <- event.Event{Kind: event.ProbeUpdated, Message: "skip"}
	}
	// Two full batches are committed without being asked.
	for range 2 {
		if n := <-commits; n != 10 {
			t.Fatalf("batch of %d rows, want 10", n)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := <-commits; n != 5 {
		t.Fatalf("flushed %d rows, want 5", n)
	}
	// Closing the channel stops the writer cleanly.
	ch <- probeChanged(25)
	close(ch)
	if err := <-done; err != nil {
		t.Fatalf("RunWriter: %v", err)
	}
	if n := <-commits; n != 1 {
		t.Fatalf("final commit of %d rows, want 1", n)
	}
	got, err := s.Search(context.Background(), Query{})
	if err != nil || len(got) != 26 {
		t.Fatalf("%d rows (%v), want 26", len(got), err)
	}
	for i, e := range got {
		if want := fmt.Sprintf("change %d", 25-i); e.Message != want {
			t.Fatalf("row %d is %q, want %q", i, e.Message, want)
		}
	}
}

func TestWriterFlushesOnInterval(t *testing.T) {
	commits := make(chan int, 10)
	s := OpenTestOptions(t, Options{BatchSize: 1000, FlushInterval: 20 * time.Millisecond, OnCommit: func(n int) { commits <- n }})
	ch := make(chan event.Event, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunWriter(ctx, ch) }()
	for i := range 3 {
		ch <- probeChanged(i)
	}
	// Nobody flushes and the batch is far from full: only the timer can
	// commit these (in one batch or more, depending on scheduling).
	total := 0
	for total < 3 {
		total += <-commits
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWriterDrainsOnCancel(t *testing.T) {
	forEachBackendOptions(t, Options{FlushInterval: time.Hour}, func(t *testing.T, s *Store) {
		bus := event.NewBus()
		sub := bus.Subscribe(event.SubscribeOptions{Lossless: true, Buffer: 4096, Kinds: []event.Kind{event.ProbeChanged}})
		ctx, cancel := context.WithCancel(context.Background())
		for i := range 3000 {
			bus.Publish(probeChanged(i))
		}
		cancel() // before the writer even starts: it must still drain the buffer
		if err := s.Consume(ctx, sub); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.r.QueryRow("SELECT COUNT(*) FROM logs").Scan(&n); err != nil || n != 3000 {
			t.Fatalf("%d rows (%v), want 3000", n, err)
		}

		// The same on a plain channel.
		ch := make(chan event.Event, 100)
		for i := range 100 {
			ch <- probeChanged(i)
		}
		if err := s.RunWriter(ctx, ch); err != nil {
			t.Fatal(err)
		}
		if err := s.r.QueryRow("SELECT COUNT(*) FROM logs").Scan(&n); err != nil || n != 3100 {
			t.Fatalf("%d rows (%v), want 3100", n, err)
		}
	})
}

func TestWriterOnlyOne(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ch := make(chan event.Event)
		done := make(chan error, 1)
		go func() { done <- s.RunWriter(context.Background(), ch) }()
		// An unbuffered send completes only once the writer is in its loop,
		// which it enters after registering itself.
		ch <- probeChanged(0)
		if err := s.RunWriter(context.Background(), make(chan event.Event)); !errors.Is(err, ErrWriterRunning) {
			t.Errorf("second writer: %v, want ErrWriterRunning", err)
		}
		close(ch)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
