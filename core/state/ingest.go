package state

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// Limits on what a remote document may carry. Documents come from the
// network and are untrusted.
const (
	MaxNameLen  = 255
	MaxUUIDLen  = 64
	MaxDepth    = 32
	maxMsgBytes = 64 << 10
)

var uuidRe = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// node is one host flattened out of a nested document.
type node struct {
	host  *Host
	alive bool
}

// Ingest merges a document received from another instance (by pull or
// push) from source, the remote's address or the push client's UUID: its
// own host and, recursively, every host under RemoteWigos. Hosts are
// deduplicated by UUID; this instance's own UUID is never ingested (nor
// anything learned through it, which would be a loop). Hosts that the same
// source reported before but no longer does are removed.
//
// A host is bound to the first source that reports it, for as long as that
// source keeps reporting it: another source claiming the same UUID (an
// impostor, or two hosts cloned with one UUID) is refused with what it
// carries under that host, and the genuine host is marked ClaimedBy, never
// overwritten.
//
// Invalid parts are skipped and described in the returned error (with their
// path in the document); the valid rest is ingested.
func (s *State) Ingest(source string, doc *model.Wigo) error {
	if doc == nil {
		return errors.New("empty document")
	}
	if source == "" {
		return errors.New("document without a source")
	}
	var errs []error
	var nodes []node
	s.flatten(doc, "", "", 0, &nodes, &errs)
	if len(nodes) == 0 {
		return errors.Join(append([]error{errors.New("document holds no valid host")}, errs...)...)
	}
	origin := nodes[0].host.UUID
	now := s.opts.Now()
	seen := make(map[string]bool, len(nodes))
	refused := map[string]bool{}

	s.mu.Lock()
	var events []event.Event
	for _, n := range nodes {
		h := n.host
		if seen[h.UUID] || refused[h.UUID] {
			continue
		}
		if refused[h.Parent] {
			refused[h.UUID] = true
			continue
		}
		old := s.remotes[h.UUID]
		if old != nil && old.Source != source {
			if _, bound := s.bySource[old.Source][h.UUID]; bound {
				refused[h.UUID] = true
				errs = append(errs, fmt.Errorf("host %q claims UUID %s, which %s already reports (as %q): refused", h.Name, h.UUID, old.Source, old.Name))
				if old.ClaimedBy != source {
					marked := *old
					marked.ClaimedBy = source
					s.putRemote(&marked)
					s.changed()
				}
				continue
			}
		}
		seen[h.UUID] = true
		h.Origin = origin
		h.Source = source
		h.LastUpdate = now
		h.Remote = true
		h.Alive = n.alive
		h.Status = worstProbe(h.Probes)
		if !h.Alive {
			h.Status = model.StatusDown
		}
		if old != nil {
			h.ClaimedBy = old.ClaimedBy
		}
		s.putRemote(h)
		s.byName[h.Name] = h.UUID
		s.changed()
		events = appendHostDiff(events, old, h, now)
	}
	if len(seen) == 0 {
		// Nothing of it was accepted: what this source carried before
		// stands until it sends something that is.
		s.mu.Unlock()
		return errors.Join(errs...)
	}
	carried := s.bySource[source]
	for id := range carried {
		if seen[id] {
			continue
		}
		h, ok := s.remotes[id]
		if !ok {
			continue
		}
		s.dropRemote(id)
		s.changed()
		if s.byName[h.Name] == id {
			delete(s.byName, h.Name)
		}
		if Unanswered(id) {
			// The remote answered at last: its DOWN is over (a recovery for
			// whoever was told), and its stand-in gives way to what it reports.
			up := *h
			up.Alive, up.Status, up.LastUpdate = true, model.StatusOK, now
			events = append(events,
				hostEvent(event.HostUp, &up, h.Status, now, "Host "+h.Name+" answered at last, as "+nodes[0].host.Name),
				hostEvent(event.HostRemoved, &up, up.Status, now, "Host "+h.Name+" is now known by the name it reports: "+nodes[0].host.Name))
			continue
		}
		events = append(events, hostEvent(event.HostRemoved, h, h.Status, now,
			"Host "+h.Name+" is no longer reported by its instance"))
	}
	next := make(map[string]struct{}, len(seen))
	for id := range seen {
		next[id] = struct{}{}
	}
	s.bySource[source] = next
	s.commit(events)
	return errors.Join(errs...)
}

