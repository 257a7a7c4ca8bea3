package state

import (
	"errors"
	"fmt"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

var (
	// ErrNoSuchProbe: the host has no probe of that name.
	ErrNoSuchProbe = errors.New("no such probe")
	// ErrNothingToAck: the host or probe is OK; there is no problem to
	// acknowledge.
	ErrNothingToAck = errors.New("nothing to acknowledge: it is OK")
)

// Acknowledge publishes a's acknowledgement of its host's (Probe "") or
// probe's current problem, filling in the host's UUID, the status
// acknowledged and the time. A host's own status is its worst probe's, or
// DOWN.
func (s *State) Acknowledge(a event.Ack) (event.Ack, error) {
	s.mu.Lock()
	h, ok := s.findLocked(a.Host)
	if !ok {
		s.mu.Unlock()
		return a, fmt.Errorf("%w: %s", ErrNoSuchHost, a.Host)
	}
	status := h.Status
	if a.Probe != "" {
		r, ok := h.Probes[a.Probe]
		if !ok {
			s.mu.Unlock()
			return a, fmt.Errorf("%w: %s on %s", ErrNoSuchProbe, a.Probe, a.Host)
		}
		status = r.Status
	}
	if status <= model.StatusOK {
		s.mu.Unlock()
		return a, fmt.Errorf("%w (%s is %d)", ErrNothingToAck, a.Target(), status)
	}
	a.HostUUID, a.Status, a.Time = h.UUID, status, s.opts.Now()
	e := s.ackEvent(event.Acknowledged, h, a, a.Target()+" acknowledged by "+a.Author)
	if a.Comment != "" {
		e.Message += ": " + a.Comment
	}
	s.commit([]event.Event{e})
	return a, nil
}

// Unacknowledge publishes the removal of acknowledgement a by author.
func (s *State) Unacknowledge(a event.Ack, author string) {
	s.mu.Lock()
	h, ok := s.findLocked(a.Host)
	if !ok {
		h = &Host{UUID: a.HostUUID, Name: a.Host}
	}
	e := s.ackEvent(event.AckRemoved, h, a, "acknowledgement of "+a.Target()+" removed by "+author)
	s.commit([]event.Event{e})
}

func (s *State) ackEvent(kind event.Kind, h *Host, a event.Ack, msg string) event.Event {
	now := s.opts.Now()
	return event.Event{Kind: kind, Time: now, HostUUID: h.UUID, Host: h.Name, Group: h.Group, Probe: a.Probe,
		OldStatus: a.Status, NewStatus: a.Status, Message: msg, Remote: h.Remote, Ack: &a,
		Facts: event.HostFacts{Version: h.Version, Parent: h.Parent, Origin: h.Origin, Source: h.Source, Alive: h.Alive, Heard: h.LastUpdate}}
}

// findLocked finds a host by name, the local host first; s.mu held.
func (s *State) findLocked(name string) (*Host, bool) {
	if s.local.Name == name {
		return s.localView(), true
	}
	if id, ok := s.byName[name]; ok {
		if h, ok := s.remotes[id]; ok {
			return h, true
		}
	}
	return nil, false
}
