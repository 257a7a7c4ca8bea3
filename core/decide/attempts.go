package decide

import (
	"fmt"
	"sort"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// SetAttempts sets how many consecutive results at a new status make a
// probe's change real (a hard state, Icinga's max_check_attempts):
// attempts for a change to a problem or between problems, recovery for a
// change back to OK. 1 (or less) notifies at the first result.
func (d *Decider) SetAttempts(attempts, recovery int) {
	d.mu.Lock()
	d.attempts, d.recoveryAttempts = max(attempts, 1), max(recovery, 1)
	d.mu.Unlock()
}

// Check is one check block: the attempts of the probes it matches (probe
// name patterns on hosts and groups matching patterns; a list left empty
// matches all), 0 leaving a setting to SetAttempts'.
type Check struct {
	Name                       string
	Probes, Hosts, Groups      []string
	Attempts, RecoveryAttempts int
}

// checkRule is a Check compiled.
type checkRule struct {
	probes, hosts, groups []event.Pattern
	attempts, recovery    int
}

func compileAll(patterns []string) []event.Pattern {
	out := make([]event.Pattern, len(patterns))
	for i, p := range patterns {
		out[i] = event.Compile(p)
	}
	return out
}

// matchesAny: an empty list matches every name.
func matchesAny(ps []event.Pattern, name string) bool {
	for _, p := range ps {
		if p.Match(name) {
			return true
		}
	}
	return len(ps) == 0
}

// SetChecks replaces the per-probe rules; the first that matches a probe
// sets its attempts.
func (d *Decider) SetChecks(checks []Check) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.checks = d.checks[:0]
	for _, c := range checks {
		d.checks = append(d.checks, checkRule{probes: compileAll(c.Probes), hosts: compileAll(c.Hosts),
			groups: compileAll(c.Groups), attempts: c.Attempts, recovery: c.RecoveryAttempts})
	}
}

// RestoreSoft loads the soft states a previous run left, with the results
// counted so far: the next one at the same status counts on from there.
func (d *Decider) RestoreSoft(soft []event.Soft) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range soft {
		d.soft[key{hostKey(s.HostUUID, s.Host), s.Probe}] = s
	}
}

// needed is the number of results a change of host/probe from hard to
// status needs: its check rule's, else the instance's.
func (d *Decider) needed(host, group, probe string, hard, status int) int {
	attempts, recovery := d.attempts, d.recoveryAttempts
	for i := range d.checks {
		if c := &d.checks[i]; matchesAny(c.probes, probe) && matchesAny(c.hosts, host) && matchesAny(c.groups, group) {
			if c.attempts > 0 {
				attempts = c.attempts
			}
			if c.recovery > 0 {
				recovery = c.recovery
			}
			break
		}
	}
	if status <= model.StatusOK && hard > model.StatusOK {
		return recovery
	}
	return attempts
}

// attemptsOf decides what check attempts make of a probe's result, before
// anything else: a change not yet confirmed is soft and held back (its
// ack, silence or flapping do not count it); the result that confirms it
// becomes the probe_changed event, from the last hard status, that the
// rest of the decisions and every consumer see. It reports whether e is
// soft.
func (d *Decider) attemptsOf(e *event.Event) bool {
	if d.attempts <= 1 && d.recoveryAttempts <= 1 && len(d.soft) == 0 && len(d.checks) == 0 {
		return false
	}
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	s, pending := d.soft[k]
	switch e.Kind {
	case event.ProbeChanged:
		hard := e.OldStatus
		if pending {
			hard = s.Hard
		}
		if e.NewStatus == hard {
			// Back where it was before the soft change: nothing happened.
			delete(d.soft, k)
			e.Decision.SoftEnded = true
			e.Decision.HeldBack = event.HeldAttempts
			e.Decision.Reason = fmt.Sprintf("back to %d before the change was confirmed", hard)
			return true
		}
		n := d.needed(e.Host, e.Group, e.Probe, hard, e.NewStatus)
		if n <= 1 {
			if pending {
				delete(d.soft, k)
				e.Decision.SoftEnded = true
				e.OldStatus = hard
			}
			return false
		}
		s = event.Soft{HostUUID: e.HostUUID, Host: e.Host, Probe: e.Probe, Hard: hard, Status: e.NewStatus, Count: 1, Of: n}
		d.soft[k] = s
		e.Decision.Soft = &s
		e.Decision.HeldBack = event.HeldAttempts
		e.Decision.Reason = fmt.Sprintf("soft 1/%d", n)
		return true
	case event.ProbeUpdated:
		if !pending || e.NewStatus != s.Status {
			return false
		}
		s.Count++
		n := d.needed(e.Host, e.Group, e.Probe, s.Hard, s.Status)
		if s.Count < n {
			// Held back and logged like the first result, and kept by the
			// store with its count, so a restart counts on.
			s.Of = n
			d.soft[k] = s
			e.Decision.Soft = &s
			e.Decision.HeldBack = event.HeldAttempts
			e.Decision.Reason = fmt.Sprintf("soft %d/%d", s.Count, n)
			return true
		}
		// Confirmed: from here on it is the change.
		delete(d.soft, k)
		e.Kind, e.OldStatus = event.ProbeChanged, s.Hard
		e.Message = fmt.Sprintf("Probe %s switched from %d to %d (%d results in a row) : %s", e.Probe, s.Hard, s.Status, n, e.Message)
		e.Decision.SoftEnded = true
		return false
	case event.ProbeDisappeared:
		if pending {
			delete(d.soft, k)
			e.Decision.SoftEnded = true
			e.OldStatus = s.Hard
		}
	}
	return false
}

// SoftStates returns the changes awaiting their confirming results, by
// host then probe, for the dashboard's "soft 2/3".
func (d *Decider) SoftStates() []event.Soft {
	d.mu.Lock()
	out := make([]event.Soft, 0, len(d.soft))
	for _, s := range d.soft {
		if s.Of == 0 {
			// Restored: the rule is looked up again (without the group,
			// which the store does not keep; the next result sets it).
			s.Of = d.needed(s.Host, "", s.Probe, s.Hard, s.Status)
		}
		out = append(out, s)
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Probe < out[j].Probe
	})
	return out
}
