package main

import (
	"sort"

	"github.com/wigo-project/wigo/core/model"
)

// hostView is one host flattened out of a Wigo document, with the status we
// judge it by rather than the one it claims (see buildView).
type hostView struct {
	name       string
	group      string
	status     int // effective: worst of host and probes, DOWN when not alive
	down       bool
	lastUpdate int64 // Unix seconds, 0 when unknown
	probes     []probeView
}

// probeView is one probe of a host, enough for the summary and detail lists.
type probeView struct {
	name    string
	status  int
	message string
}

// view is a whole answer ready to print: every host, worst first.
type view struct {
	instance string // the name of the host the document is about
	global   int    // worst status anywhere in the document
	hosts    []hostView
	probes   int // number of probes across hosts
}

// rank orders status codes by severity. Plain numeric order almost works, but
// a code above 999 (ERROR) must not outrank DOWN, and a missing or invalid
// code (below 100) must never hide a real status, so it ranks lowest.
func rank(status int) int {
	switch model.StatusName(status) {
	case "DOWN":
		return 6
	case "ERROR":
		return 5
	case "CRIT":
		return 4
	case "WARN":
		return 3
	case "INFO":
		return 2
	case "OK":
		return 1
	}
	return 0
}

// worse reports whether status a is worse than b; within one level the higher
// code is the worse.
func worse(a, b int) bool {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra > rb
	}
	return a > b
}

func worst(a, b int) int {
	if worse(b, a) {
		return b
	}
	return a
}

// exitCode maps a status to the Nagios-style exit code.
func exitCode(status int) int {
	switch model.StatusName(status) {
	case "OK", "INFO":
		return exitOK
	case "WARN":
		return exitWarn
	case "CRIT", "ERROR", "DOWN":
		return exitCrit
	}
	return exitUnknown
}

// buildView flattens a Wigo document: its own host, then every remote at any
// depth (breadth first, keys sorted, so the result does not depend on map
// order), each UUID once. topIsRemote says whether the document's own
// IsAlive counts: the instance that answered GET /api is alive by definition
// (the original leaves the flag alone there), but a document fetched from
// /api/hosts/HOST describes a remote that may well be DOWN.
//
// The global status is recomputed rather than taken from GlobalStatus alone,
// because the original's master ignores a DOWN remote in its own
// GlobalStatus; a remote that is not alive always counts as DOWN here.
func buildView(w *model.Wigo, topIsRemote bool) view {
	v := view{instance: wigoName(w, "")}
	type item struct {
		w      *model.Wigo
		key    string
		remote bool
	}
	seen := map[string]bool{}
	queue := []item{{w: w, remote: topIsRemote}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if it.w == nil {
			continue
		}
		// The hierarchy is deduplicated by UUID in the daemon, but a
		// document assembled by several masters may still repeat one.
		if it.w.Uuid != "" {
			if seen[it.w.Uuid] {
				continue
			}
			seen[it.w.Uuid] = true
		}

		h := hostFrom(it.w, it.key, it.remote)
		v.hosts = append(v.hosts, h)
		v.probes += len(h.probes)
		v.global = worst(v.global, h.status)
		v.global = worst(v.global, it.w.GlobalStatus)

		keys := make([]string, 0, len(it.w.RemoteWigos))
		for k := range it.w.RemoteWigos {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			queue = append(queue, item{w: it.w.RemoteWigos[k], key: k, remote: true})
		}
	}
	sort.SliceStable(v.hosts, func(i, j int) bool {
		a, b := v.hosts[i], v.hosts[j]
		if a.status != b.status {
			return worse(a.status, b.status)
		}
		return a.name < b.name
	})
	return v
}

// wigoName is the best name a document offers: its host's name, its
// Hostname, the key it was filed under, its UUID.
func wigoName(w *model.Wigo, key string) string {
	if w.LocalHost != nil && w.LocalHost.Name != "" {
		return w.LocalHost.Name
	}
	for _, s := range []string{w.Hostname, key, w.Uuid} {
		if s != "" {
			return s
		}
	}
	return "(unnamed)"
}

// hostFrom builds one host's view. A remote without a LocalHost (a shape the
// original never sends, but nothing stops a broken peer) still shows up, with
// its GlobalStatus as the only status there is.
func hostFrom(w *model.Wigo, key string, remote bool) hostView {
	h := hostView{name: wigoName(w, key), lastUpdate: w.LastUpdate}
	if w.LocalHost == nil {
		h.status = w.GlobalStatus
	} else {
		h.group = w.LocalHost.Group
		h.status = w.LocalHost.Status
		h.probes = probeViews(w.LocalHost.Probes)
		for _, p := range h.probes {
			h.status = worst(h.status, p.status)
		}
		h.down = w.LocalHost.Status == model.StatusDown
	}
	if remote && !w.IsAlive {
		h.down = true
	}
	if h.down {
		h.status = model.StatusDown
	}
	return h
}

// probeViews lists a host's probes worst first, then by name. Null entries
// (possible in JSON, never meaningful) are skipped.
func probeViews(probes map[string]*model.ProbeResult) []probeView {
	out := make([]probeView, 0, len(probes))
	for key, p := range probes {
		if p == nil {
			continue
		}
		name := p.Name
		if name == "" {
			name = key
		}
		out = append(out, probeView{name: name, status: p.Status, message: p.Message})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].status != out[j].status {
			return worse(out[i].status, out[j].status)
		}
		return out[i].name < out[j].name
	})
	return out
}

// findProbe looks a probe up by its key, then by its Name field, since the
// two only differ in a malformed document.
func findProbe(h *model.Host, name string) (key string, p *model.ProbeResult) {
	if h == nil {
		return "", nil
	}
	if p := h.Probes[name]; p != nil {
		return name, p
	}
	for k, p := range h.Probes {
		if p != nil && p.Name == name {
			return k, p
		}
	}
	return "", nil
}
