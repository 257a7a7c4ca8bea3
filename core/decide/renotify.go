package decide

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// problem is a host (probe "") or probe left at a problem by the last
// change people were told of: what renotify repeats.
type problem struct {
	subject event.Pending // Notified: the status notified
	since   time.Time
	// renotified and escalated are when it was last renotified and
	// escalated (zero: not yet): with since, what its timers are derived
	// from, and what the store keeps (event.Problem).
	renotified, escalated time.Time
	// next is, per notifier instance with a renotify interval, when it is
	// told again.
	next map[string]time.Time
	// escalate is, per escalating instance, when the problem escalates if
	// nobody acknowledged it; removed once escalated.
	escalate map[string]time.Time
	// deferredBy is the silence that held the escalations of the
	// instances deferred back when they were due: they are due again when
	// that silence ends.
	deferredBy string
	deferred   []string
	// stored is true while the store holds a row of it, so that only
	// those are deleted.
	stored bool
}

// recovered reports whether a renotify or escalation event finds its
// probe back to OK (a recovery a silence held back).
func recovered(e *event.Event) bool { return e.Probe != "" && e.NewStatus <= model.StatusOK }

// record is p as the store keeps it (Decision.Problem), now stored.
func (p *problem) record() *event.Problem {
	p.stored = true
	return &event.Problem{Pending: p.subject, Since: p.since, Renotified: p.renotified, Escalated: p.escalated}
}

// Escalation is one notify block's escalate_after / escalate_to, with the
// level its problems start at (its min_level).
type Escalation struct {
	After    time.Duration
	To       string
	MinLevel int
}

// SetEscalation sets each escalating instance's rule.
func (d *Decider) SetEscalation(rules map[string]Escalation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.escalation = rules
	for _, p := range d.problems {
		d.schedule(p)
	}
}

// SetRenotify sets the renotify interval of each notifier instance that
// has one (renotify_every): an unresolved problem that nobody
// acknowledged, silenced or that flaps is notified again to it at that
// interval.
func (d *Decider) SetRenotify(every map[string]time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.renotify = map[string]time.Duration{}
	for in, iv := range every {
		if iv > 0 {
			d.renotify[in] = iv
		}
	}
	for _, p := range d.problems {
		d.schedule(p)
	}
}

// schedule sets p's next times, for every instance with an interval:
// renotifies fall every interval after p.since, the next one after the
// last renotify (one missed while the daemon was down is due at once, once);
// the escalation falls escalate_after after p.since, unless it escalated
// since. Maps are made only for instances that renotify or escalate, and
// reused: a problem costs nothing more where neither is configured.
func (d *Decider) schedule(p *problem) {
	clear(p.next)
	if len(d.renotify) > 0 && p.next == nil {
		p.next = make(map[string]time.Time, len(d.renotify))
	}
	for in, iv := range d.renotify {
		at := p.since.Add(iv)
		for !at.After(p.renotified) {
			at = at.Add(iv)
		}
		p.next[in] = at
	}
	clear(p.escalate)
	if len(d.escalation) > 0 && p.escalate == nil {
		p.escalate = make(map[string]time.Time, len(d.escalation))
	}
	for in, r := range d.escalation {
		if at := p.since.Add(r.After); at.After(p.escalated) && (p.subject.Notified >= r.MinLevel || p.subject.Notified >= model.StatusDown) {
			p.escalate[in] = at
		}
	}
}

// RestoreProblems makes the problems a previous run recorded open again,
// with their timers where they were (see schedule).
func (d *Decider) RestoreProblems(problems []event.Problem) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Put off by quiet hours (RestoreDelays came first): counted from
	// their end, as before the restart.
	later := map[key][]event.Delay{}
	for _, delays := range d.delayed {
		for _, dl := range delays {
			k := key{hostKey(dl.HostUUID, dl.Host), dl.Probe}
			later[k] = append(later[k], dl)
		}
	}
	for _, r := range problems {
		// Taken as stored: at worst, one needless delete when it ends.
		p := &problem{subject: r.Pending, since: r.Since, renotified: r.Renotified, escalated: r.Escalated, stored: true}
		d.schedule(p)
		k := key{hostKey(r.HostUUID, r.Host), r.Probe}
		d.toldLater(p, later[k])
		d.problems[k] = p
	}
}

