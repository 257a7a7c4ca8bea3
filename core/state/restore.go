package state

import (
	"errors"
	"maps"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// What a restart keeps: the store records every host and the last status of
// each of its probes from the events this state publishes (event.HostFacts),
// and the daemon hands that record to Restore on start, before probes and
// transports run. From then on every change is computed against the
// restored records, as if the daemon had never stopped:
//   - a probe that reports the status it had before is no change (no
//     notification, no log row); one that recovered while the daemon was
//     down is a change from its old status (a recovery, notified and logged);
//   - a remote host that was DOWN stays DOWN, showing when it was last heard,
//     until it reports again (host_up) or an operator removes it;
//   - a remote host that was alive stays alive for one alive_timeout counted
//     from the restart, so that a restart longer than alive_timeout does not
//     turn every remote DOWN before its first poll or push had a chance; if
//     nothing is heard by then it goes DOWN (notified: that is a change).

// ErrNoSuchHost is returned by RemoveHost when no remote host has the name.
var ErrNoSuchHost = errors.New("no such remote host")

// ErrLocalHost is returned by RemoveHost for the local host, which is this
// instance itself and cannot be forgotten.
var ErrLocalHost = errors.New("the local host cannot be removed")

// Restore loads hosts recorded by a previous run: the record whose UUID is
// this instance's gives the local host's probes, the others are remote
// hosts. It publishes nothing: a restored record is what subscribers were
// told before the restart. Call it before anything feeds the state; records
// already known (by UUID) are left as they are.
func (s *State) Restore(hosts []*Host) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restoredAt = now
	s.changed()
	for _, h := range hosts {
		if h == nil || h.UUID == "" {
			continue
		}
		if h.UUID == s.opts.UUID {
			for name, p := range h.Probes {
				if _, ok := s.local.Probes[name]; !ok {
					s.local.Probes[name] = p
				}
			}
			s.local.Status = worstProbe(s.local.Probes)
			s.localSnap.Store(nil)
			continue
		}
		if !h.Remote {
			// The local host of another UUID (the uuid_file was replaced):
			// not this instance, and nobody reports it any more.
			continue
		}
		if _, ok := s.remotes[h.UUID]; ok {
			continue
		}
		r := *h
		r.Probes = maps.Clone(h.Probes)
		if r.Probes == nil {
			r.Probes = map[string]*model.ProbeResult{}
		}
		r.Status = worstProbe(r.Probes)
		if !r.Alive {
			r.Status = model.StatusDown
		}
		s.putRemote(&r)
		s.byName[r.Name] = r.UUID
		if r.Source != "" {
			if s.bySource[r.Source] == nil {
				s.bySource[r.Source] = map[string]struct{}{}
			}
			s.bySource[r.Source][r.UUID] = struct{}{}
		}
	}
}

// RemoveHost forgets the remote host named name, and the hosts that were
// learned through it (its document carried them: with it gone nobody
// reports them), publishing host_removed for each with ByOperator set so
// the log records who did it. It is the operator's way to drop a host that
// is DOWN for good; a host still reporting comes back with its next report.
// It returns the removed hosts, the named one first; ErrNoSuchHost when no
// remote host has that name, ErrLocalHost for this instance's own.
func (s *State) RemoveHost(name, by string) ([]*Host, error) {
	now := s.opts.Now()
	s.mu.Lock()
	if s.local.Name == name {
		s.mu.Unlock()
		return nil, ErrLocalHost
	}
	id, ok := s.byName[name]
	h := s.remotes[id]
	if !ok || h == nil {
		s.mu.Unlock()
		return nil, ErrNoSuchHost
	}
	gone := []*Host{h}
	if h.Origin == id {
		// It reported directly: what its documents carried goes with it.
		for cid := range s.bySource[h.Source] {
			if c, ok := s.remotes[cid]; ok && cid != id && c.Origin == id {
				gone = append(gone, c)
			}
		}
	}
	sortHosts(gone[1:])
	msg := "Host " + h.Name + " removed by an operator"
	if by != "" {
		msg += " (" + by + ")"
	}
	events := make([]event.Event, 0, len(gone))
	s.changed()
	for i, g := range gone {
		s.dropRemote(g.UUID)
		if s.byName[g.Name] == g.UUID {
			delete(s.byName, g.Name)
		}
		if o := s.bySource[g.Source]; o != nil {
			delete(o, g.UUID)
		}
		m := msg
		if i > 0 {
			m = "Host " + g.Name + " removed by an operator with " + h.Name + ", through which it was learned"
		}
		e := hostEvent(event.HostRemoved, g, g.Status, now, m)
		e.ByOperator = true
		events = append(events, e)
	}
	s.commit(events)
	return gone, nil
}

// LastHeard is when each remote host was last heard of, by UUID: what the
// store saves now and then (and at shutdown) so "not heard since" survives
// a restart without a write per update.
func (s *State) LastHeard() map[string]time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]time.Time, len(s.remotes))
	for id, h := range s.remotes {
		out[id] = h.LastUpdate
	}
	return out
}
