// Package state holds what this instance knows: its own host and probes, and
// every remote host learned from other instances, deduplicated by UUID. It is
// the only publisher of change events: every mutation computes its diff and
// hands the resulting events to the bus, in order.
//
// Host records are copy-on-write: a mutation replaces a host's record and its
// probe map instead of editing them, so readers (the API encoding a document,
// the websocket hub sending a snapshot) hold plain pointers without locks.
package state

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// Options configure a State.
type Options struct {
	// UUID identifies this instance; hosts reporting it are never ingested.
	UUID     string
	Hostname string
	Group    string
	// Version is the daemon's version, answered in documents.
	Version string
	// AliveTimeout is how long a remote host may stay silent before it is
	// DOWN. Default 60 s.
	AliveTimeout time.Duration
	// Bus receives every change. Required.
	Bus *event.Bus
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Decide, when set, sets each event's Decision (core/decide) before
	// the event is published, in publishing order. It is called with the
	// state's lock held (check attempts may turn a report into the change
	// the rest of the batch is described with), so it must not call back
	// into the state.
	Decide func([]event.Event)
}

// Host is an immutable record of one host. Never modify a Host obtained from
// the state: replace it through the state's methods.
type Host struct {
	UUID    string
	Name    string
	Group   string
	Version string
	// Parent is the UUID of the instance this host was learned through; empty
	// for the local host and for hosts this instance polls or receives
	// directly (their parent is this instance).
	Parent string
	// Probes by name; shared, never mutated.
	Probes map[string]*model.ProbeResult
	// Status is the worst probe status, or DOWN when the host is not alive.
	Status int
	Alive  bool
	// LastUpdate is when this instance last heard of the host.
	LastUpdate time.Time
	// Remote is false only for the local host.
	Remote bool
	// Origin is the UUID of the instance whose document carried this host
	// (the directly connected one).
	Origin string
	// Source is who delivered that document: a pulled remote's address or
	// an authenticated push client's UUID. A host is bound to its source:
	// while that source lists it, another claiming its UUID is refused; when
	// the source stops listing it, the host is removed.
	Source string
	// ClaimedBy is the last other source refused for claiming this host's
	// UUID; empty when none did. Shown so the operator can find the
	// impostor (or the duplicated UUID).
	ClaimedBy string
}

// State is safe for concurrent use.
type State struct {
	opts Options
	bus  *event.Bus

	mu sync.RWMutex
	// local is the live record of the local host. Unlike remote records it
	// is mutated in place under mu: with hundreds of local probes, copying
	// its probe map on every run would dominate the cost of a run. Readers
	// get localSnap, an immutable copy rebuilt on the first read after a
	// change.
	local     *Host
	localSnap atomic.Pointer[Host]
	remotes   map[string]*Host // by UUID. Written through putRemote and dropRemote only.
	// byStatus counts the remote hosts at each status, so the global
	// status (GlobalStatus, and every status change's event) is the worst
	// of a handful of counts, not of the whole fleet.
	byStatus map[int]int
	// byName finds a remote host's UUID by host name. Names are not unique
	// across a fleet; the most recently updated host wins.
	byName map[string]string
	// bySource lists the remote hosts each source's document carried, so an
	// ingest finds the hosts a source stopped reporting without walking the
	// whole fleet.
	bySource map[string]map[string]struct{}

	// restoredAt is when Restore ran: a restored host that was alive counts
	// its alive_timeout from then, not from when it was last heard before
	// the restart.
	restoredAt time.Time

	// pubMu is taken before mu is released so events reach the bus in the
	// order their changes were applied, without holding mu while a lossless
	// subscriber applies back-pressure.
	pubMu sync.Mutex
}

// New returns a State holding only the local host, with no probes yet.
// Now is the time on the state's clock (Options.Now): the time its
// records, and what is decided about them, are stamped with.
func (s *State) Now() time.Time { return s.opts.Now() }