// track keeps the open problems up to date with a change people were told
// of (e not held back).
func (d *Decider) track(e *event.Event) {
	if e.Decision.HeldBack != "" {
		return
	}
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	open := e.NewStatus > model.StatusOK
	switch e.Kind {
	case event.ProbeDisappeared, event.HostUp:
		open = false
	case event.HostDown:
		open = true
	}
	if !open {
		if p, ok := d.problems[k]; ok {
			delete(d.problems, k)
			e.Decision.ProblemEnded = p.stored
		}
		return
	}
	p := d.problems[k]
	if p == nil {
		p = &problem{}
		d.problems[k] = p
	}
	p.subject = event.Pending{HostUUID: e.HostUUID, Host: e.Host, Group: e.Group, Probe: e.Probe, Notified: e.NewStatus}
	p.since, p.renotified, p.escalated, p.deferredBy, p.deferred = e.Time, time.Time{}, time.Time{}, "", nil
	d.schedule(p)
	d.toldLater(p, e.Decision.Delayed)
	if len(p.next) == 0 && len(p.escalate) == 0 {
		// No timer to restore: the store keeps nothing (nor what an
		// earlier status of it left).
		e.Decision.ProblemEnded, p.stored = p.stored, false
		return
	}
	e.Decision.Problem = p.record()
	// The scheduler may be asleep with nothing to wait for.
	d.wake()
}

// RenotifyDue returns the problems some instance is to hear of again at t,
// those to escalate, and when the next of either is (zero when none).
func (d *Decider) RenotifyDue(t time.Time) (renotify, escalate []event.Pending, next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	due := func(times map[string]time.Time) bool {
		isDue := false
		for _, at := range times {
			if !t.Before(at) {
				isDue = true
			} else if next.IsZero() || at.Before(next) {
				next = at
			}
		}
		return isDue
	}
	for _, p := range d.problems {
		if due(p.next) {
			renotify = append(renotify, p.subject)
		}
		if due(p.escalate) {
			escalate = append(escalate, p.subject)
		}
	}
	sortSubjects(renotify)
	sortSubjects(escalate)
	return renotify, escalate, next
}

// escalateOf decides an escalation event: to the escalate_to of each
// instance whose escalate_after has passed (once), unless the problem is
// acknowledged or flapping by then, or gone. A problem silenced then is
// not escalated while the silence lasts: its escalation is due again when
// the silence ends (as Alertmanager and Icinga do), and goes out then if
// it is still unacknowledged and unresolved.
func (d *Decider) escalateOf(e *event.Event) {
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	p := d.problems[k]
	if p == nil {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "no longer a problem"
		return
	}
	var due []string
	for in, at := range p.escalate {
		if !e.Time.Before(at) {
			due = append(due, in)
		}
	}
	if len(due) == 0 {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "not due"
		return
	}
	if s, ok := d.silencing(e.Host, e.Group, e.Probe, e.Time); ok && !d.ackHolds(k) && !d.flapping(k) {
		for _, in := range due {
			p.escalate[in] = s.End
		}
		// Logged as held back, so the held-back view shows what waits.
		p.deferredBy, p.deferred = s.ID, due
		e.Decision.HeldBack, e.Decision.Silence = event.HeldSilenced, s.ID
		e.Decision.Reason = s.Describe() + "; escalated when it ends if still unresolved"
		return
	}
	why := d.quiet(k, e)
	if recovered(e) {
		why = "no longer a problem"
	}
	var to []string
	for _, in := range due {
		delete(p.escalate, in)
		if r, ok := d.escalation[in]; ok && !slices.Contains(to, r.To) {
			to = append(to, r.To)
		}
	}
	p.escalated, p.deferredBy, p.deferred = e.Time, "", nil
	e.Decision.Problem = p.record()
	if why != "" || len(to) == 0 {
		if why == "" {
			why = "not due"
		}
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, why
		return
	}
	sort.Strings(to)
	e.OldStatus = p.subject.Notified
	e.Decision.To = to
	e.Message += fmt.Sprintf(", a problem since %s: escalated", p.since.UTC().Format(time.RFC3339))
}

