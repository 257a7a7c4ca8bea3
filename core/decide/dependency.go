package decide

import (
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// Dependency is one dependency block: while a parent (a host name) is
// DOWN, the changes of its children (hosts matching Hosts, or in a group
// matching Groups) are held back.
type Dependency struct {
	Name          string
	Hosts, Groups []string
	Parents       []string
}

// dependency is a Dependency compiled.
type dependency struct {
	name          string
	hosts, groups []event.Pattern
}

func (c *dependency) child(host, group string) bool {
	for _, p := range c.hosts {
		if p.Match(host) {
			return true
		}
	}
	for _, p := range c.groups {
		if p.Match(group) {
			return true
		}
	}
	return false
}

// SetDependencies replaces the dependencies. grace is how long after a
// parent is back its children are given to report again before those
// still not as last notified are restated (the alive timeout: a child not
// heard of by then is DOWN in its own right).
func (d *Decider) SetDependencies(deps []Dependency, grace time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.depGrace = grace
	d.byParent = map[string][]*dependency{}
	for _, dep := range deps {
		c := &dependency{name: dep.Name}
		for _, h := range dep.Hosts {
			c.hosts = append(c.hosts, event.Compile(h))
		}
		for _, g := range dep.Groups {
			c.groups = append(c.groups, event.Compile(g))
		}
		for _, p := range dep.Parents {
			p = strings.ToLower(p)
			d.byParent[p] = append(d.byParent[p], c)
		}
	}
}

// RestoreDown marks hosts a restart found DOWN (by name), after Restore.
// A parent found up while children it held back still wait (it came back
// before the restart, within their grace) gives them a grace from now, so
// those still not as last notified are restated then, not forgotten.
func (d *Decider) RestoreDown(hosts []string, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range hosts {
		d.down[strings.ToLower(h)] = true
	}
	for parent, deps := range d.byParent {
		if d.down[parent] {
			continue
		}
	pending:
		for _, p := range d.pending {
			host, group := strings.ToLower(p.Host), strings.ToLower(p.Group)
			for _, c := range deps {
				if c.child(host, group) {
					d.parentsBack = append(d.parentsBack, parentBack{parent, now.Add(d.depGrace)})
					break pending
				}
			}
		}
	}
}

// blockedBy returns the DOWN parent (and its dependency) that a host's
// changes are held back behind, if any. Nothing is blocked while no
// parent is DOWN, which costs one map length.
func (d *Decider) blockedBy(host, group string) (parent, dep string, ok bool) {
	if len(d.down) == 0 || len(d.byParent) == 0 {
		return "", "", false
	}
	host, group = strings.ToLower(host), strings.ToLower(group)
	for p := range d.down {
		if p == host {
			continue
		}
		for _, c := range d.byParent[p] {
			if c.child(host, group) {
				return p, c.name, true
			}
		}
	}
	return "", "", false
}

// hostState keeps which hosts are DOWN (by name) from e, after e itself is
// decided; a parent that is back (or gone: an unknown parent counts as up)
// has the children it held back restated (DependencyDue).
func (d *Decider) hostState(e *event.Event) {
	name := strings.ToLower(e.Host)
	switch e.Kind {
	case event.HostDown:
		d.down[name] = true
	case event.HostUp, event.HostRemoved:
		if d.down[name] {
			delete(d.down, name)
			if len(d.byParent[name]) > 0 {
				d.parentsBack = append(d.parentsBack, parentBack{name, e.Time.Add(d.depGrace)})
				d.wake()
			}
		}
	}
}

// parentBack is a parent that came back, and when its children's grace
// ends.
type parentBack struct {
	name string
	at   time.Time
}

// DependencyDue returns, at t, the subjects held back behind parents whose
// grace has ended (and are not held behind another: their current_state
// events notify those not as last notified), and when the next grace ends
// (zero when none).
func (d *Decider) DependencyDue(t time.Time) (due []event.Pending, next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ready []string
	kept := d.parentsBack[:0]
	for _, pb := range d.parentsBack {
		if t.Before(pb.at) {
			kept = append(kept, pb)
			if next.IsZero() || pb.at.Before(next) {
				next = pb.at
			}
			continue
		}
		ready = append(ready, pb.name)
	}
	d.parentsBack = kept
	if len(ready) == 0 {
		return nil, next
	}
	for _, p := range d.pending {
		host, group := strings.ToLower(p.Host), strings.ToLower(p.Group)
	parents:
		for _, parent := range ready {
			for _, c := range d.byParent[parent] {
				if c.child(host, group) {
					due = append(due, p)
					break parents
				}
			}
		}
	}
	sortSubjects(due)
	return due, next
}
