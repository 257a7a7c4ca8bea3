package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// fakeClock is a clock that moves only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	f  func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), f: f})
}

// advance moves the clock by d and runs the timers then due, in the
// caller's goroutine.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if !tm.at.After(c.now) {
			due = append(due, tm.f)
		} else {
			kept = append(kept, tm)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// eventHost is a core that accepts events and hands each to the test.
type eventHost struct {
	*testHost
	events chan string
}

func (h eventHost) Event(_ context.Context, kind, uuid, host, message string) error {
	h.events <- kind + " " + uuid + " " + host + ": " + message
	return nil
}

var _ sdk.EventHost = eventHost{}

// nextEvent waits for the next event raised.
func nextEvent(t *testing.T, events <-chan string) string {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(15 * time.Second):
		t.Fatal("no client_waiting event raised")
	}
	return ""
}

// registerFrom sends a hello for a new uuid from the loopback address local
// and returns how the server answered: nil for "waiting".
func registerFrom(local string, port int, uuid string) error {
	c, err := dialFrom(local, port)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	st := pushpb.NewClientConn(c, 1<<20)
	m := hello(uuid, "attacker-"+uuid, nil)
	if err := addKey(c, m, testPrivOf(uuid)); err != nil {
		return err
	}
	if err := st.Send(m); err != nil {
		return err
	}
	w, err := st.Recv()
	if err != nil {
		return err
	}
	if w.GetWelcome().GetState() != pushpb.Welcome_STATE_WAITING {
		return fmt.Errorf("%s: welcome %v, want waiting", uuid, w)
	}
	return nil
}

// TestWaitingListFlood: 1,000 made-up clients registering (finding 7 of
// issue 11) neither push a genuine waiting client out of the waiting list
// nor raise more than one client_waiting notification a minute; the flood
// is reported as one notification with its count.
func TestWaitingListFlood(t *testing.T) {
	const flood, addresses = 1000, 20
	dir := t.TempDir()
	port := freePort(t)
	clk := newFakeClock()
	host := eventHost{testHost: newTestHost("master-uuid", "master"), events: make(chan string, 2*flood)}
	log, logs := newLogger(t, "server")
	impl := newTransport(log)
	impl.tune = fastTuning()
	impl.tune.clock = clk
	tc := sdktest.Transport(t, impl)
	if err := tc.Configure(serverBlock(filepath.Join(dir, "srv"), port, "")); err != nil {
		t.Fatal(err)
	}
	if err := tc.Start(host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.Stop() })
	ctx := context.Background()

	// The genuine client, a real one, is first: notified at once.
	startClient(t, filepath.Join(dir, "cli"), port, "genuine")
	if e := nextEvent(t, host.events); !strings.Contains(e, "client_waiting genuine host-genuine") {
		t.Fatalf("first event = %q, want the genuine client's", e)
	}

	// 1,000 hellos from 20 addresses: each address at its quota (50), the
	// list at its size (1,000) with the genuine client in it.
	var g errgroup.Group
	g.SetLimit(16)
	for i := range flood {
		g.Go(func() error {
			return registerFrom(fmt.Sprintf("127.0.0.%d", 2+i%addresses), port, fmt.Sprintf("flood-%d", i))
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	// One more from a flooding address takes the place of that address's
	// oldest.
	if err := registerFrom("127.0.0.2", port, "flood-extra"); err != nil {
		t.Fatal(err)
	}
	waiting, _, err := tc.Client.AuthorityList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if waiting["genuine"] != "host-genuine" || len(waiting) != 1000 || waiting["flood-extra"] == "" {
		t.Fatalf("after the flood: %d waiting, genuine %q, flood-extra %q; want 1000 with the genuine client and the newest",
			len(waiting), waiting["genuine"], waiting["flood-extra"])
	}
	select {
	case e := <-host.events:
		t.Fatalf("a notification within the minute of the first: %q", e)
	default:
	}

	// A minute later: one notification for the whole flood.
	clk.advance(time.Minute)
	if e := nextEvent(t, host.events); !strings.Contains(e, fmt.Sprintf("%d new push clients are waiting for approval", flood+1)) {
		t.Fatalf("aggregated event = %q", e)
	}
	// The next minute's newcomers: one more, after that minute.
	for i := range 10 {
		if err := registerFrom("127.0.0.30", port, fmt.Sprintf("late-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(30 * time.Second)
	select {
	case e := <-host.events:
		t.Fatalf("a notification 30 s after the last: %q", e)
	default:
	}
	clk.advance(30 * time.Second)
	if e := nextEvent(t, host.events); !strings.Contains(e, "10 new push clients are waiting for approval") {
		t.Fatalf("second aggregated event = %q", e)
	}
	if n := len(host.events); n != 0 {
		t.Fatalf("%d more notifications", n)
	}
	if n := strings.Count(logs.String(), "[INFO]  server.server: new push client"); n != 3 {
		t.Errorf("%d info lines about new clients, want one per notification", n)
	}
}
