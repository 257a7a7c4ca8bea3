package main

import (
	"testing"
	"time"
)

// The wheel hands out pollers by tick: every remote due within one tick
// comes out of one take, none before it is due, and none is lost when its
// poll ends just as its next tick is taken.
func TestWheelGroupsPollsByTick(t *testing.T) {
	rs := []*remote{{label: "a", interval: 10 * time.Second}, {label: "b", interval: 30 * time.Second}}
	w := newWheel(rs)
	if w.tick != time.Second {
		t.Fatalf("tick %s, want a tenth of the shortest interval (1s)", w.tick)
	}
	a, b, c := &poller{r: rs[0]}, &poller{r: rs[1]}, &poller{r: rs[0]}
	w.put(w.epoch.Add(1200*time.Millisecond), a)
	w.put(w.epoch.Add(1900*time.Millisecond), b)
	w.put(w.epoch.Add(2100*time.Millisecond), c)

	if got := w.take(w.epoch.Add(1999 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("taken before their tick: %d pollers", len(got))
	}
	if got := w.take(w.epoch.Add(2050 * time.Millisecond)); len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("tick 2 gave %v, want a and b together", got)
	}
	// A poll ending at 2.5 s asks for 2.4 s: tick 2 is taken, so tick 3.
	late := &poller{r: rs[0]}
	w.put(w.epoch.Add(2400*time.Millisecond), late)
	if got := w.take(w.epoch.Add(3500 * time.Millisecond)); len(got) != 2 || got[0] != c || got[1] != late {
		t.Fatalf("tick 3 gave %v, want c and the late one", got)
	}
	// A take after missed ticks (a busy machine) catches up on all of them.
	w.put(w.epoch.Add(5*time.Second), a)
	w.put(w.epoch.Add(7*time.Second), b)
	if got := w.take(w.epoch.Add(9 * time.Second)); len(got) != 2 {
		t.Fatalf("after missed ticks: %d pollers, want 2", len(got))
	}
	if len(w.due) != 0 {
		t.Fatalf("%d ticks left in the wheel", len(w.due))
	}
}

func TestWheelTickBounds(t *testing.T) {
	for _, c := range []struct {
		interval, tick time.Duration
	}{{100 * time.Millisecond, minTick}, {5 * time.Second, 500 * time.Millisecond}, {time.Hour, maxTick}} {
		if got := newWheel([]*remote{{interval: c.interval}}).tick; got != c.tick {
			t.Errorf("interval %s: tick %s, want %s", c.interval, got, c.tick)
		}
	}
}
