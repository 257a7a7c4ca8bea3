package state

import (
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// probeEvent describes the move from old to r on host h. It reports false
// when nothing a consumer could see changed (the same result received again).
func probeEvent(h *Host, old, r *model.ProbeResult, now time.Time) (event.Event, bool) {
	e := event.Event{
		Time:      now,
		HostUUID:  h.UUID,
		Host:      h.Name,
		Group:     h.Group,
		Probe:     r.Name,
		NewStatus: r.Status,
		New:       r,
		Old:       old,
		Remote:    h.Remote,
		Facts:     facts(h),
	}
	switch {
	case old == nil:
		e.Kind = event.ProbeAppeared
		e.Message = fmt.Sprintf("New probe %s with status %d : %s", r.Name, r.Status, r.Message)
	case old.Status != r.Status:
		e.Kind = event.ProbeChanged
		e.OldStatus = old.Status
		e.Message = fmt.Sprintf("Probe %s switched from %d to %d : %s", r.Name, old.Status, r.Status, r.Message)
	case old.Timestamp != r.Timestamp || old.Message != r.Message:
		e.Kind = event.ProbeUpdated
		e.OldStatus = old.Status
		e.Message = r.Message
	default:
		return e, false
	}
	return e, true
}

func disappeared(h *Host, old *model.ProbeResult, now time.Time) event.Event {
	return event.Event{
		Kind:      event.ProbeDisappeared,
		Time:      now,
		HostUUID:  h.UUID,
		Host:      h.Name,
		Group:     h.Group,
		Probe:     old.Name,
		OldStatus: old.Status,
		NewStatus: model.StatusOK,
		Old:       old,
		Message:   fmt.Sprintf("Probe %s removed (last status %d : %s)", old.Name, old.Status, old.Message),
		Remote:    h.Remote,
		Facts:     facts(h),
	}
}

func hostEvent(kind event.Kind, h *Host, oldStatus int, now time.Time, msg string) event.Event {
	return event.Event{
		Kind:      kind,
		Time:      now,
		HostUUID:  h.UUID,
		Host:      h.Name,
		Group:     h.Group,
		OldStatus: oldStatus,
		NewStatus: h.Status,
		Message:   msg,
		Remote:    h.Remote,
		Facts:     facts(h),
	}
}

// facts are what the store records of h with each event, so that a
// restart restores the host where it was.
func facts(h *Host) event.HostFacts {
	return event.HostFacts{Version: h.Version, Parent: h.Parent, Origin: h.Origin, Source: h.Source, Alive: h.Alive, Heard: h.LastUpdate}
}
