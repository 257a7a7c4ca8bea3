package probe

import (
	"hash/fnv"
	"time"
)

// firstRunSpread bounds how long after discovery a probe first runs. A
// freshly started daemon should show real results within seconds, not after
// a whole interval; the first runs are still spread over this window by the
// same name-derived offset, so a thousand probes do not fork at once.
const firstRunSpread = 5 * time.Second

// phase is the probe's stable offset inside its interval, derived from its
// name (FNV-1a), so runs of many probes spread evenly over the interval and
// a probe keeps its slot across rescans and restarts.
func phase(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// slotAfter is the first instant strictly after t that sits on the probe's
// grid: wall-clock Unix time ≡ offset (mod interval). The result is t plus
// a positive duration, so it keeps t's monotonic reading and a wall-clock
// step does not stall or burst the schedule.
func slotAfter(t time.Time, interval, offset time.Duration) time.Time {
	iv := int64(interval)
	p := (t.UnixNano() - int64(offset)) % iv
	if p < 0 {
		p += iv
	}
	return t.Add(time.Duration(iv - p))
}

// firstRun is when a newly discovered probe (or one whose interval changed)
// runs first: offset mod min(interval, 5s) after discovery, or its first
// grid slot if that comes sooner.
func firstRun(now time.Time, interval, offset time.Duration) time.Time {
	spread := min(interval, firstRunSpread)
	early := now.Add(offset % spread)
	if grid := slotAfter(now, interval, offset); grid.Before(early) {
		return grid
	}
	return early
}

// nextRun is the run after the one scheduled at prev: the first grid slot
// at least half an interval after prev (exactly prev+interval once on the
// grid), and never in the past — after a suspend or a stalled loop the
// probe runs once, not once per missed slot.
func nextRun(prev, now time.Time, interval, offset time.Duration) time.Time {
	base := prev.Add(interval / 2)
	if base.Before(now) {
		base = now
	}
	return slotAfter(base, interval, offset)
}

// schedHeap orders scheduled entries by next run, earliest first.
type schedHeap []*entry

func (h schedHeap) Len() int           { return len(h) }
func (h schedHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h schedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *schedHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *schedHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}
