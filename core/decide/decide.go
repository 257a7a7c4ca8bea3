// Package decide is where the core decides, once, what becomes of each
// change before anyone hears of it: notified, or held back and why. The
// state calls Decide on every batch of events before publishing it; the
// notification pipeline, the log, the websocket and the API read the
// event's Decision and re-derive nothing.
//
// It knows acknowledgements: an operator's "I am on it" mutes a host's or
// a probe's notifications while the problem does not get worse (Icinga's
// non-sticky acknowledgement, with sticky as an option). And silences:
// everything their matchers match is held back from their start to their
// end, and what changed meanwhile is restated once when they end, as it is
// then (Alertmanager's silences, without the replay).
package decide

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// Decider holds what the decisions depend on. Decide runs in the state's
// publishing order (one batch at a time); the other methods may be called
// from anywhere.
type Decider struct {
	mu   sync.Mutex
	acks map[key]event.Ack
	// silences are the silences made and not yet ended, by ID, compiled.
	silences map[string]*silenced
	// candidates remembers, for each host (and group) a change came from
	// since the silences last changed, the silences whose host and group
	// patterns match it: a change is then tested against those only, not
	// against every silence (1,000 silences cost a scan once per host, not
	// once per change).
	candidates map[hostGroup][]*silenced
	// pending holds, for each subject whose changes a silence held back,
	// the status last notified before them, so that the silence's end
	// restates only what differs from what people heard.
	pending map[key]event.Pending
	// soft are the probes whose change awaits its confirming results (check
	// attempts), and attempts / recoveryAttempts how many it needs.
	soft                       map[key]event.Soft
	attempts, recoveryAttempts int
	// checks are the per-probe attempts (check blocks), first match wins.
	checks []checkRule
	// byParent are the dependencies by parent name (lowercased), down the
	// hosts DOWN by name, parentsBack the parents back since DependencyDue.
	byParent    map[string][]*dependency
	down        map[string]bool
	parentsBack []parentBack
	depGrace    time.Duration
	// problems are the subjects left at a problem by the last change people
	// heard of, and renotify each instance's interval (renotify.go).
	problems   map[key]*problem
	renotify   map[string]time.Duration
	escalation map[string]Escalation
	// flaps are the recent changes of each subject, for flap detection.
	flaps         map[key]*flap
	flapWindow    time.Duration
	flapThreshold int
	// quietHours are the instances' quiet hours, quietNames their names
	// sorted, and delayed the changes put off for them, by instance and
	// host (quiet.go).
	quietHours map[string]Quiet
	quietNames []string
	delayed    map[delayKey][]event.Delay
	// changed wakes the scheduler of silence ends when the silences change.
	changed chan struct{}
	// held counts the changes held back, by reason, since start.
	held map[string]uint64
	// now is the clock the lists are read at; tests replace it.
	now func() time.Time
}

// Stats are the decisions' counters, for /metrics.
type Stats struct {
	// Acks is the number of acknowledgements in force.
	Acks int
	// Silences is the number of silences in force now.
	Silences int
	// Flapping is the number of hosts and probes flapping now.
	Flapping int
	// HeldBack counts the changes not notified since start, by reason
	// (event.Held*).
	HeldBack map[string]uint64
}

// silenced is a silence with its patterns compiled.
type silenced struct {
	event.Silence
	host, group, probe event.Pattern
}

func compile(s event.Silence) *silenced {
	c := &silenced{Silence: s}
	for _, p := range []struct {
		src string
		dst *event.Pattern
	}{{s.Host, &c.host}, {s.Group, &c.group}, {s.Probe, &c.probe}} {
		if p.src == "" {
			p.src = "*"
		}
		*p.dst = event.Compile(p.src)
	}
	return c
}

// matchesProbe is the probe half of Silence.Matches, on a name already
// lowercased ("" for the host's own changes).
func (c *silenced) matchesProbe(probe string) bool {
	if probe == "" {
		return c.Probe == ""
	}
	return c.probe.Match(probe)
}

