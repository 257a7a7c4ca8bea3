package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// clockDaemon runs a daemon in dir on clk until stop is called; events
// sees everything it publishes.
type clockDaemon struct {
	d      *Daemon
	events *event.Subscription
	stop   func()
}

func startClockDaemon(t *testing.T, dir string, clk *fakeClock, extra ...string) *clockDaemon {
	t.Helper()
	if !strings.Contains(strings.Join(extra, ""), "alive_timeout") {
		extra = append(extra, "alive_timeout = 24 * 3600")
	}
	src := strings.Join(extra, "\n") + `
hostname = "web-1"
group = "front"
probes_dir = "probes"
database = "wigo.db"
uuid_file = "uuid"
http {
  enabled = false
}
`
	d := newDaemon(t, dir, src, WithClock(clk))
	sub := d.bus.Subscribe(event.SubscribeOptions{Buffer: 1000, Kinds: []event.Kind{
		event.ProbeChanged, event.ProbeAppeared, event.SilenceSet, event.SilenceEnded, event.CurrentState, event.Renotify, event.HostDown, event.HostUp,
		event.Delayed}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	cd := &clockDaemon{d: d, events: sub}
	cd.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		sub.Close()
	}
	return cd
}

// next returns the next event of kind, failing after a few seconds.
func (cd *clockDaemon) next(t *testing.T, kind event.Kind) event.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-cd.events.C:
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

// waitFor returns once the daemon waits for the clock to reach at.
func waitFor(t *testing.T, clk *fakeClock, at time.Time) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case w := <-clk.waits:
			if w.Equal(at) {
				return
			}
		case <-deadline:
			t.Fatalf("the daemon does not wait for %s", at)
		}
	}
}

// A silence ends at its end on the daemon's clock, with no request: the
// probe it held back is restated once, as it is then — and a restart in
// between forgets neither the silence nor what it held back. The probe is
// a pulled remote's (the local probes are the probe manager's, which
// this daemon has none of).
func TestSilenceEndsOnTheClockAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC), waits: make(chan time.Time, 100)}
	end := clk.Now().Add(time.Hour)

	first := startClockDaemon(t, dir, clk)
	report := func(d *Daemon, status int) {
		t.Helper()
		doc := remoteDoc("a1", "web-2", status, clk.Now())
		if err := d.State().Ingest("10.0.0.2:4000", doc); err != nil {
			t.Fatal(err)
		}
	}
	report(first.d, 100)
	first.next(t, event.ProbeAppeared)
	first.d.State().SetSilence(event.Silence{ID: "s1", Host: "web-*", Start: clk.Now(), End: end, Author: "alice"}, "set")
	first.next(t, event.SilenceSet)
	waitFor(t, clk, end)
	clk.Add(10 * time.Minute)
	report(first.d, 300)
	if e := first.next(t, event.ProbeChanged); e.Decision.HeldBack != event.HeldSilenced || e.Decision.Silence != "s1" {
		t.Fatalf("change under the silence: %+v, want held back by s1", e.Decision)
	}
	first.stop()

	clk.Add(10 * time.Minute)
	second := startClockDaemon(t, dir, clk)
	defer second.stop()
	if got := second.d.Silences(); len(got) != 1 || got[0].ID != "s1" || !got[0].End.Equal(end) {
		t.Fatalf("silences after the restart: %+v, want s1 until %s", got, end)
	}
	report(second.d, 400)
	if e := second.next(t, event.ProbeChanged); e.Decision.HeldBack != event.HeldSilenced {
		t.Fatalf("change after the restart: %+v, want still held back", e.Decision)
	}
	waitFor(t, clk, end)
	clk.Add(40 * time.Minute)
	ended := second.next(t, event.SilenceEnded)
	if ended.Silence.ID != "s1" || !ended.Time.Equal(end) {
		t.Errorf("silence end: %s at %s, want s1 at %s", ended.Silence.ID, ended.Time, end)
	}
	e := second.next(t, event.CurrentState)
	if e.Probe != "load" || e.Host != "web-2" || e.OldStatus != 100 || e.NewStatus != 400 || e.Decision.HeldBack != "" {
		t.Errorf("restated: %s %d -> %d (%+v), want web-2/load 100 -> 400 notified", e.Probe, e.OldStatus, e.NewStatus, e.Decision)
	}
	if got := second.d.Silences(); len(got) != 0 {
		t.Errorf("silences after the end: %+v", got)
	}
	// Nothing waits any more: a third life restates nothing.
	if err := second.d.Store().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	pending, err := second.d.Store().SilencedPending(context.Background())
	if err != nil || len(pending) != 0 {
		t.Errorf("after the end the store keeps %+v (%v), want nothing waiting", pending, err)
	}
}

