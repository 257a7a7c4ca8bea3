package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/store"
)

// historyEvery is the period of the metric history's maintenance: rollups
// of the 5-minute buckets that ended, deletion past the retentions.
const historyEvery = time.Minute

// storeAlso is what the store's subscription takes besides its kinds: the
// events it logs and, with the history on, the probe results that carry
// metrics it keeps (the local host's, and the remote hosts' when asked).
func (d *Daemon) storeAlso(h config.History) func(*event.Event) bool {
	if !h.Enabled {
		return (*event.Event).Logged
	}
	return func(e *event.Event) bool {
		if e.Logged() {
			return true
		}
		return e.Kind == event.ProbeUpdated && e.New != nil && len(e.New.Metrics) > 0 && (!e.Remote || h.RemoteHosts)
	}
}

// maintainHistory records the daemon's run (what the status timeline
// tells a stop by) and runs the store's history maintenance, every
// historyEvery on the daemon's clock until ctx is done. It runs with the history off
// too, so the points of an earlier run still go at their retention. A
// failure is logged and retried at the next turn: a late rollup costs
// nothing, the points stay until it is done.
func (d *Daemon) maintainHistory(ctx context.Context) {
	started := d.clock.Now()
	for {
		now := d.clock.Now()
		failed := func(what string, err error) {
			if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
				d.log.Error(what+" failed", "error", err)
			}
		}
		failed("recording the daemon's run", d.store.MarkRun(ctx, started, now))
		failed("metric history maintenance", d.store.MaintainHistory(ctx, now))
		select {
		case <-ctx.Done():
			return
		case <-d.clock.At(now.Add(historyEvery)):
		}
	}
}