// hostGroup keys candidates: names lowercased.
type hostGroup struct{ host, group string }

// setSilence adds or replaces a silence (d.mu held), and keeps the
// candidates of every host seen so far up to date: silences change rarely,
// changes are decided often, so the cost is here (one pattern test per
// host seen), not on the next change of each host.
func (d *Decider) setSilence(s event.Silence) {
	d.endSilence(s.ID)
	c := compile(s)
	d.silences[s.ID] = c
	for hg, list := range d.candidates {
		if c.host.Match(hg.host) && c.group.Match(hg.group) {
			d.candidates[hg] = append(list, c)
		}
	}
}

// endSilence removes silence id (d.mu held) from the silences and the
// candidates.
func (d *Decider) endSilence(id string) {
	c, ok := d.silences[id]
	if !ok {
		return
	}
	delete(d.silences, id)
	for hg, list := range d.candidates {
		if i := slices.Index(list, c); i >= 0 {
			d.candidates[hg] = slices.Delete(list, i, i+1)
		}
	}
}

// sortSubjects orders subjects by host, then probe: lists are read by
// people and compared by tests.
func sortSubjects(subjects []event.Pending) {
	sort.Slice(subjects, func(i, j int) bool {
		if subjects[i].Host != subjects[j].Host {
			return subjects[i].Host < subjects[j].Host
		}
		return subjects[i].Probe < subjects[j].Probe
	})
}

func pendingKey(p event.Pending) key { return key{hostKey(p.HostUUID, p.Host), p.Probe} }

// key names an acknowledged host (probe "") or probe. Hosts are keyed by
// UUID (their name may change), by name only when they have none.
type key struct{ host, probe string }

func hostKey(uuid, name string) string {
	if uuid != "" {
		return uuid
	}
	return name
}

func ackKey(a event.Ack) key { return key{hostKey(a.HostUUID, a.Host), a.Probe} }

// New returns a Decider with no acknowledgements.
func New() *Decider {
	return &Decider{acks: map[key]event.Ack{}, silences: map[string]*silenced{}, candidates: map[hostGroup][]*silenced{}, flaps: map[key]*flap{}, byParent: map[string][]*dependency{}, down: map[string]bool{}, problems: map[key]*problem{}, renotify: map[string]time.Duration{}, delayed: map[delayKey][]event.Delay{}, soft: map[key]event.Soft{}, attempts: 1, recoveryAttempts: 1,
		flapWindow: time.Hour, flapThreshold: 5, pending: map[key]event.Pending{},
		changed: make(chan struct{}, 1), held: map[string]uint64{}, now: time.Now}
}

// SetClock replaces the clock the lists are read at (tests).
func (d *Decider) SetClock(now func() time.Time) {
	d.mu.Lock()
	d.now = now
	d.mu.Unlock()
}

// Stats returns the counters.
func (d *Decider) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := Stats{Acks: len(d.acks), HeldBack: make(map[string]uint64, len(d.held))}
	now := d.now()
	for _, si := range d.silences {
		if si.Active(now) {
			s.Silences++
		}
	}
	for _, f := range d.flaps {
		if f.flapping {
			s.Flapping++
		}
	}
	for r, n := range d.held {
		s.HeldBack[r] = n
	}
	return s
}

// Restore loads the acknowledgements, silences and pending subjects a
// previous run left in the store.
func (d *Decider) Restore(acks []event.Ack, silences []event.Silence, pending []event.Pending) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range acks {
		d.acks[ackKey(a)] = a
	}
	for _, s := range silences {
		d.setSilence(s)
	}
	for _, p := range pending {
		d.pending[pendingKey(p)] = p
	}
}

