package state

import (
	"fmt"
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// DeliverDelayed publishes, for each group of changes that one notifier's
// quiet hours put off for one host, one delayed event that delivers them
// with how things are now: the probe's status when they were all one
// probe's, the host's otherwise.
func (s *State) DeliverDelayed(groups [][]event.Delay) {
	s.mu.Lock()
	now := s.opts.Now()
	events := make([]event.Event, 0, len(groups))
	for _, g := range groups {
		if len(g) > 0 {
			events = append(events, s.delayedLocked(g, now))
		}
	}
	s.commit(events)
}

// delayedLocked is the delayed event of g (s.mu held). A host removed in
// the night still gets its changes delivered, with the last status they
// told.
func (s *State) delayedLocked(g []event.Delay, now time.Time) event.Event {
	first, last := g[0], g[len(g)-1]
	probe := first.Probe
	// OldStatus: what was notified before the night, of the subject
	// (the worst of the subjects, for several).
	before := map[string]int{}
	for _, d := range g {
		if d.Probe != probe {
			probe = ""
		}
		if _, seen := before[d.Probe]; !seen {
			before[d.Probe] = d.OldStatus
		}
	}
	old := 0
	for _, st := range before {
		old = max(old, st)
	}
	e := event.Event{Kind: event.Delayed, Time: now, HostUUID: first.HostUUID, Host: first.Host, Group: first.Group,
		OldStatus: old, NewStatus: last.NewStatus, Remote: true}
	if h := s.hostLocked(first.HostUUID, first.Host); h != nil {
		e = hostEvent(event.Delayed, h, old, now, "")
		if probe != "" {
			e.NewStatus = model.StatusOK
			if r, ok := h.Probes[probe]; ok {
				e.NewStatus, e.New = r.Status, r
			}
		}
	}
	e.Probe, e.Delays = probe, g
	status := fmt.Sprintf("%s (%d)", model.StatusName(e.NewStatus), e.NewStatus)
	if len(g) == 1 {
		e.Message = fmt.Sprintf("%s (put off by the quiet hours of %s; now %s)", first.Message, first.Instance, status)
		return e
	}
	items := make([]string, 0, len(g))
	for _, d := range g {
		items = append(items, delayItem(d))
	}
	e.Message = fmt.Sprintf("%d changes on host %s put off by the quiet hours of %s: %s; now %s",
		len(g), e.Host, first.Instance, strings.Join(items, ", "), status)
	return e
}

// delayItem says one put-off change in a few words: "disk OK→CRIT".
func delayItem(d event.Delay) string {
	subject := d.Probe
	if subject == "" {
		subject = "host"
	}
	switch d.Kind {
	case event.ProbeAppeared:
		return subject + " new at " + model.StatusName(d.NewStatus)
	case event.ProbeDisappeared:
		return subject + " removed"
	case event.Acknowledged:
		return subject + " acknowledged"
	case event.ClientWaiting:
		return "push client " + d.Host + " waiting"
	}
	return subject + " " + model.StatusName(d.OldStatus) + "→" + model.StatusName(d.NewStatus)
}
