package state

import (
	"errors"
	"fmt"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// ErrUnknownHost is returned by Patch for a host the state did not receive
// whole from itself, from the same source, before (never seen, removed,
// learned through another instance or source, or DOWN since): the sender
// must send a whole document.
var ErrUnknownHost = errors.New("host not known from a whole document of its own")

// Patch applies a change of some probes to a remote host that reports
// directly to this instance (by push): the results in set replace or add
// probes, the names in removed disappear, and every other probe stays as the
// last document left it. The hosts its last document carried stay as they
// were, heard of now: a patch says their instance is still talking.
//
// It is the cheap path for a host whose documents differ from one update to
// the next only by probe results: only what changed is decoded and diffed.
// Invalid results are skipped and described in the returned error, as with
// Ingest; ErrUnknownHost means nothing was applied. Only the source whose
// document the host came in may patch it.
func (s *State) Patch(source, hostUUID string, set []*model.ProbeResult, removed []string) error {
	now := s.opts.Now()
	var errs []error
	s.mu.Lock()
	old := s.remotes[hostUUID]
	if old == nil || old.Origin != hostUUID || old.Source != source || !old.Alive {
		// A host that went DOWN takes a whole document to come back: the
		// hosts it carries went DOWN with it, and only the document says
		// which of them are alive.
		s.mu.Unlock()
		return ErrUnknownHost
	}
	h := *old
	if len(set) > 0 || len(removed) > 0 {
		// Copy on write; a patch of nothing (the host answered, unchanged)
		// shares the probes, which are never mutated.
		h.Probes = make(map[string]*model.ProbeResult, len(old.Probes)+len(set))
		for k, v := range old.Probes {
			h.Probes[k] = v
		}
	}
	var events []event.Event
	for _, p := range set {
		if p == nil {
			continue
		}
		keep, err := sanitizeProbe(p.Name, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("host %q: %w", h.Name, err))
		}
		if keep {
			h.Probes[p.Name] = p
		}
	}
	for _, name := range removed {
		delete(h.Probes, name)
	}
	h.LastUpdate = now
	h.Status = worstProbe(h.Probes)
	s.putRemote(&h)
	s.byName[h.Name] = hostUUID
	s.changed()
	for _, p := range set {
		if p == nil || h.Probes[p.Name] != p {
			continue
		}
		if e, ok := probeEvent(&h, old.Probes[p.Name], p, now); ok {
			events = append(events, e)
		}
	}
	for _, name := range removed {
		if p, ok := old.Probes[name]; ok {
			events = append(events, disappeared(&h, p, now))
		}
	}
	// The hosts carried by this one's last document were not resent: they
	// are as alive as their instance says, which it just did.
	for id := range s.bySource[source] {
		c, ok := s.remotes[id]
		if !ok || id == hostUUID || !c.Alive {
			continue
		}
		d := *c
		d.LastUpdate = now
		s.putRemote(&d)
	}
	s.commit(events)
	return errors.Join(errs...)
}