// A maintenance window in HCL opens and closes on the daemon's clock: on
// the night the clocks go back in Paris, "Sun 02:00-04:00" holds back the
// changes of the three hours the wall clock shows it, then restates what
// changed, once.
func TestMaintenanceWindowAcrossDST(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), waits: make(chan time.Time, 100)}
	cd := startClockDaemon(t, dir, clk, `maintenance "backups" {
  hosts     = ["web-*"]
  schedule  = "Sun 02:00-04:00"
  time_zone = "Europe/Paris"
}`)
	defer cd.stop()
	report := func(status int) event.Event {
		t.Helper()
		if err := cd.d.State().Ingest("10.0.0.2:4000", remoteDoc("a1", "web-2", status, clk.Now())); err != nil {
			t.Fatal(err)
		}
		if status == 100 {
			return cd.next(t, event.ProbeAppeared)
		}
		return cd.next(t, event.ProbeChanged)
	}
	report(100)
	// 02:00 CEST, the first time the clock shows it.
	open := time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)
	waitFor(t, clk, open)
	clk.Add(open.Sub(clk.Now()))
	set := cd.next(t, event.SilenceSet)
	closeAt := time.Date(2026, 10, 25, 3, 0, 0, 0, time.UTC) // 04:00 CET
	if si := set.Silence; si.ID != "backups.20261025T0000Z.1" || si.Host != "web-*" || !si.Start.Equal(open) || !si.End.Equal(closeAt) {
		t.Fatalf("maintenance silence %+v, want backups from %s to %s", si, open, closeAt)
	}
	// 02:30 CET, in the hour the clock shows twice: still maintenance.
	waitFor(t, clk, closeAt)
	clk.Add(150 * time.Minute)
	if e := report(300); e.Decision.HeldBack != event.HeldSilenced || e.Decision.Silence != set.Silence.ID {
		t.Fatalf("a change at 02:30 CET: %+v, want held back by the maintenance", e.Decision)
	}
	clk.Add(closeAt.Sub(clk.Now()))
	if e := cd.next(t, event.SilenceEnded); !e.Time.Equal(closeAt) {
		t.Errorf("maintenance ended at %s, want %s", e.Time, closeAt)
	}
	if e := cd.next(t, event.CurrentState); e.OldStatus != 100 || e.NewStatus != 300 || e.Decision.HeldBack != "" {
		t.Errorf("restated %d -> %d (%+v), want 100 -> 300 notified", e.OldStatus, e.NewStatus, e.Decision)
	}
	// The next window is a week later, in CET: 01:00-03:00 UTC.
	next := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
	waitFor(t, clk, next)
	if e := report(200); e.Decision.HeldBack != "" {
		t.Errorf("a change between windows: held back %q", e.Decision.HeldBack)
	}
}

