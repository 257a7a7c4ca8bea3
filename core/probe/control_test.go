package probe

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// An operator runs a probe out of its schedule, disables it for a while
// (it is not run, RunNow refuses, it shows when it comes back), and it
// comes back by itself at the end of that while with a fresh result;
// disabled without end, Enable brings it back at once. Each hold and its
// end is told to OnHold, which keeps them.
func TestProbeControls(t *testing.T) {
	t.Parallel()
	dir := probeDir(t, "3600", "counted", `n=$(cat "$0.n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.n"; echo "{\"Status\":100,\"Message\":\"run $n\"}"`)
	var mu sync.Mutex
	var told []string
	h := start(t, dir, func(o *Options) {
		o.OnHold = func(h Hold, on bool) {
			mu.Lock()
			defer mu.Unlock()
			if on {
				told = append(told, "set "+h.Probe+" "+h.Reason)
			} else {
				told = append(told, "end "+h.Probe)
			}
		}
	})
	ctx := context.Background()
	if r := h.result("counted", 10*time.Second); r.Message != "run 1" {
		t.Fatalf("first run: %q", r.Message)
	}
	if err := h.m.RunNow(ctx, "counted"); err != nil {
		t.Fatal(err)
	}
	if r := h.result("counted", 5*time.Second); r.Message != "run 2" {
		t.Fatalf("run now: %q", r.Message)
	}
	if err := h.m.RunNow(ctx, "nope"); !errors.Is(err, ErrUnknownProbe) {
		t.Errorf("RunNow of an unknown probe: %v", err)
	}

	until := time.Now().Add(1500 * time.Millisecond)
	if err := h.m.Disable(Hold{Probe: "counted", Reason: "swapping the disk", By: "alice", Since: time.Now(), Until: until}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.RunNow(ctx, "counted"); !errors.Is(err, ErrHeld) {
		t.Errorf("RunNow while disabled: %v, want ErrHeld", err)
	}
	var listed *Scheduled
	for _, s := range h.m.Probes() {
		if s.Name == "counted" {
			listed = &s
		}
	}
	if listed == nil || listed.Hold == nil || listed.Hold.By != "alice" || !listed.Next.Equal(until) {
		t.Errorf("Probes() while disabled: %+v, want the hold and Next at its end", listed)
	}
	r := h.result("counted", 5*time.Second)
	if r.Message != "run 3" || time.Unix(r.Timestamp, 0).Before(until.Truncate(time.Second)) {
		t.Errorf("back after the hold: %q at %d, want run 3 at or after %s", r.Message, r.Timestamp, until)
	}
	if len(h.m.Holds()) != 0 {
		t.Errorf("holds after the end: %+v", h.m.Holds())
	}

	if err := h.m.Disable(Hold{Probe: "counted", Reason: "noisy", By: "bob", Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.m.Enable(ctx, "counted", "bob"); !ok || err != nil {
		t.Fatalf("Enable: %v %v", ok, err)
	}
	if r := h.result("counted", 5*time.Second); r.Message != "run 4" {
		t.Errorf("after Enable: %q, want run 4 at once", r.Message)
	}
	if ok, _ := h.m.Enable(ctx, "counted", "bob"); ok {
		t.Error("Enable of a probe not disabled reported true")
	}
	mu.Lock()
	got := append([]string(nil), told...)
	mu.Unlock()
	want := []string{"set counted swapping the disk", "end counted", "set counted noisy", "end counted"}
	if len(got) != len(want) {
		t.Fatalf("OnHold told %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("OnHold told %v, want %v", got, want)
			break
		}
	}
}

// A hold a previous run left is kept: the probe's first run waits for its
// end.
func TestHoldRestored(t *testing.T) {
	t.Parallel()
	dir := probeDir(t, "3600", "held", `echo '{"Status":100,"Message":"ok"}'`)
	until := time.Now().Add(2 * time.Second)
	h := start(t, dir, func(o *Options) {
		o.Holds = []Hold{{Probe: "held", Reason: "maintenance", By: "alice", Since: time.Now().Add(-time.Hour), Until: until}}
	})
	r := h.result("held", 10*time.Second)
	if time.Unix(r.Timestamp, 0).Before(until.Truncate(time.Second)) {
		t.Errorf("first run at %d, before the restored hold's end %s", r.Timestamp, until)
	}
}

// An operator overrides an hourly probe's interval to one second: it runs
// every second (three runs about a second apart), Probes() shows the
// override and its directory's interval; cleared, it is back on its hourly
// grid (next run more than a minute away). An unknown probe, a bad
// interval and clearing twice are refused or reported.
func TestIntervalOverride(t *testing.T) {
	t.Parallel()
	dir := probeDir(t, "3600", "counted", `n=$(cat "$0.n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.n"; echo "{\"Status\":100,\"Message\":\"run $n\"}"`)
	h := start(t, dir, nil)
	ctx := context.Background()
	if r := h.result("counted", 10*time.Second); r.Message != "run 1" {
		t.Fatalf("first run: %q", r.Message)
	}
	listed := func() Scheduled {
		for _, s := range h.m.Probes() {
			if s.Name == "counted" {
				return s
			}
		}
		t.Fatal("counted not listed")
		return Scheduled{}
	}
	since := time.Now()
	if err := h.m.SetInterval(ctx, Override{Probe: "counted", Interval: time.Second, By: "alice", Since: since}); err != nil {
		t.Fatal(err)
	}
	if s := listed(); s.Interval != time.Second || s.DirInterval != time.Hour || s.Override == nil || s.Override.By != "alice" || s.Next.Sub(time.Now()) > time.Second {
		t.Errorf("Probes() with the override: %+v", s)
	}
	var at []time.Time
	for _, want := range []string{"run 2", "run 3", "run 4"} {
		if r := h.result("counted", 3*time.Second); r.Message != want {
			t.Fatalf("overridden to 1s: %q, want %s", r.Message, want)
		}
		at = append(at, time.Now())
	}
	if gap := at[2].Sub(at[1]); gap < 500*time.Millisecond {
		t.Errorf("runs %v apart at a 1s interval", gap)
	}
	if ok, err := h.m.ClearInterval(ctx, "counted", "alice"); !ok || err != nil {
		t.Fatalf("ClearInterval: %v %v", ok, err)
	}
	if s := listed(); s.Interval != time.Hour || s.Override != nil || s.Next.Sub(time.Now()) < 0 {
		t.Errorf("Probes() after clearing: %+v", s)
	}
	if ok, err := h.m.ClearInterval(ctx, "counted", "alice"); ok || err != nil {
		t.Errorf("clearing again: %v %v, want false", ok, err)
	}
	if err := h.m.SetInterval(ctx, Override{Probe: "nope", Interval: time.Minute}); !errors.Is(err, ErrUnknownProbe) {
		t.Errorf("override of an unknown probe: %v", err)
	}
	if err := h.m.SetInterval(ctx, Override{Probe: "counted", Interval: time.Millisecond}); err == nil {
		t.Error("an interval of 1ms accepted")
	}
	// Back on its hourly schedule: no run in the next second and a half
	// but the one at most in flight when it was cleared.
	select {
	case r := <-h.sink.results:
		if r.Message != "run 5" {
			t.Errorf("after clearing: %q", r.Message)
		}
	case <-time.After(1500 * time.Millisecond):
	}
	select {
	case r := <-h.sink.results:
		t.Errorf("still running every second after clearing: %q", r.Message)
	case <-time.After(1500 * time.Millisecond):
	}
}