func New(opts Options) *State {
	if opts.AliveTimeout <= 0 {
		opts.AliveTimeout = 60 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Bus == nil {
		opts.Bus = event.NewBus()
	}
	s := &State{
		opts:     opts,
		bus:      opts.Bus,
		remotes:  make(map[string]*Host),
		byStatus: make(map[int]int),
		byName:   make(map[string]string),
		bySource: make(map[string]map[string]struct{}),
	}
	s.local = &Host{
		UUID:       opts.UUID,
		Name:       opts.Hostname,
		Group:      opts.Group,
		Version:    opts.Version,
		Probes:     map[string]*model.ProbeResult{},
		Status:     model.StatusOK,
		Alive:      true,
		LastUpdate: opts.Now(),
	}
	return s
}

// Bus is the bus this state publishes on.
func (s *State) Bus() *event.Bus { return s.bus }

// UUID is this instance's UUID.
func (s *State) UUID() string { return s.opts.UUID }

// commit releases mu (held for writing) and publishes events in order.
func (s *State) commit(events []event.Event) {
	if len(events) == 0 {
		s.mu.Unlock()
		return
	}
	s.pubMu.Lock()
	s.publish(events)
}

// publish releases mu and pubMu (both held) and publishes events: the
// decisions see them in the order they are published.
func (s *State) publish(events []event.Event) {
	// Decided first: check attempts may make a report the change itself.
	if s.opts.Decide != nil {
		s.opts.Decide(events)
	}
	s.describeHosts(events)
	s.mu.Unlock()
	for i := range events {
		if e := &events[i]; e.Logged() {
			l := e.LogEntry()
			e.Log = &l
		}
	}
	s.bus.Publish(events...)
	s.pubMu.Unlock()
}

// describeHosts sets HostStatus and ProbesInError on the probe events
// (mu held): each host's are computed once per batch.
func (s *State) describeHosts(events []event.Event) {
	type described struct {
		status  int
		inError []string
	}
	var done map[*Host]described
	global := -1
	for i := range events {
		e := &events[i]
		switch e.Kind {
		case event.ProbeChanged, event.ProbeAppeared, event.ProbeDisappeared, event.CurrentState, event.FlappingStopped, event.Renotify, event.Escalation, event.Delayed:
		case event.HostDown, event.HostUp, event.HostAppeared, event.HostRemoved:
			if global < 0 {
				global = s.globalLocked()
			}
			e.GlobalStatus = global
			continue
		default:
			// probe_updated (every report of every probe) changes no
			// status: not worth the work on the hot path.
			continue
		}
		h := s.local
		if e.Remote {
			if h = s.remotes[e.HostUUID]; h == nil {
				continue
			}
		}
		d, ok := done[h]
		if !ok {
			d.inError = []string{}
			for name, p := range h.Probes {
				if p.Status > model.StatusOK {
					d.inError = append(d.inError, name)
				}
			}
			slices.Sort(d.inError)
			d.status = h.Status
			if done == nil {
				done = map[*Host]described{}
			}
			done[h] = d
		}
		if global < 0 {
			global = s.globalLocked()
		}
		e.HostStatus, e.ProbesInError, e.GlobalStatus = d.status, d.inError, global
	}
}

// SetIdentity changes the local host's name and group (configuration
// reload). Probe results are kept.
func (s *State) SetIdentity(hostname, group string) {
	s.mu.Lock()
	s.local.Name, s.local.Group = hostname, group
	s.localSnap.Store(nil)
	s.mu.Unlock()
}

// SetAliveTimeout changes the DOWN threshold (configuration reload).
func (s *State) SetAliveTimeout(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	s.opts.AliveTimeout = d
	s.mu.Unlock()
}

// ProbeResult records a local probe run. It implements the probe runner's
// sink.
func (s *State) ProbeResult(r *model.ProbeResult) {
	now := s.opts.Now()
	s.mu.Lock()
	old := s.local.Probes[r.Name]
	s.local.Probes[r.Name] = r
	s.local.LastUpdate = now
	s.updateLocalStatus(old, r)
	var events []event.Event
	if e, ok := probeEvent(s.local, old, r, now); ok {
		events = append(events, e)
	}
	s.commit(events)
}

// ProbeRemoved forgets a local probe's result. It implements the probe
// runner's sink.
func (s *State) ProbeRemoved(name string) {
	now := s.opts.Now()
	s.mu.Lock()
	old, ok := s.local.Probes[name]
	if !ok {
		s.mu.Unlock()
		return
	}
	delete(s.local.Probes, name)
	s.updateLocalStatus(old, nil)
	s.commit([]event.Event{disappeared(s.local, old, now)})
}

// updateLocalStatus keeps the local host's status the worst of its probes
// after old was replaced by r (nil when removed), rescanning the probes only
// when the worst one may have improved. mu must be held for writing.
func (s *State) updateLocalStatus(old, r *model.ProbeResult) {
	switch st := s.local.Status; {
	case r != nil && r.Status >= st:
		s.local.Status = r.Status
	case old != nil && old.Status >= st:
		s.local.Status = worstProbe(s.local.Probes)
	}
	s.localSnap.Store(nil)
}

// localView is an immutable copy of the local host. mu must be held, for
// reading at least: no writer can then change local while it is copied.
func (s *State) localView() *Host {
	if h := s.localSnap.Load(); h != nil {
		return h
	}
	h := *s.local
	h.Probes = maps.Clone(s.local.Probes)
	s.localSnap.Store(&h)
	return &h
}

// Run marks remote hosts DOWN when they stay silent for alive_timeout, until
// ctx is done. The check runs every second (or a tenth of alive_timeout,
// whichever is shorter), so a host is DOWN at most that much late.
func (s *State) Run(ctx context.Context) {
	s.mu.RLock()
	every := min(time.Second, s.opts.AliveTimeout/10)
	s.mu.RUnlock()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.CheckAlive()
		}
	}
}