// appendHostDiff appends the events that turn old into h.
func appendHostDiff(events []event.Event, old, h *Host, now time.Time) []event.Event {
	if old == nil {
		events = append(events, hostEvent(event.HostAppeared, h, 0, now, "New host "+h.Name))
		for _, name := range sortedNames(h.Probes) {
			e, _ := probeEvent(h, nil, h.Probes[name], now)
			events = append(events, e)
		}
		if !h.Alive {
			events = append(events, hostEvent(event.HostDown, h, 0, now, "Host "+h.Name+" is DOWN (reported by its instance)"))
		}
		return events
	}
	if old.Alive && !h.Alive {
		events = append(events, hostEvent(event.HostDown, h, old.Status, now, "Host "+h.Name+" is DOWN (reported by its instance)"))
	}
	if !old.Alive && h.Alive {
		events = append(events, hostEvent(event.HostUp, h, old.Status, now, "Host "+h.Name+" is UP again"))
	}
	for _, name := range sortedNames(h.Probes) {
		if e, ok := probeEvent(h, old.Probes[name], h.Probes[name], now); ok {
			events = append(events, e)
		}
	}
	for _, name := range sortedNames(old.Probes) {
		if _, ok := h.Probes[name]; !ok {
			events = append(events, disappeared(h, old.Probes[name], now))
		}
	}
	return events
}

// flatten validates doc and appends its hosts, parents first.
func (s *State) flatten(doc *model.Wigo, parent, path string, depth int, out *[]node, errs *[]error) {
	where := path
	if where == "" {
		where = "document"
	}
	if depth > MaxDepth {
		*errs = append(*errs, fmt.Errorf("%s: nested deeper than %d levels, ignored", where, MaxDepth))
		return
	}
	id := doc.Uuid
	if s.opts.UUID != "" && id == s.opts.UUID {
		// Our own document came back through a loop of instances.
		return
	}
	name := doc.Hostname
	group := ""
	var probes map[string]*model.ProbeResult
	if doc.LocalHost != nil {
		if doc.LocalHost.Name != "" {
			name = doc.LocalHost.Name
		}
		group = doc.LocalHost.Group
		probes = doc.LocalHost.Probes
	}
	if err := checkName(name); err != nil {
		*errs = append(*errs, fmt.Errorf("%s: host name: %w", where, err))
		return
	}
	if id == "" {
		// Very old instances have no UUID; the name is the best identity.
		id = "host:" + name
	} else if !uuidRe.MatchString(id) {
		*errs = append(*errs, fmt.Errorf("%s: host %q: invalid UUID %q", where, name, truncate(id, 80)))
		return
	}
	if err := checkText(group, MaxNameLen); err != nil {
		*errs = append(*errs, fmt.Errorf("%s: host %q: group: %w", where, name, err))
		group = ""
	}
	h := &Host{UUID: id, Name: name, Group: group, Version: truncate(doc.Version, MaxNameLen), Parent: parent,
		Probes: make(map[string]*model.ProbeResult, len(probes))}
	for key, p := range probes {
		if p == nil {
			continue
		}
		keep, err := sanitizeProbe(key, p)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: host %q: %w", where, name, err))
		}
		if keep {
			h.Probes[p.Name] = p
		}
	}
	*out = append(*out, node{host: h, alive: doc.IsAlive || depth == 0})
	for key, sub := range doc.RemoteWigos {
		if sub == nil {
			continue
		}
		s.flatten(sub, id, fmt.Sprintf("%s.RemoteWigos[%q]", strings.TrimPrefix(path, "document"), truncate(key, 80)), depth+1, out, errs)
	}
}

// sanitizeProbe validates a remote probe result received under key: a
// result without a usable name is dropped (keep false); one with a status
// out of range is kept as ERROR with the reported value in its message, so
// the fault shows. err describes either.
func sanitizeProbe(key string, p *model.ProbeResult) (keep bool, err error) {
	if p.Name == "" {
		p.Name = key
	}
	if err := checkName(p.Name); err != nil {
		return false, fmt.Errorf("probe %q: %w", truncate(key, 80), err)
	}
	if p.Status < model.StatusOK || p.Status > model.StatusDown {
		err = fmt.Errorf("probe %q: status %d out of range 100..999", p.Name, p.Status)
		p.Message = fmt.Sprintf("invalid status %d reported: %s", p.Status, p.Message)
		p.Status = model.StatusError
	}
	p.Message = truncate(p.Message, maxMsgBytes)
	p.Detail, _ = model.CapDepth(p.Detail)
	p.Value, _ = model.CapDepth(p.Value)
	return true, err
}

func checkName(name string) error {
	if name == "" {
		return errors.New("empty")
	}
	if strings.ContainsAny(name, "/\\") {
		return fmt.Errorf("%q contains a slash", truncate(name, 80))
	}
	return checkText(name, MaxNameLen)
}

func checkText(v string, maxLen int) error {
	if len(v) > maxLen {
		return fmt.Errorf("longer than %d bytes", maxLen)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("%q contains a control character", truncate(v, 80))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
