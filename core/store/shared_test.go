package store

import (
	"context"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

// Two masters on one PostgreSQL database: an acknowledgement or a silence
// one of them records (or removes) is announced to the other within a
// second, which reads it from the store; a master does not hear its own,
// and a change it applies as the other's (Shared) is neither stored nor
// announced again.
func TestSharedChangesAreHeardByTheOtherMaster(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := openTestPostgres(t, dsn, Options{Instance: "master-a"})
	b := openTestPostgres(t, dsn, Options{Instance: "master-b"})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	heard := func(s *Store) <-chan SharedChange {
		ch := make(chan SharedChange, 16)
		go func() { _ = s.WatchShared(ctx, func(c SharedChange) { ch <- c }) }()
		if c := <-ch; !c.All {
			t.Fatalf("first call is %+v, want All (listening)", c)
		}
		return ch
	}
	atA, atB := heard(a), heard(b)
	next := func(ch <-chan SharedChange) SharedChange {
		t.Helper()
		select {
		case c := <-ch:
			return c
		case <-time.After(time.Second):
			t.Fatal("nothing heard within a second")
			return SharedChange{}
		}
	}
	now := time.Unix(1_800_000_000, 0)
	ack := event.Ack{HostUUID: "uuid-web", Host: "web", Probe: "disk", Status: 300, Author: "alice", Comment: "on it", Time: now}
	writeEvents(t, a, event.Event{Kind: event.Acknowledged, Time: now, HostUUID: "uuid-web", Host: "web", Probe: "disk",
		OldStatus: 300, NewStatus: 300, Message: "web/disk acknowledged by alice: on it", Ack: &ack})
	c := next(atB)
	if c.Origin != "master-a" || c.Kind != SharedAck || c.Host != "uuid-web" || c.Probe != "disk" || c.Removed {
		t.Errorf("heard %+v", c)
	}
	if c.Log == nil || c.Log.Message != "web/disk acknowledged by alice: on it" {
		t.Errorf("announced log row %+v", c.Log)
	}
	got, ok, err := b.Ack(ctx, c.Host, c.Probe)
	if err != nil || !ok || got.Author != "alice" || got.Comment != "on it" || got.Status != 300 || !got.Time.Equal(now) {
		t.Errorf("b.Ack = %+v, %v, %v", got, ok, err)
	}

	// b applies it as a's change: nothing stored, nothing announced.
	shared := event.Event{Kind: event.Acknowledged, Time: now, HostUUID: "uuid-web", Host: "web", Probe: "disk", Ack: &ack, Shared: true}
	writeEvents(t, b, shared)
	if n := countRows(t, b, "logs"); n != 1 {
		t.Errorf("%d log rows, want the one a wrote", n)
	}

	si := event.Silence{ID: "s1", Host: "web*", Start: now, End: now.Add(time.Hour), Author: "bob", Created: now}
	writeEvents(t, b, event.Event{Kind: event.SilenceSet, Time: now, Message: "silence s1 set by bob", Silence: &si})
	c = next(atA)
	if c.Origin != "master-b" || c.Kind != SharedSilence || c.Silence != "s1" || c.Removed {
		t.Errorf("heard %+v", c)
	}
	if got, ok, err := a.Silence(ctx, "s1"); err != nil || !ok || got.Host != "web*" || !got.End.Equal(si.End) {
		t.Errorf("a.Silence = %+v, %v, %v", got, ok, err)
	}
	writeEvents(t, a, event.Event{Kind: event.SilenceEnded, Time: now, Message: "silence s1 expired by carol", Silence: &si},
		event.Event{Kind: event.AckRemoved, Time: now, HostUUID: "uuid-web", Host: "web", Probe: "disk", Ack: &ack, Message: "removed"})
	if c := next(atB); c.Kind != SharedSilence || c.Silence != "s1" || !c.Removed {
		t.Errorf("heard %+v, want s1 ended", c)
	}
	if c := next(atB); c.Kind != SharedAck || c.Host != "uuid-web" || !c.Removed {
		t.Errorf("heard %+v, want the ack removed", c)
	}
	if _, ok, _ := b.Silence(ctx, "s1"); ok {
		t.Error("b still reads silence s1")
	}
	if _, ok, _ := b.Ack(ctx, "uuid-web", "disk"); ok {
		t.Error("b still reads the acknowledgement")
	}
	// Neither heard its own changes, nor b's shared one.
	select {
	case c := <-atA:
		t.Errorf("a heard %+v", c)
	case c := <-atB:
		t.Errorf("b heard %+v", c)
	case <-time.After(200 * time.Millisecond):
	}
}