// silenceEnded makes the escalations that silence id held back due at t,
// its end.
func (d *Decider) silenceEnded(id string, t time.Time) {
	woken := false
	for _, p := range d.problems {
		if p.deferredBy != id {
			continue
		}
		for _, in := range p.deferred {
			if at, ok := p.escalate[in]; ok && at.After(t) {
				p.escalate[in] = t
			}
		}
		p.deferredBy, p.deferred, woken = "", nil, true
	}
	if woken {
		d.wake()
	}
}

// quiet says why problem k is not to be sent again now ("" when it is):
// acknowledged, flapping, silenced or behind a parent that is DOWN (as its
// changes are: a restart while the parent is DOWN finds every child DOWN
// and must not page them an interval later).
func (d *Decider) quiet(k key, e *event.Event) string {
	switch {
	case d.ackHolds(k):
		return "acknowledged"
	case d.flapping(k):
		return "flapping"
	}
	if s, ok := d.silencing(e.Host, e.Group, e.Probe, e.Time); ok {
		return "silenced by " + s.ID
	}
	if parent, dep, ok := d.blockedBy(e.Host, e.Group); ok {
		return "parent " + parent + " is DOWN (dependency " + dep + ")"
	}
	return ""
}

// renotifyOf decides a renotify event: for the instances whose time has
// come (Decision.To), unless the problem is acknowledged, silenced,
// flapping or behind a DOWN parent now (held back; their next time moves on
// all the same) or gone.
func (d *Decider) renotifyOf(e *event.Event) {
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	p := d.problems[k]
	if p == nil {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "no longer a problem"
		return
	}
	var to []string
	for in, at := range p.next {
		if !e.Time.Before(at) {
			to = append(to, in)
			for !e.Time.Before(at) {
				at = at.Add(d.renotify[in])
			}
			p.next[in] = at
		}
	}
	if len(to) > 0 {
		p.renotified = e.Time
		e.Decision.Problem = p.record()
	}
	if recovered(e) {
		// Back to OK under a silence that held the recovery back: its
		// end tells; the next time moved on, so it is not due again.
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "no longer a problem"
		return
	}
	if len(to) == 0 {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "not due"
		return
	}
	sort.Strings(to)
	e.OldStatus = p.subject.Notified
	if why := d.quiet(k, e); why != "" {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, why
		return
	}
	if quiet := d.quietNow(to, e.NewStatus, e.Time); len(quiet) > 0 {
		to = slices.DeleteFunc(to, func(in string) bool { return slices.Contains(quiet, in) })
		if len(to) == 0 {
			e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "quiet hours of "+strings.Join(quiet, ", ")
			return
		}
	}
	e.Decision.To = to
	e.Message += fmt.Sprintf(", a problem since %s", p.since.UTC().Format(time.RFC3339))
}

// ackHolds reports whether an acknowledgement in force covers subject k
// (its own, or its host's).
func (d *Decider) ackHolds(k key) bool {
	for _, ak := range []key{k, {k.host, ""}} {
		if a, ok := d.acks[ak]; ok && !a.Expired(d.now()) {
			return true
		}
	}
	return false
}

func (d *Decider) flapping(k key) bool {
	f := d.flaps[k]
	return f != nil && f.flapping
}