// Acks returns the acknowledgements in force, by host then probe: an
// expired one is not, even before the next change of its subject ends it.
func (d *Decider) Acks() []event.Ack {
	d.mu.Lock()
	now := d.now()
	out := make([]event.Ack, 0, len(d.acks))
	for _, a := range d.acks {
		if !a.Expired(now) {
			out = append(out, a)
		}
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

// Ack returns the acknowledgement of host (by UUID, or name when it has
// none) or of its probe (probe "" for the host's own).
func (d *Decider) Ack(hostUUID, host, probe string) (event.Ack, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.acks[key{hostKey(hostUUID, host), probe}]
	return a, ok
}

// Decide sets the Decision of each event, in order, and applies the events
// that change what it holds (an acknowledgement given, removed or ended, a
// silence set or ended).
func (d *Decider) Decide(events []event.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// A parent that goes DOWN in the same sweep as its children holds them
	// back whatever their order in the batch.
	if len(d.byParent) > 0 {
		for i := range events {
			if e := &events[i]; e.Kind == event.HostDown && len(d.byParent[strings.ToLower(e.Host)]) > 0 {
				d.down[strings.ToLower(e.Host)] = true
			}
		}
	}
	for i := range events {
		if events[i].Shared {
			d.decideShared(&events[i])
			continue
		}
		d.decide(&events[i])
		if r := events[i].Decision.HeldBack; r != "" && r != event.HeldUnchanged && events[i].Kind != event.ProbeUpdated {
			d.held[r]++
		}
		if len(events[i].Decision.Delayed) > 0 {
			d.held[event.HeldQuietHours]++
		}
	}
}

func (d *Decider) decide(e *event.Event) {
	switch e.Kind {
	case event.ProbeChanged, event.ProbeUpdated, event.ProbeDisappeared:
		if d.attemptsOf(e) {
			return
		}
	}
	d.decideAck(e)
	switch e.Kind {
	case event.SilenceSet:
		d.setSilence(*e.Silence)
		d.wake()
	case event.SilenceEnded:
		d.endSilence(e.Silence.ID)
		d.silenceEnded(e.Silence.ID, e.Time)
	case event.CurrentState:
		d.restate(e)
		d.delay(e)
		d.track(e)
	case event.ProbeChanged, event.HostDown, event.HostUp:
		d.silence(e)
		d.flapOf(e)
		d.delay(e)
		d.track(e)
		d.hostState(e)
	case event.ProbeAppeared, event.ProbeDisappeared:
		d.silence(e)
		d.delay(e)
		d.track(e)
	case event.FlappingStopped:
		d.stopFlapping(e)
		d.delay(e)
		d.track(e)
	case event.Acknowledged, event.ClientWaiting:
		d.delay(e)
	case event.Renotify:
		d.renotifyOf(e)
	case event.Escalation:
		d.escalateOf(e)
		d.delay(e)
	case event.Delayed:
		d.deliverDelays(e)
	case event.HostRemoved:
		d.hostState(e)
		hk := hostKey(e.HostUUID, e.Host)
		for k := range d.pending {
			if k.host == hk {
				delete(d.pending, k)
			}
		}
		for k := range d.flaps {
			if k.host == hk {
				delete(d.flaps, k)
			}
		}
		for k := range d.soft {
			if k.host == hk {
				delete(d.soft, k)
			}
		}
		for k := range d.problems {
			if k.host == hk {
				delete(d.problems, k)
			}
		}
	}
}

// silence holds e back when an active silence matches it and nothing else
// did, and keeps the pending subjects up to date: a change that is notified
// ends its subject's wait.
func (d *Decider) silence(e *event.Event) {
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	if e.Decision.HeldBack != "" {
		return
	}
	if !d.hold(e) {
		if p, waiting := d.pending[k]; waiting {
			// Seen now, the silence's or the parent's end need not restate
			// it; back to what people last heard, it is not news either
			// (a child behind a parent that is back comes UP unheard of).
			delete(d.pending, k)
			e.Decision.PendingEnded = true
			if e.NewStatus == p.Notified {
				e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "back to what was last notified"
			}
		}
		return
	}
	if _, ok := d.pending[k]; !ok {
		p := event.Pending{HostUUID: e.HostUUID, Host: e.Host, Group: e.Group, Probe: e.Probe, Notified: e.OldStatus}
		if e.Kind == event.ProbeAppeared {
			// Nothing was heard of a new probe: as if it were OK.
			p.Notified = model.StatusOK
		}
		d.pending[k] = p
		e.Decision.Pending = &p
	}
}

// hold holds e back behind an active silence, else behind a DOWN parent,
// and reports whether it did.
func (d *Decider) hold(e *event.Event) bool {
	if s, ok := d.silencing(e.Host, e.Group, e.Probe, e.Time); ok {
		e.Decision.HeldBack, e.Decision.Silence, e.Decision.Reason = event.HeldSilenced, s.ID, s.Describe()
		return true
	}
	if parent, dep, ok := d.blockedBy(e.Host, e.Group); ok {
		e.Decision.HeldBack = event.HeldDependency
		e.Decision.Reason = "parent " + parent + " is DOWN (dependency " + dep + ")"
		return true
	}
	return false
}

// silencing returns the active silence that matches a host's probe (""
// for the host's own changes) at t, the one that ends last when several do.
func (d *Decider) silencing(host, group, probe string, t time.Time) (event.Silence, bool) {
	if len(d.silences) == 0 {
		return event.Silence{}, false
	}
	hg := hostGroup{strings.ToLower(host), strings.ToLower(group)}
	probe = strings.ToLower(probe)
	list, ok := d.candidates[hg]
	if !ok {
		for _, c := range d.silences {
			if c.host.Match(hg.host) && c.group.Match(hg.group) {
				list = append(list, c)
			}
		}
		d.candidates[hg] = list
	}
	var found *silenced
	for _, c := range list {
		if c.Active(t) && (found == nil || c.End.After(found.End)) && c.matchesProbe(probe) {
			found = c
		}
	}
	if found == nil {
		return event.Silence{}, false
	}
	return found.Silence, true
}

// restate decides a current_state event, made when a silence that held
// its subject's changes back ended: it is notified only when the status
// differs from the one last notified; otherwise it is held back as
// unchanged (and not logged). A subject another silence still covers stays
// pending until that one ends.
func (d *Decider) restate(e *event.Event) {
	k := key{hostKey(e.HostUUID, e.Host), e.Probe}
	p, ok := d.pending[k]
	if !ok {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "nothing was held back"
		return
	}
	if d.hold(e) {
		return
	}
	delete(d.pending, k)
	e.Decision.PendingEnded = true
	e.OldStatus = p.Notified
	if p.Notified == e.NewStatus {
		e.Decision.HeldBack, e.Decision.Reason = event.HeldUnchanged, "unchanged since last notified"
	}
}

// Ending returns the subjects waiting for a silence's end that s's
// matchers match (those its end may restate), and false when s has already
// ended.
func (d *Decider) Ending(s event.Silence) ([]event.Pending, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.silences[s.ID]; !ok {
		return nil, false
	}
	var out []event.Pending
	for _, p := range d.pending {
		if s.Matches(p.Host, p.Group, p.Probe) {
			out = append(out, p)
		}
	}
	sortSubjects(out)
	return out, true
}

// Silences returns the silences not yet ended (in force or to come), by
// start then ID.
func (d *Decider) Silences() []event.Silence {
	d.mu.Lock()
	out := make([]event.Silence, 0, len(d.silences))
	for _, s := range d.silences {
		out = append(out, s.Silence)
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Silence returns silence id, if it has not ended.
func (d *Decider) Silence(id string) (event.Silence, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.silences[id]; ok {
		return s.Silence, true
	}
	return event.Silence{}, false
}

// Due returns the silences whose end has come at t, and the time the next
// one ends (zero when none).
func (d *Decider) Due(t time.Time) (due []event.Silence, next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.silences {
		if !t.Before(s.End) {
			due = append(due, s.Silence)
		} else if next.IsZero() || s.End.Before(next) {
			next = s.End
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].End.Before(due[j].End) })
	return due, next
}

// wake signals Changed without blocking.
func (d *Decider) wake() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// Changed is signalled when a silence is set (or ends holding an
// escalation back), a subject starts flapping, a change is put off by
// quiet hours or a problem is opened with a renotify or escalation timer,
// so that whoever waits for the next of those can look again.
func (d *Decider) Changed() <-chan struct{} { return d.changed }

func (d *Decider) decideAck(e *event.Event) {
	hk := hostKey(e.HostUUID, e.Host)
	switch e.Kind {
	case event.Acknowledged:
		if e.Ack != nil {
			d.acks[ackKey(*e.Ack)] = *e.Ack
		}
	case event.AckRemoved:
		if e.Ack != nil {
			delete(d.acks, ackKey(*e.Ack))
		}
	case event.ProbeChanged, event.ProbeAppeared:
		if a, ok := d.acks[key{hk, e.Probe}]; ok {
			d.judge(e, a, true)
		} else if a, ok := d.acks[key{hk, ""}]; ok {
			d.judge(e, a, false)
		}
	case event.ProbeDisappeared:
		if a, ok := d.acks[key{hk, e.Probe}]; ok {
			d.end(e, a)
		}
	case event.HostDown:
		if a, ok := d.acks[key{hk, ""}]; ok {
			d.judge(e, a, true)
		}
	case event.HostUp:
		if a, ok := d.acks[key{hk, ""}]; ok && a.Status >= model.StatusDown {
			d.end(e, a)
		}
	case event.HostRemoved:
		for k, a := range d.acks {
			if k.host == hk {
				delete(d.acks, k)
				if k.probe == "" {
					e.Decision.AckEnded = &a
				}
			}
		}
	}
}

// judge applies acknowledgement a to change e: a recovery to OK is notified
// and, when a is about e's own subject (own), ends it; a worse status than
// a's gets through and ends it unless sticky; anything else is held back.
func (d *Decider) judge(e *event.Event, a event.Ack, own bool) {
	switch {
	case a.Expired(e.Time):
		// Past its time it holds nothing back, and the change says it
		// ended.
		d.end(e, a)
	case e.NewStatus <= model.StatusOK:
		if own {
			d.end(e, a)
		}
	case e.NewStatus > a.Status:
		if !a.Sticky {
			d.end(e, a)
		}
	default:
		e.Decision.HeldBack = event.HeldAcknowledged
		e.Decision.Reason = "acknowledged by " + a.Author
		if a.Comment != "" {
			e.Decision.Reason += ": " + a.Comment
		}
	}
}

func (d *Decider) end(e *event.Event, a event.Ack) {
	delete(d.acks, ackKey(a))
	e.Decision.AckEnded = &a
}

// decideShared applies an acknowledgement or silence change another master
// sharing the database made (e.Shared): what the decisions hold is as
// there, so this master holds back the same changes. Nothing else is
// decided: that master notified, delayed and restated what the change
// called for.
func (d *Decider) decideShared(e *event.Event) {
	switch {
	case e.Kind == event.Acknowledged && e.Ack != nil:
		d.acks[ackKey(*e.Ack)] = *e.Ack
	case e.Kind == event.AckRemoved && e.Ack != nil:
		delete(d.acks, ackKey(*e.Ack))
	case e.Kind == event.SilenceSet && e.Silence != nil:
		d.setSilence(*e.Silence)
		d.wake()
	case e.Kind == event.SilenceEnded && e.Silence != nil:
		si := *e.Silence
		d.endSilence(si.ID)
		d.silenceEnded(si.ID, e.Time)
		// The other master restated the subjects the silence held back,
		// those no other silence or DOWN parent holds (restate): they
		// wait no more.
		for k, p := range d.pending {
			if !si.Matches(p.Host, p.Group, p.Probe) {
				continue
			}
			if _, held := d.silencing(p.Host, p.Group, p.Probe, e.Time); held {
				continue
			}
			if _, _, held := d.blockedBy(p.Host, p.Group); held {
				continue
			}
			delete(d.pending, k)
		}
	}
}
