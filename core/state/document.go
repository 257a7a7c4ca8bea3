package state

import (
	"sort"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// tree is a consistent view of the state's hosts arranged as the original's
// nested document: each instance under the one it was learned through.
type tree struct {
	local    *Host
	children map[string][]*Host // parent UUID ("" = this instance) → hosts
}

func (s *State) tree() tree {
	s.mu.RLock()
	t := tree{local: s.localView(), children: make(map[string][]*Host)}
	for _, h := range s.remotes {
		t.children[h.Parent] = append(t.children[h.Parent], h)
	}
	remotes := len(s.remotes)
	s.mu.RUnlock()
	for _, list := range t.children {
		sortHosts(list)
	}
	// A host whose parent is unknown, or that sits in a parent loop two
	// sources disagree about, would be unreachable: hang it at the top.
	reached := make(map[string]bool, remotes)
	var walk func(id string)
	walk = func(id string) {
		for _, h := range t.children[id] {
			if !reached[h.UUID] {
				reached[h.UUID] = true
				walk(h.UUID)
			}
		}
	}
	walk("")
	if len(reached) < remotes {
		for parent, list := range t.children {
			if parent == "" {
				continue
			}
			for _, h := range list {
				if !reached[h.UUID] {
					t.children[""] = append(t.children[""], h)
					reached[h.UUID] = true
					walk(h.UUID)
				}
			}
		}
		sortHosts(t.children[""])
	}
	return t
}

func sortHosts(list []*Host) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Name != list[j].Name {
			return list[i].Name < list[j].Name
		}
		return list[i].UUID < list[j].UUID
	})
}

// doc renders h and everything learned through it. visited guards against
// a host appearing twice.
func (t tree) doc(h *Host, childKey string, visited map[string]bool) *model.Wigo {
	w := &model.Wigo{
		Uuid:          h.UUID,
		Version:       h.Version,
		IsAlive:       h.Alive,
		GlobalStatus:  h.Status,
		GlobalMessage: "OK",
		LocalHost:     &model.Host{Name: h.Name, Group: h.Group, Status: h.Status, Probes: h.Probes},
		RemoteWigos:   map[string]*model.Wigo{},
		Hostname:      h.Name,
		LastUpdate:    h.LastUpdate.Unix(),
		ClaimedBy:     h.ClaimedBy,
	}
	if !h.Alive {
		w.GlobalMessage = "DOWN"
		w.NotHeardSince = h.LastUpdate.UTC().Format(time.RFC3339)
		w.NeverAnswered = Unanswered(h.UUID)
	}
	for _, c := range t.children[childKey] {
		if visited[c.UUID] {
			continue
		}
		visited[c.UUID] = true
		sub := t.doc(c, c.UUID, visited)
		w.RemoteWigos[c.UUID] = sub
		w.GlobalStatus = max(w.GlobalStatus, sub.GlobalStatus)
	}
	return w
}

// Document is the whole state in the original's GET /api shape.
func (s *State) Document() *model.Wigo {
	t := s.tree()
	return t.doc(t.local, "", map[string]bool{})
}

// HostDocument is the document of one host (and what was learned through
// it), found by name; the local host's is the whole Document.
func (s *State) HostDocument(name string) (*model.Wigo, bool) {
	h, ok := s.FindHost(name)
	if !ok {
		return nil, false
	}
	t := s.tree()
	if !h.Remote {
		return t.doc(t.local, "", map[string]bool{}), true
	}
	return t.doc(h, h.UUID, map[string]bool{h.UUID: true}), true
}

// Hostnames lists the local host then every remote host, by name.
func (s *State) Hostnames() []string {
	hosts := s.Hosts()
	out := make([]string, 0, len(hosts))
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if !seen[h.Name] {
			seen[h.Name] = true
			out = append(out, h.Name)
		}
	}
	return out
}

// ProbeNames lists a host's probes, worst first.
func (h *Host) ProbeNames() []string { return sortedNames(h.Probes) }

// Groups lists the groups of every known host, sorted; hosts without a
// group are not listed.
func (s *State) Groups() []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range s.Hosts() {
		if h.Group != "" && !seen[h.Group] {
			seen[h.Group] = true
			out = append(out, h.Group)
		}
	}
	sort.Strings(out)
	return out
}

// Group summarises the hosts of one group, worst first, in the original's
// shape. It reports false when no host has that group.
func (s *State) Group(name string) (*model.GroupSummary, bool) {
	g := &model.GroupSummary{Name: name, Status: model.StatusOK, Hosts: []model.HostSummary{}}
	var hosts []*Host
	for _, h := range s.Hosts() {
		if h.Group == name {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, false
	}
	sort.SliceStable(hosts, func(i, j int) bool {
		if hosts[i].Status != hosts[j].Status {
			return hosts[i].Status > hosts[j].Status
		}
		return hosts[i].Name < hosts[j].Name
	})
	for _, h := range hosts {
		hs := model.HostSummary{Name: h.Name, Message: "OK", Status: h.Status, IsAlive: h.Alive, Probes: []model.ProbeSummary{}}
		if !h.Alive {
			hs.Message = "DOWN"
		}
		for _, n := range sortedNames(h.Probes) {
			p := h.Probes[n]
			hs.Probes = append(hs.Probes, model.ProbeSummary{Message: p.Message, Name: p.Name, Status: p.Status})
		}
		g.Hosts = append(g.Hosts, hs)
		g.Status = max(g.Status, h.Status)
	}
	return g, true
}
