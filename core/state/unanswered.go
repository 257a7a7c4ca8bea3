package state

import (
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// unansweredPrefix starts the UUID of the stand-in for a pulled remote that
// never answered: such a remote has told nobody its UUID or its name yet.
// A real UUID holds no colon, so the two cannot meet.
const unansweredPrefix = "unanswered:"

// Unanswered reports whether uuid is the stand-in of a remote that never
// answered (see State.Unanswered).
func Unanswered(uuid string) bool { return strings.HasPrefix(uuid, unansweredPrefix) }

// Unanswered records that the remote at source, polled by a transport, has
// not answered once since the transport started: it is shown as a DOWN host
// named after its address, "never answered since" the first failed poll,
// and notified like any host going DOWN, rather than being absent from
// the dashboard of the on-call person who expects it there. reason is the
// failure, for the log and the notification.
//
// It does nothing when source already carries a host: one it reported
// before a restart is restored DOWN with when it was last heard, which says
// more. The stand-in goes when the remote answers (Ingest: it is UP, then
// replaced by the hosts the remote reports) or an operator removes it.
func (s *State) Unanswered(source, reason string) {
	now := s.opts.Now()
	s.mu.Lock()
	if source == "" || len(s.bySource[source]) > 0 {
		s.mu.Unlock()
		return
	}
	h := &Host{
		UUID: unansweredPrefix + source, Name: source, Remote: true, Source: source,
		Status: model.StatusDown, LastUpdate: now, Probes: map[string]*model.ProbeResult{},
	}
	s.putRemote(h)
	s.byName[h.Name] = h.UUID
	s.bySource[source] = map[string]struct{}{h.UUID: {}}
	s.changed()
	s.commit([]event.Event{
		hostEvent(event.HostAppeared, h, 0, now, "New host "+h.Name+" (a configured remote)"),
		hostEvent(event.HostDown, h, 0, now, "Host "+h.Name+" is DOWN: never answered since "+
			now.UTC().Format(time.RFC3339)+" ("+reason+")"),
	})
}
