package daemon

import (
	"context"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// Clock is where the daemon reads the time that its own schedules (the end
// of silences) run on. Tests pass one they drive by hand (WithClock).
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the time t has come.
	At(t time.Time) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                  { return time.Now() }
func (systemClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// Option changes how New builds a daemon.
type Option func(*options)

type options struct{ clock Clock }

// WithClock makes the daemon read time from c instead of the system clock:
// the state's timestamps, the decisions and the end of silences.
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// endSilences ends each silence when its end comes, until ctx is done: its
// end is published with the current state of what it held back. It wakes
// for the earliest end, and again whenever a silence is set.
func (d *Daemon) endSilences(ctx context.Context) {
	for {
		now := d.clock.Now()
		due, next := d.decider.Due(now)
		if len(due) > 0 {
			for _, si := range due {
				d.EndSilence(si, "ended")
			}
			continue
		}
		var wake <-chan time.Time
		if !next.IsZero() {
			wake = d.clock.At(next)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-d.decider.Changed():
		}
	}
}

// EndSilence ends si now (why: "ended", "expired by alice"): its end is
// logged, and what it held back that is not as people last heard is
// notified once, as it is now.
func (d *Daemon) EndSilence(si event.Silence, why string) {
	d.state.EndSilence(si, why, d.decider.Ending)
}
