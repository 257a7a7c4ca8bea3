package decide

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/schedule"
)

// Quiet is one notifier instance's quiet hours (a notify block's
// quiet_hours): while Window is open, what it would hear of below MinLevel
// is put off until the window ends, then sent as one notification per host.
type Quiet struct {
	Window   schedule.Window
	MinLevel int
	// Accepts is the instance's filter: a change it would not hear of is
	// not put off for it either.
	Accepts func(event.Event) bool
}

// delayKey names what one delayed event delivers: an instance's changes of
// one host (hostKey).
type delayKey struct{ instance, host string }

// SetQuietHours sets the quiet hours of each instance that has some.
func (d *Decider) SetQuietHours(quiet map[string]Quiet) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.quietHours = quiet
	d.quietNames = d.quietNames[:0]
	for in := range quiet {
		d.quietNames = append(d.quietNames, in)
	}
	sort.Strings(d.quietNames)
}

// RestoreDelays loads the changes a previous run put off and did not
// deliver: they are delivered at the end they were put off to, or at once
// when it passed while the daemon was stopped.
func (d *Decider) RestoreDelays(delays []event.Delay) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dl := range delays {
		k := delayKey{dl.Instance, hostKey(dl.HostUUID, dl.Host)}
		d.delayed[k] = append(d.delayed[k], dl)
	}
}

// level is what a change is weighed at against quiet hours' min_level:
// the worse of its two statuses, so that the recovery of a problem that
// was worth waking for is worth it too.
func level(e *event.Event) int { return max(e.OldStatus, e.NewStatus) }

// delay puts e off for every instance in its quiet hours at e.Time that
// would hear of it below its min_level (Decision.Delayed), and keeps it for
// their end. A change held back for everyone, or at or above the level,
// is left alone.
func (d *Decider) delay(e *event.Event) {
	if len(d.quietNames) == 0 || e.Decision.HeldBack != "" {
		return
	}
	for _, in := range d.quietNames {
		q := d.quietHours[in]
		if level(e) >= q.MinLevel || e.Decision.To != nil && !slices.Contains(e.Decision.To, in) {
			continue
		}
		// An escalation is addressed: its target's filter is not asked.
		if e.Kind != event.Escalation && q.Accepts != nil && !q.Accepts(*e) {
			continue
		}
		_, end, open := q.Window.At(e.Time)
		if !open {
			continue
		}
		dl := event.Delay{Instance: in, Until: end, HostUUID: e.HostUUID, Host: e.Host, Group: e.Group, Probe: e.Probe,
			Kind: e.Kind, OldStatus: e.OldStatus, NewStatus: e.NewStatus, Time: e.Time, Message: e.Message}
		e.Decision.Delayed = append(e.Decision.Delayed, dl)
		k := delayKey{in, hostKey(e.HostUUID, e.Host)}
		d.delayed[k] = append(d.delayed[k], dl)
		d.wake()
	}
}

// quietNow returns those of instances that are in their quiet hours at t
// with status below their min_level. A renotify for them is skipped, not
// put off: the end of the quiet hours sends what changed, and the next
// interval after it the problem still there.
func (d *Decider) quietNow(instances []string, status int, t time.Time) (quiet []string) {
	for _, in := range instances {
		if q, ok := d.quietHours[in]; ok && status < q.MinLevel {
			if _, _, open := q.Window.At(t); open {
				quiet = append(quiet, in)
			}
		}
	}
	return quiet
}

// toldLater moves p's renotify and escalation times for the instances e
// was put off for: their people were not told until the quiet hours
// ended, so the intervals count from then (a problem of the night
// escalates escalate_after past the morning, not while nobody could take
// it).
func (d *Decider) toldLater(p *problem, delays []event.Delay) {
	for _, dl := range delays {
		if _, ok := p.next[dl.Instance]; ok {
			p.next[dl.Instance] = dl.Until.Add(d.renotify[dl.Instance])
		}
		if _, ok := p.escalate[dl.Instance]; ok {
			p.escalate[dl.Instance] = dl.Until.Add(d.escalation[dl.Instance].After)
		}
	}
}

// DelaysDue returns, for each instance and host whose quiet hours ended
// by t, the changes they put off (one group each, in order, to be
// delivered as one delayed event), and when the next end is (zero when
// none).
func (d *Decider) DelaysDue(t time.Time) (due [][]event.Delay, next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, list := range d.delayed {
		var group []event.Delay
		for _, dl := range list {
			switch {
			case t.Before(dl.Until):
				if next.IsZero() || dl.Until.Before(next) {
					next = dl.Until
				}
			case len(group) == 0 || group[0].Until.Equal(dl.Until):
				group = append(group, dl)
			}
		}
		if len(group) > 0 {
			due = append(due, group)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		a, b := due[i][0], due[j][0]
		if a.Instance != b.Instance {
			return a.Instance < b.Instance
		}
		return strings.ToLower(a.Host) < strings.ToLower(b.Host)
	})
	return due, next
}

// deliverDelays decides a delayed event: it is for its instance only, once;
// one whose changes were delivered already is held back as unchanged.
func (d *Decider) deliverDelays(e *event.Event) {
	if len(e.Delays) == 0 {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "nothing was put off"
		return
	}
	first := e.Delays[0]
	k := delayKey{first.Instance, hostKey(first.HostUUID, first.Host)}
	list := d.delayed[k]
	kept := list[:0]
	for _, dl := range list {
		if !dl.Until.Equal(first.Until) {
			kept = append(kept, dl)
		}
	}
	if len(kept) == len(list) {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "already delivered"
		return
	}
	if len(kept) == 0 {
		delete(d.delayed, k)
	} else {
		d.delayed[k] = kept
	}
	e.Decision.To = []string{first.Instance}
}