// CheckAlive marks DOWN every remote host not heard from for alive_timeout.
func (s *State) CheckAlive() {
	now := s.opts.Now()
	s.mu.Lock()
	var events []event.Event
	for _, h := range s.remotes {
		if !h.Alive || now.Sub(h.LastUpdate) <= s.opts.AliveTimeout || now.Sub(s.restoredAt) <= s.opts.AliveTimeout {
			continue
		}
		d := *h
		d.Alive = false
		d.Status = model.StatusDown
		s.putRemote(&d)
		events = append(events, hostEvent(event.HostDown, &d, h.Status, now,
			"Host "+d.Name+" is DOWN: not heard since "+h.LastUpdate.UTC().Format(time.RFC3339)+
				" ("+now.Sub(h.LastUpdate).Truncate(time.Second).String()+" ago)"))
	}
	s.commit(events)
}

// Local returns the local host's current record.
func (s *State) Local() *Host {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.localView()
}

// Remotes returns every remote host record, sorted by name then UUID.
func (s *State) Remotes() []*Host {
	s.mu.RLock()
	out := make([]*Host, 0, len(s.remotes))
	for _, h := range s.remotes {
		out = append(out, h)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].UUID < out[j].UUID
	})
	return out
}

// Hosts returns the local host first, then every remote host.
func (s *State) Hosts() []*Host {
	return append([]*Host{s.Local()}, s.Remotes()...)
}

// FindHost finds a host by name, the local host first.
func (s *State) FindHost(name string) (*Host, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.findLocked(name)
}

// GlobalStatus is the worst status of the local host and every remote host,
// DOWN included.
func (s *State) GlobalStatus() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.globalLocked()
}

// globalLocked is GlobalStatus with mu held.
func (s *State) globalLocked() int {
	st := s.local.Status
	for status := range s.byStatus {
		st = max(st, status)
	}
	return st
}

// putRemote makes h the record of its host. mu must be held for writing.
func (s *State) putRemote(h *Host) {
	if old := s.remotes[h.UUID]; old != nil {
		s.uncount(old.Status)
	}
	s.remotes[h.UUID] = h
	s.byStatus[h.Status]++
}

// dropRemote forgets the record of host id. mu must be held for writing.
func (s *State) dropRemote(id string) {
	if old := s.remotes[id]; old != nil {
		s.uncount(old.Status)
		delete(s.remotes, id)
	}
}

func (s *State) uncount(status int) {
	if s.byStatus[status]--; s.byStatus[status] <= 0 {
		delete(s.byStatus, status)
	}
}

func worstProbe(probes map[string]*model.ProbeResult) int {
	st := model.StatusOK
	for _, p := range probes {
		st = max(st, p.Status)
	}
	return st
}

// sortedNames lists a probe map's names, worst status first, then by name:
// the order people read them in.
func sortedNames(m map[string]*model.ProbeResult) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := m[names[i]], m[names[j]]
		if a.Status != b.Status {
			return a.Status > b.Status
		}
		return names[i] < names[j]
	})
	return names
}

func withProbe(m map[string]*model.ProbeResult, r *model.ProbeResult) map[string]*model.ProbeResult {
	out := make(map[string]*model.ProbeResult, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[r.Name] = r
	return out
}

func withoutProbe(m map[string]*model.ProbeResult, name string) map[string]*model.ProbeResult {
	out := make(map[string]*model.ProbeResult, len(m))
	for k, v := range m {
		if k != name {
			out[k] = v
		}
	}
	return out
}