// A problem is renotified on the daemon's clock to the notifier whose
// renotify_every has passed, again after a restart (an interval after the
// last renotify, not at once nor an interval after the restart), and no
// more once acknowledged.
func TestRenotifyOnTheClock(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC), waits: make(chan time.Time, 100)}
	notifyBlock := "notify \"pager\" {\n  plugin = \"notify-http\"\n  url = \"http://127.0.0.1:9/\"\n  renotify_every = 3600\n  min_level = 100\n}"
	cd := startClockDaemon(t, dir, clk, notifyBlock)
	if err := cd.d.State().Ingest("10.0.0.2:4000", remoteDoc("a1", "web-2", 100, clk.Now())); err != nil {
		t.Fatal(err)
	}
	cd.next(t, event.ProbeAppeared)
	if err := cd.d.State().Ingest("10.0.0.2:4000", remoteDoc("a1", "web-2", 300, clk.Now())); err != nil {
		t.Fatal(err)
	}
	if e := cd.next(t, event.ProbeChanged); e.Decision.HeldBack != "" {
		t.Fatalf("the problem: %+v", e.Decision)
	}
	first := clk.Now().Add(time.Hour)
	waitFor(t, clk, first)
	clk.Add(time.Hour)
	e := cd.next(t, event.Renotify)
	if len(e.Decision.To) != 1 || e.Decision.To[0] != "pager" || e.NewStatus != 300 || e.Probe != "load" {
		t.Fatalf("renotify: %s/%s %d %+v, want web-2/load 300 to pager", e.Host, e.Probe, e.NewStatus, e.Decision)
	}
	cd.stop()

	// After a restart: an hour after the last, not at once.
	clk.Add(10 * time.Minute)
	cd = startClockDaemon(t, dir, clk, notifyBlock)
	defer cd.stop()
	again := first.Add(time.Hour)
	waitFor(t, clk, again)
	clk.Add(again.Sub(clk.Now()))
	if e := cd.next(t, event.Renotify); len(e.Decision.To) != 1 || !e.Time.Equal(again) {
		t.Fatalf("renotify after the restart: at %s %+v, want at %s to pager", e.Time, e.Decision, again)
	}
	if _, err := cd.d.State().Acknowledge(event.Ack{Host: "web-2", Probe: "load", Author: "alice"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, clk, again.Add(time.Hour))
	clk.Add(time.Hour)
	if e := cd.next(t, event.Renotify); e.Decision.To != nil || e.Decision.HeldBack != event.HeldUnchanged {
		t.Errorf("renotify of an acknowledged problem: %+v, want held back", e.Decision)
	}
}

// A parent DOWN with 50 children behind it sends one notification, its
// own; when it is back, the children that came back with it are not
// notified, and once they had the alive timeout to report, the ones still
// DOWN are, once each.
func TestDependency(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC), waits: make(chan time.Time, 100)}
	cd := startClockDaemon(t, dir, clk, "alive_timeout = 600", `dependency "behind-relay" {
  hosts   = ["app-*"]
  parents = ["relay-1"]
}`)
	defer cd.stop()
	ingest := func(uuid, name string) {
		t.Helper()
		if err := cd.d.State().Ingest("src-"+name, remoteDoc(uuid, name, 100, clk.Now())); err != nil {
			t.Fatal(err)
		}
	}
	ingest("r1", "relay-1")
	for i := range 50 {
		ingest(fmt.Sprintf("c%02d", i), fmt.Sprintf("app-%02d", i))
	}
	clk.Add(11 * time.Minute)
	cd.d.State().CheckAlive()
	notified, held := 0, 0
	for range 51 {
		e := cd.next(t, event.HostDown)
		switch {
		case e.Decision.HeldBack == "" && e.Host == "relay-1":
			notified++
		case e.Decision.HeldBack == event.HeldDependency && e.Decision.Reason == "parent relay-1 is DOWN (dependency behind-relay)":
			held++
		default:
			t.Errorf("DOWN of %s: %+v", e.Host, e.Decision)
		}
	}
	if notified != 1 || held != 50 {
		t.Fatalf("%d notified, %d held back, want the parent's only and 50 held", notified, held)
	}
	ingest("r1", "relay-1")
	back := clk.Now()
	if e := cd.next(t, event.HostUp); e.Host != "relay-1" || e.Decision.HeldBack != "" {
		t.Fatalf("first UP: %s %+v, want relay-1 notified", e.Host, e.Decision)
	}
	for i := range 30 {
		ingest(fmt.Sprintf("c%02d", i), fmt.Sprintf("app-%02d", i))
		if e := cd.next(t, event.HostUp); e.Decision.HeldBack != event.HeldUnchanged {
			t.Errorf("UP of %s, back with its parent: %+v, want not notified", e.Host, e.Decision)
		}
	}
	graceEnd := back.Add(10 * time.Minute)
	waitFor(t, clk, graceEnd)
	clk.Add(graceEnd.Sub(clk.Now()))
	still := map[string]bool{}
	for range 20 {
		e := cd.next(t, event.CurrentState)
		if e.Decision.HeldBack != "" || e.NewStatus != 999 || e.OldStatus != 100 {
			t.Errorf("restated %s: %d -> %d %+v, want DOWN notified", e.Host, e.OldStatus, e.NewStatus, e.Decision)
		}
		still[e.Host] = true
	}
	if len(still) != 20 || !still["app-30"] || !still["app-49"] || still["app-00"] {
		t.Errorf("restated %v, want app-30 to app-49", still)
	}
}
