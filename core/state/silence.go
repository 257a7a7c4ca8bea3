package state

import (
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// SetSilence publishes silence si, made or extended.
func (s *State) SetSilence(si event.Silence, verb string) {
	s.mu.Lock()
	msg := fmt.Sprintf("silence %s %s by %s until %s for %s", si.ID, verb, si.Author, model.FormatDate(si.End), matchers(si))
	if si.Comment != "" {
		msg += ": " + si.Comment
	}
	s.commit([]event.Event{s.silenceEvent(event.SilenceSet, si, msg)})
}

// EndSilence publishes the end of silence si (why: "ended", "expired by
// alice") and, for each subject ending(si) names, a current_state event
// with the subject's status now: the decisions notify those that differ
// from what was last notified. ending is asked once every change published
// before is decided, so none is missed; when it reports that si has ended
// already, nothing is published. A subject whose host is gone is left out;
// a probe that is gone is restated as OK.
func (s *State) EndSilence(si event.Silence, why string, ending func(event.Silence) ([]event.Pending, bool)) {
	s.mu.Lock()
	s.pubMu.Lock()
	pending, ok := ending(si)
	if !ok {
		s.pubMu.Unlock()
		s.mu.Unlock()
		return
	}
	events := []event.Event{s.silenceEvent(event.SilenceEnded, si,
		fmt.Sprintf("silence %s (%s) %s", si.ID, matchers(si), why))}
	now := s.opts.Now()
	for _, p := range pending {
		if e, ok := s.restateLocked(event.CurrentState, p, now, "after silence "+si.ID); ok {
			events = append(events, e)
		}
	}
	s.publish(events)
}

// StopFlapping publishes a flapping_stopped event for each subject, with
// its status now: the decisions notify those that still flapped.
func (s *State) StopFlapping(subjects []event.Pending) {
	s.restate(event.FlappingStopped, subjects, "and stopped flapping")
}

// Renotify publishes a renotify event for each subject, with its status
// now: the decisions say which notifiers hear of it again.
func (s *State) Renotify(subjects []event.Pending) {
	s.restate(event.Renotify, subjects, "and still unresolved")
}

// Restate publishes a current_state event for each subject held back
// behind a parent that is back (why says so): the decisions notify those
// not as last notified.
func (s *State) Restate(subjects []event.Pending, why string) {
	s.restate(event.CurrentState, subjects, why)
}

// Escalate publishes an escalation event for each subject, with its status
// now: the decisions say which notifiers it goes to.
func (s *State) Escalate(subjects []event.Pending) {
	s.restate(event.Escalation, subjects, "and nobody acknowledged it")
}

func (s *State) restate(kind event.Kind, subjects []event.Pending, why string) {
	s.mu.Lock()
	var events []event.Event
	now := s.opts.Now()
	for _, p := range subjects {
		if e, ok := s.restateLocked(kind, p, now, why); ok {
			events = append(events, e)
		}
	}
	s.commit(events)
}

// restateLocked is an event of kind that says how subject p is at now
// ("Probe disk on host web-1 is CRIT (300) <why>"); false when its host is
// gone. A probe that is gone is OK. s.mu held.
func (s *State) restateLocked(kind event.Kind, p event.Pending, now time.Time, why string) (event.Event, bool) {
	h := s.hostLocked(p.HostUUID, p.Host)
	if h == nil {
		return event.Event{}, false
	}
	e := hostEvent(kind, h, p.Notified, now, "")
	if p.Probe == "" {
		e.Message = fmt.Sprintf("Host %s is %s %s", h.Name, model.StatusName(h.Status), why)
		return e, true
	}
	e.Probe, e.NewStatus = p.Probe, model.StatusOK
	if r, ok := h.Probes[p.Probe]; ok {
		e.NewStatus, e.New = r.Status, r
	}
	e.Message = fmt.Sprintf("Probe %s on host %s is %s (%d) %s", p.Probe, h.Name, model.StatusName(e.NewStatus), e.NewStatus, why)
	return e, true
}

func (s *State) silenceEvent(kind event.Kind, si event.Silence, msg string) event.Event {
	return event.Event{Kind: kind, Time: s.opts.Now(), NewStatus: model.StatusOK, OldStatus: model.StatusOK,
		Message: msg, Silence: &si}
}

// hostLocked finds a host by UUID, or by name when it has none; s.mu held.
func (s *State) hostLocked(uuid, name string) *Host {
	if (uuid != "" && uuid == s.local.UUID) || (uuid == "" && name == s.local.Name) {
		return s.localView()
	}
	if uuid != "" {
		return s.remotes[uuid]
	}
	h, _ := s.findLocked(name)
	return h
}

// matchers says what a silence matches, as the log reads it.
func matchers(si event.Silence) string {
	m := ""
	for _, kv := range [][2]string{{"host", si.Host}, {"group", si.Group}, {"probe", si.Probe}} {
		if kv[1] != "" {
			if m != "" {
				m += " "
			}
			m += kv[0] + "=" + kv[1]
		}
	}
	if m == "" {
		return "everything"
	}
	return m
}

// Record logs an operator's action on host (this instance's when empty)
// and probe (may be empty): message says who did what, from where. It
// changes nothing else.
func (s *State) Record(host, probe, message string) {
	s.mu.Lock()
	h := s.local
	if host != "" && host != h.Name {
		if id, ok := s.byName[host]; ok {
			h = s.remotes[id]
		}
	}
	e := event.Event{Kind: event.OperatorAction, Time: s.opts.Now(), HostUUID: h.UUID, Host: h.Name, Group: h.Group,
		Probe: probe, OldStatus: model.StatusOK, NewStatus: model.StatusOK, Message: message, Remote: h.Remote, ByOperator: true}
	if host != "" && host != h.Name {
		e.HostUUID, e.Host, e.Group, e.Remote = "", host, "", true
	}
	s.commit([]event.Event{e})
}
