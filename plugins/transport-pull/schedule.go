package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Polls are scheduled on one clock for all remotes: a wheel of ticks, each
// holding the remotes due at it. A goroutine and a timer per remote woke the
// process once per poll, and each wake-up of an otherwise idle process costs
// more than the poll (the Go scheduler parks and unparks threads, sysmon
// spins at 20 µs steps while anything runs): at 100 remotes every 10 s, five
// sixths of the plugin's CPU. On the wheel, the polls due in one tick start
// together, so the process wakes once per tick for all of them.
//
// The tick is a tenth of the shortest check_interval, between 100 ms and
// 1 s: a poll starts at most one tick late, against an alive_timeout of a
// minute by default.
const (
	minTick = 100 * time.Millisecond
	maxTick = time.Second
	// maxConcurrentPolls bounds the polls in flight: remotes that hang
	// until their timeout must not pile up without limit.
	maxConcurrentPolls = 256
)

// poller is what one remote's polls remember between them.
type poller struct {
	r        *remote
	log      hclog.Logger
	seen     last
	lastErr  string
	answered bool
	// planned is when the poll was due: the next is one interval after it,
	// not after the tick it started at, or every poll would start up to a
	// tick later than the one before.
	planned time.Time
}

// wheel holds the pollers by the tick they are due at.
type wheel struct {
	tick  time.Duration
	epoch time.Time

	mu  sync.Mutex
	due map[int64][]*poller
	// done is the last tick taken: a poller put at it or before (its poll
	// ended just as the tick was taken) goes to the next one.
	done int64
}

func newWheel(remotes []*remote) *wheel {
	tick := maxTick
	for _, r := range remotes {
		tick = min(tick, r.interval/10)
	}
	return &wheel{tick: max(tick, minTick), epoch: time.Now(), due: map[int64][]*poller{}}
}

// put schedules p at the first tick not before t.
func (w *wheel) put(t time.Time, p *poller) {
	d := t.Sub(w.epoch)
	n := int64((d + w.tick - 1) / w.tick)
	w.mu.Lock()
	n = max(n, w.done+1)
	w.due[n] = append(w.due[n], p)
	w.mu.Unlock()
}

// take removes and returns the pollers due at the ticks up to t.
func (w *wheel) take(t time.Time) []*poller {
	n := int64(t.Sub(w.epoch) / w.tick)
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*poller
	for i := w.done + 1; i <= n; i++ {
		out = append(out, w.due[i]...)
		delete(w.due, i)
	}
	w.done = max(w.done, n)
	return out
}

// schedule polls every remote of rs, each first at a random point of its
// interval (so thousands of remotes do not fire together after a start),
// then once per interval, until ctx ends; it returns when no poll is left
// running.
func (p *run) schedule(ctx context.Context, rs []*remote) {
	w := newWheel(rs)
	now := time.Now()
	for _, r := range rs {
		pl := &poller{r: r, log: p.log.With("remote", r.label, "url", r.url), planned: now.Add(time.Duration(rand.Int64N(int64(r.interval))))}
		w.put(pl.planned, pl)
	}
	var running sync.WaitGroup
	defer running.Wait()
	slots := make(chan struct{}, maxConcurrentPolls)
	ticker := time.NewTicker(w.tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-ticker.C:
			for _, pl := range w.take(t) {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				running.Add(1)
				go func() {
					defer running.Done()
					defer func() { <-slots }()
					p.poll(ctx, pl)
					if ctx.Err() == nil {
						pl.planned = pl.planned.Add(pl.r.interval)
						if soon := time.Now().Add(pl.r.interval / 10); pl.planned.Before(soon) {
							pl.planned = soon // a poll that took its whole interval
						}
						w.put(pl.planned, pl)
					}
				}()
			}
		}
	}
}
