package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/wigo-project/wigo/core/event"
)

// KindDependency is the dependency "name" block: hosts behind parents.
const KindDependency = "dependency"

// Dependency is one dependency "name" block: while one of Parents (host
// names) is DOWN, the changes of the hosts matching Hosts or in a group
// matching Groups are held back (they are unreachable, not broken); when
// the parent is back, those still not as last notified are notified once.
type Dependency struct {
	Name          string
	Hosts, Groups []string
	Parents       []string
	// DefRange is the block header, for messages.
	DefRange hcl.Range
}

var dependencyFields = []field[Dependency]{
	namesField("hosts", func(d *Dependency) *[]string { return &d.Hosts }),
	namesField("groups", func(d *Dependency) *[]string { return &d.Groups }),
	namesField("parents", func(d *Dependency) *[]string { return &d.Parents }),
}

// dependency reads a dependency block: it needs children and parents, and
// a parent is a host name, not a pattern.
func (l *loader) dependency(b *hcl.Block, base string) {
	name, ok := l.claimName(b, KindDependency)
	if !ok {
		return
	}
	d := Dependency{Name: name, DefRange: b.DefRange}
	content, ok := decodeFields(l, b, &d, dependencyFields, base, "dependency."+d.Name+".")
	if !ok {
		return
	}
	if len(d.Hosts) == 0 && len(d.Groups) == 0 {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Dependency without children",
			Detail:  fmt.Sprintf("dependency %q needs hosts or groups: the hosts behind its parents.", d.Name),
			Subject: b.DefRange.Ptr()}})
		return
	}
	a := content.Attributes["parents"]
	if len(d.Parents) == 0 {
		l.add(hcl.Diagnostics{attrDiag(a, b, "Dependency without parents",
			fmt.Sprintf("dependency %q needs parents: the host names its children are reached through.", d.Name))})
		return
	}
	for _, p := range d.Parents {
		if strings.Contains(p, "*") {
			l.add(hcl.Diagnostics{invalid(a, "Invalid parent", fmt.Sprintf("parents must be host names, not patterns: %q.", p))})
			return
		}
	}
	l.cfg.Dependencies = append(l.cfg.Dependencies, d)
}

// checkDependencies refuses cycles: a parent that is, through the
// dependencies, behind itself would hold its own DOWN back for ever.
// groups are not followed (a parent's group is not known before it
// reports).
func (l *loader) checkDependencies() {
	deps := l.cfg.Dependencies
	// behind lists the parents a host sits behind; a parent is never behind
	// its own dependency (hosts = ["*"] with parents = ["gw"] is every host
	// but gw behind gw).
	behind := func(host string) []string {
		var out []string
		for _, d := range deps {
			if slices.Contains(d.Parents, host) {
				continue
			}
			for _, h := range d.Hosts {
				if event.Match(h, host) {
					out = append(out, d.Parents...)
					break
				}
			}
		}
		return out
	}
	for _, d := range deps {
		for _, p := range d.Parents {
			// Walk up from p; reaching p again is a cycle.
			seen := map[string]bool{}
			queue := behind(p)
			for len(queue) > 0 {
				q := queue[0]
				queue = queue[1:]
				if q == p {
					l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Dependency cycle",
						Detail:  fmt.Sprintf("dependency %q: parent %q is, through the dependencies, behind itself.", d.Name, p),
						Subject: d.DefRange.Ptr()}})
					return
				}
				if !seen[q] {
					seen[q] = true
					queue = append(queue, behind(q)...)
				}
			}
		}
	}
}
