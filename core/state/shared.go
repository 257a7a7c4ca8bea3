package state

import (
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// SharedAck publishes acknowledgement a, given (removed false) or removed
// on another master sharing this one's database, as that master recorded
// it: the event is Shared, so the decisions take it as it is and the
// store neither records nor logs it again. log is the row that master
// logged for it, if any, shown live as it is stored.
func (s *State) SharedAck(a event.Ack, removed bool, log *model.LogEntry) {
	s.mu.Lock()
	h := s.hostLocked(a.HostUUID, a.Host)
	if h == nil {
		h = &Host{UUID: a.HostUUID, Name: a.Host}
	}
	kind := event.Acknowledged
	if removed {
		kind = event.AckRemoved
	}
	e := s.ackEvent(kind, h, a, a.Target())
	s.commit([]event.Event{shared(e, log)})
}

// SharedSilence publishes silence si, set (ended false) or ended on
// another master sharing this one's database, as SharedAck does an
// acknowledgement. Nothing is restated at its end: that master did.
func (s *State) SharedSilence(si event.Silence, ended bool, log *model.LogEntry) {
	s.mu.Lock()
	kind := event.SilenceSet
	if ended {
		kind = event.SilenceEnded
	}
	s.commit([]event.Event{shared(s.silenceEvent(kind, si, "silence "+si.ID), log)})
}

// shared marks e as another master's change, with the log row it wrote.
func shared(e event.Event, log *model.LogEntry) event.Event {
	e.Shared = true
	if log != nil {
		l := *log
		e.Log, e.Message = &l, l.Message
	}
	return e
}
