package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/decide"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/storetest"
)

const masterUUID = "0e5b2f9c-1111-4c38-4965-532bf22cd66a"

// fakeClock is a Clock moved by hand: Add fires the At channels whose
// time has come.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []waiter
	// waits receives each At call's time, so a test knows the
	// daemon is waiting before it moves the clock.
	waits chan time.Time
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if c.t.Before(w.at) {
			kept = append(kept, w)
			continue
		}
		w.c <- c.t
	}
	c.waiters = kept
	c.mu.Unlock()
}

func (c *fakeClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	w := waiter{at: t, c: make(chan time.Time, 1)}
	if !c.t.Before(t) {
		w.c <- c.t
	} else {
		c.waiters = append(c.waiters, w)
	}
	c.mu.Unlock()
	if c.waits != nil {
		c.waits <- w.at
	}
	return w.c
}

// run is one life of an instance between two restarts: a state restored
// from the database file, the store's batching writer on the bus as the
// daemon wires it, and a subscription that sees every event.
type run struct {
	st     *state.State
	db     *store.Store
	events *event.Subscription
	stop   func()
}

func startRun(t *testing.T, path string, clk *fakeClock) *run {
	t.Helper()
	db, err := store.Open(path, store.Options{FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bus := event.NewBus()
	st := state.New(state.Options{UUID: masterUUID, Hostname: "master", Group: "infra",
		AliveTimeout: time.Minute, Bus: bus, Now: clk.Now})
	if err := restore(st, decide.New(), db, clk.Now(), clk.Now().Add(-time.Hour), hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	logSub := bus.Subscribe(event.SubscribeOptions{Lossless: true, Kinds: []event.Kind{
		event.ProbeChanged, event.ProbeAppeared, event.ProbeDisappeared, event.HostDown, event.HostUp,
		event.HostAppeared, event.HostRemoved, event.ClientWaiting}})
	all := bus.Subscribe(event.SubscribeOptions{Buffer: 10000})
	done := make(chan error, 1)
	go func() { done <- db.Consume(context.Background(), logSub) }()
	r := &run{st: st, db: db, events: all}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			logSub.Close()
			if err := <-done; err != nil {
				t.Errorf("writer: %v", err)
			}
			if err := db.SaveLastHeard(context.Background(), st.LastHeard()); err != nil {
				t.Errorf("save last heard: %v", err)
			}
			all.Close()
			if err := db.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// flush waits until every event published so far is committed.
func (r *run) flush(t *testing.T) {
	t.Helper()
	if err := r.db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (r *run) drain() []event.Event {
	var out []event.Event
	for {
		select {
		case e := <-r.events.C:
			out = append(out, e)
		default:
			return out
		}
	}
}

func result(name string, status int, at time.Time) *model.ProbeResult {
	return &model.ProbeResult{Name: name, Status: status, Message: fmt.Sprintf("status %d", status), Timestamp: at.Unix()}
}

func remoteDoc(uuid, name string, status int, at time.Time, sub ...*model.Wigo) *model.Wigo {
	w := &model.Wigo{Uuid: uuid, Hostname: name, IsAlive: true, LocalHost: &model.Host{Name: name, Group: "web",
		Probes: map[string]*model.ProbeResult{"load": result("load", status, at)}}, RemoteWigos: map[string]*model.Wigo{}}
	for _, s := range sub {
		w.RemoteWigos[s.Uuid] = s
	}
	return w
}

// changes lists the events a user would see (log, notifications): every
// kind but probe_updated.
func changes(events []event.Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind != event.ProbeUpdated {
			out = append(out, fmt.Sprintf("%s %s/%s %d->%d", e.Kind, e.Host, e.Probe, e.OldStatus, e.NewStatus))
		}
	}
	return out
}

// A restart compares what comes in with what the previous run knew: the
// same statuses are no change, a recovery while the daemon was down is a
// change (8 of 8 probes), a remote that is away stays DOWN with when it was
// last heard, and comes back UP.
func TestRestartKeepsTheState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wigo.db")
	clk := &fakeClock{t: time.Unix(1795602860, 0)}
	r1 := startRun(t, path, clk)

	// Eight local probes CRIT, one OK; two pulled remotes, one carrying a
	// third host (a relay).
	for i := range 8 {
		r1.st.ProbeResult(result(fmt.Sprintf("crit%d", i), 300, clk.Now()))
	}
	r1.st.ProbeResult(result("fine", 100, clk.Now()))
	leaf := remoteDoc("c471b561-78e7-49a3-5daf-9e8f146d9506", "leaf", 100, clk.Now())
	if err := r1.st.Ingest("source-a1", remoteDoc("a1", "remote-a", 200, clk.Now())); err != nil {
		t.Fatal(err)
	}
	if err := r1.st.Ingest("source-b1", remoteDoc("b1", "remote-b", 100, clk.Now(), leaf)); err != nil {
		t.Fatal(err)
	}
	lastHeardB := clk.Now()
	// remote-b (and the leaf through it) stop answering: DOWN.
	clk.Add(30 * time.Second)
	if err := r1.st.Ingest("source-a1", remoteDoc("a1", "remote-a", 200, clk.Now())); err != nil {
		t.Fatal(err)
	}
	clk.Add(40 * time.Second)
	r1.st.CheckAlive()
	if h, _ := r1.st.FindHost("remote-b"); h.Alive {
		t.Fatal("remote-b should be DOWN before the restart")
	}
	lastHeardA := clk.Now().Add(-40 * time.Second)
	r1.flush(t)
	r1.drain()
	r1.stop()

	// The daemon is stopped for two minutes: longer than alive_timeout.
	clk.Add(2 * time.Minute)
	r2 := startRun(t, path, clk)
	if got := r2.drain(); len(got) != 0 {
		t.Fatalf("restoring published %v", changes(got))
	}
	// Before anything is heard: the previous run's picture.
	if st := r2.st.GlobalStatus(); st != model.StatusDown {
		t.Errorf("global status after restart = %d, want 999 (remote-b is DOWN)", st)
	}
	for name, alive := range map[string]bool{"remote-a": true, "remote-b": false, "leaf": false} {
		h, ok := r2.st.FindHost(name)
		if !ok {
			t.Fatalf("%s forgotten by the restart", name)
		}
		if h.Alive != alive {
			t.Errorf("%s alive = %v after restart, want %v", name, h.Alive, alive)
		}
	}
	b, _ := r2.st.HostDocument("remote-b")
	if b.IsAlive || b.GlobalStatus != model.StatusDown || b.LastUpdate != lastHeardB.Unix() {
		t.Errorf("remote-b after restart: alive %v status %d last heard %d, want DOWN last heard %d",
			b.IsAlive, b.GlobalStatus, b.LastUpdate, lastHeardB.Unix())
	}
	if want := lastHeardB.UTC().Format(time.RFC3339); b.NotHeardSince != want {
		t.Errorf("remote-b NotHeardSince = %q, want %q", b.NotHeardSince, want)
	}
	if b.RemoteWigos[leaf.Uuid] == nil {
		t.Errorf("leaf no longer under remote-b after restart: %v", b.RemoteWigos)
	}
	if a, _ := r2.st.FindHost("remote-a"); !a.LastUpdate.Equal(lastHeardA) || a.Status != 200 {
		t.Errorf("remote-a after restart: last heard %v status %d, want %v and 200", a.LastUpdate, a.Status, lastHeardA)
	}
	if l := r2.st.Local(); l.Status != 300 || len(l.Probes) != 9 {
		t.Errorf("local host after restart: status %d, %d probes; want 300 and 9", l.Status, len(l.Probes))
	}
	// remote-a's alive_timeout counts from the restart: not DOWN at once.
	r2.st.CheckAlive()
	if got := changes(r2.drain()); len(got) != 0 {
		t.Errorf("alive check right after restart: %v", got)
	}

	// Everything reports again: the CRIT probes recovered while the daemon
	// was down; remote-a is unchanged; remote-b comes back UP.
	for i := range 8 {
		r2.st.ProbeResult(result(fmt.Sprintf("crit%d", i), 100, clk.Now()))
	}
	r2.st.ProbeResult(result("fine", 100, clk.Now()))
	if err := r2.st.Ingest("source-a1", remoteDoc("a1", "remote-a", 200, clk.Now())); err != nil {
		t.Fatal(err)
	}
	if err := r2.st.Ingest("source-b1", remoteDoc("b1", "remote-b", 100, clk.Now(), leaf)); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(changes(r2.drain()), "\n")
	var want []string
	for i := range 8 {
		want = append(want, fmt.Sprintf("probe_changed master/crit%d 300->100", i))
	}
	want = append(want, "host_up remote-b/ 999->100", "host_up leaf/ 999->100")
	if got != strings.Join(want, "\n") {
		t.Errorf("changes after restart:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// The recoveries are in the log.
	r2.flush(t)
	rows, err := r2.db.Search(context.Background(), store.Query{Host: "master"})
	if err != nil {
		t.Fatal(err)
	}
	recovered := 0
	for _, row := range rows {
		if strings.Contains(row.Message, "switched from 300 to 100") {
			recovered++
		}
	}
	if recovered != 8 {
		t.Errorf("%d recovery log rows, want 8", recovered)
	}
}

// A restored remote that was alive goes DOWN one alive_timeout after the
// restart when nothing is heard, and the message says since when.
func TestRestoredRemoteGoesDownAfterAliveTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wigo.db")
	clk := &fakeClock{t: time.Unix(1795602860, 0)}
	r1 := startRun(t, path, clk)
	heard := clk.Now()
	if err := r1.st.Ingest("source-a1", remoteDoc("a1", "remote-a", 100, heard)); err != nil {
		t.Fatal(err)
	}
	r1.flush(t)
	r1.stop()

	clk.Add(5 * time.Minute)
	r2 := startRun(t, path, clk)
	clk.Add(59 * time.Second)
	r2.st.CheckAlive()
	if got := changes(r2.drain()); len(got) != 0 {
		t.Fatalf("before alive_timeout: %v", got)
	}
	clk.Add(2 * time.Second)
	r2.st.CheckAlive()
	got := r2.drain()
	if len(got) != 1 || got[0].Kind != event.HostDown || !strings.Contains(got[0].Message, "not heard since "+heard.UTC().Format(time.RFC3339)) {
		t.Fatalf("after alive_timeout: %v", got)
	}
}

// An operator removes a DOWN remote (and what was learned through it): it
// is gone from the state, the log says so, and the next restart does not
// bring it back.
func TestRemoveHostSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wigo.db")
	clk := &fakeClock{t: time.Unix(1795602860, 0)}
	r1 := startRun(t, path, clk)
	leaf := remoteDoc("c471b561-78e7-49a3-5daf-9e8f146d9506", "leaf", 100, clk.Now())
	if err := r1.st.Ingest("source-b1", remoteDoc("b1", "remote-b", 100, clk.Now(), leaf)); err != nil {
		t.Fatal(err)
	}
	if _, err := r1.st.RemoveHost("nope", "test"); err != state.ErrNoSuchHost {
		t.Errorf("RemoveHost(unknown) = %v", err)
	}
	if _, err := r1.st.RemoveHost("master", "test"); err != state.ErrLocalHost {
		t.Errorf("RemoveHost(local) = %v", err)
	}
	gone, err := r1.st.RemoveHost("remote-b", "admin from 127.0.0.1")
	if err != nil || len(gone) != 2 || gone[0].Name != "remote-b" || gone[1].Name != "leaf" {
		t.Fatalf("RemoveHost = %v, %v", gone, err)
	}
	r1.flush(t)
	rows, err := r1.db.Search(context.Background(), store.Query{Host: "remote-b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Message != "Host remote-b removed by an operator (admin from 127.0.0.1)" {
		t.Errorf("log rows of remote-b: %+v", rows)
	}
	r1.stop()

	r2 := startRun(t, path, clk)
	if hosts := r2.st.Hostnames(); len(hosts) != 1 || hosts[0] != "master" {
		t.Errorf("hosts after restart = %v, want only the local host", hosts)
	}
}

// A restart while a parent is DOWN finds its child DOWN too, but nobody
// heard of the child's DOWN (held back behind the parent): the parent is
// an open problem again, renotified an interval later; the child is no
// open problem at all (so not renotified once the parent is back either,
// back with it or not: its restatement then tells what is).
func TestRestoreHeldBackIsNoProblem(t *testing.T) {
	db := storetest.Open(t)
	at := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	down := func(uuid, name string) event.Event {
		return event.Event{Kind: event.HostDown, Time: at, HostUUID: uuid, Host: name, OldStatus: 100, NewStatus: model.StatusDown,
			Remote: true, Facts: event.HostFacts{Source: "10.0.0.9:4000", Heard: at.Add(-time.Minute)}}
	}
	child := down("c1", "child-1")
	child.Decision = event.Decision{HeldBack: event.HeldDependency, Reason: "parent relay-1 is DOWN",
		Pending: &event.Pending{HostUUID: "c1", Host: "child-1", Notified: 100}}
	events := make(chan event.Event, 2)
	events <- down("r1", "relay-1")
	events <- child
	close(events)
	if err := db.RunWriter(context.Background(), events); err != nil {
		t.Fatal(err)
	}

	d := decide.New()
	d.SetDependencies([]decide.Dependency{{Name: "behind-relay", Hosts: []string{"child-*"}, Parents: []string{"relay-1"}}}, time.Minute)
	d.SetRenotify(map[string]time.Duration{"pager": time.Hour})
	st := state.New(state.Options{UUID: masterUUID, Hostname: "master", AliveTimeout: time.Minute, Bus: event.NewBus(), Now: func() time.Time { return at }})
	if err := restore(st, d, db, at, at.Add(-time.Hour), hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	again, _, _ := d.RenotifyDue(at.Add(time.Hour))
	if len(again) != 1 || again[0].Host != "relay-1" {
		t.Errorf("renotified an hour after the restart: %+v, want the relay only", again)
	}
}
