// Package event carries what changed in the state to whoever cares: the log
// store, the notification pipeline, the websocket hub. The state is the only
// publisher; subscribers never call back into it.
package event

import (
	"strconv"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// Kind names what happened.
type Kind string

// The kinds of event the core emits.
const (
	// ProbeChanged: a probe's status changed.
	ProbeChanged Kind = "probe_changed"
	// ProbeAppeared: a probe reported for the first time on a host.
	ProbeAppeared Kind = "probe_appeared"
	// ProbeDisappeared: a probe's result was removed (probe deleted, exit 13,
	// or gone from a remote's report).
	ProbeDisappeared Kind = "probe_disappeared"
	// ProbeUpdated: a probe reported again with the same status (message,
	// detail or metrics may differ). High volume; only live views want it.
	ProbeUpdated Kind = "probe_updated"
	// HostAppeared: a remote host was learned for the first time.
	HostAppeared Kind = "host_appeared"
	// HostDown: nothing heard from a remote host for alive_timeout.
	HostDown Kind = "host_down"
	// HostUp: a host that was DOWN reported again.
	HostUp Kind = "host_up"
	// HostRemoved: an instance stopped reporting a host it used to carry.
	HostRemoved Kind = "host_removed"
	// ClientWaiting: a new push client registered with this instance's push
	// server and waits for an operator's approval. Raised by the transport
	// plugin through the Host's Event; HostUUID and Host name the client.
	ClientWaiting Kind = "client_waiting"
	// Acknowledged: an operator acknowledged a host's or a probe's problem
	// (Ack); the decisions mute it while it does not get worse.
	Acknowledged Kind = "acknowledged"
	// AckRemoved: an operator removed an acknowledgement (Ack).
	AckRemoved Kind = "ack_removed"
	// SilenceSet: an operator made or extended a silence (Silence).
	SilenceSet Kind = "silence_set"
	// SilenceEnded: a silence (Silence) reached its end or was expired
	// early.
	SilenceEnded Kind = "silence_ended"
	// CurrentState restates a host's (Probe "") or probe's status once the
	// silence that held its changes back has ended, when it differs from
	// what was last notified: one notification of how things are now, not a
	// replay of each change.
	CurrentState Kind = "current_state"
	// FlappingStopped says a flapping host (Probe "") or probe settled
	// without a new change: its changes aged out of the window. It carries
	// the status now.
	FlappingStopped Kind = "flapping_stopped"
	// Renotify restates a problem that is still unresolved and
	// unacknowledged, for the notifiers whose renotify_every has passed
	// (Decision.To).
	Renotify Kind = "renotify"
	// Escalation sends a problem nobody acknowledged in time to the
	// notifiers named in Decision.To (escalate_to).
	Escalation Kind = "escalation"
	// Delayed delivers, once a notifier's quiet hours end, the changes of
	// one host they put off for it (Delays), as one notification for that
	// notifier only (Decision.To).
	Delayed Kind = "delayed"
	// OperatorAction records a change someone made that no other event
	// says (a probe run, disabled or enabled, a token made or revoked, a
	// push client approved): logged with who and from where, notified to
	// nobody.
	OperatorAction Kind = "operator_action"
)

// Decision.Flapping values.
const (
	FlapStarted = "started"
	FlapStopped = "stopped"
)

// Ack is an operator's acknowledgement of a problem: "I am on it". It
// mutes notifications of its host (Probe "") or probe while the status does
// not get worse than Status; a worse status gets through and ends it unless
// Sticky; a recovery to OK ends it.
type Ack struct {
	HostUUID string    `json:"HostUuid"`
	Host     string    `json:"Host"`
	Probe    string    `json:"Probe,omitempty"`
	Status   int       `json:"Status"`
	Author   string    `json:"Author"`
	Comment  string    `json:"Comment,omitempty"`
	Sticky   bool      `json:"Sticky,omitempty"`
	Time     time.Time `json:"Time"`
	// Expires, when set, is when the acknowledgement stops holding
	// anything back: "on it until the maintenance ends".
	Expires time.Time `json:"Expires,omitzero"`
}

// Expired reports whether a no longer holds at t.
func (a Ack) Expired(t time.Time) bool { return !a.Expires.IsZero() && !t.Before(a.Expires) }

// Target names what a is about, as the log says it: "web-1" or "web-1/disk".
func (a Ack) Target() string {
	if a.Probe == "" {
		return a.Host
	}
	return a.Host + "/" + a.Probe
}

// HeldBack reasons: why a change was not notified.
const (
	HeldAcknowledged = "acknowledged"
	HeldSilenced     = "silenced"
	HeldFlapping     = "flapping"
	HeldDependency   = "dependency"
	// HeldAttempts: a change not yet confirmed by enough results in a row
	// (check attempts), or undone before it was.
	HeldAttempts = "attempts"
	// HeldQuietHours: a change put off for some notifiers by their quiet
	// hours (Decision.Delayed): not a reason the change is sent to nobody,
	// but what the log and the held-back view say of it, and what
	// /metrics counts.
	HeldQuietHours = "quiet_hours"
	// HeldUnchanged: a current_state restatement that would tell nothing
	// new. Not logged, not counted.
	HeldUnchanged = "unchanged"
)

// Decision is what the core decided about an event (core/decide), before
// any consumer sees it: the pipeline, the log, the websocket and the API
// read it and re-derive nothing.
type Decision struct {
	// HeldBack, when set, says why the change is not notified (one of the
	// Held* reasons); Reason is the sentence.
	HeldBack string `json:"HeldBack,omitempty"`
	Reason   string `json:"Reason,omitempty"`
	// AckEnded is the acknowledgement this change ended (a recovery, or a
	// worse status that broke through).
	AckEnded *Ack `json:"AckEnded,omitempty"`
	// Silence is the ID of the silence that held the change back.
	Silence string `json:"Silence,omitempty"`
	// Flapping is FlapStarted on the change that makes its subject flap,
	// FlapStopped on the one (or the flapping_stopped event) that ends it.
	Flapping string `json:"Flapping,omitempty"`
	// Pending is set on the change that starts its subject's wait for the
	// silence's end (the first one held back), for the store to keep.
	Pending *Pending `json:"-"`
	// PendingEnded is set on the change that ends its subject's wait: it
	// was notified, or restated at the silence's end.
	PendingEnded bool `json:"-"`
	// Soft is set on a change that awaits its confirming results (check
	// attempts), and on each result that counts towards it: the dashboard
	// shows "soft 2/3", the store keeps it. SoftEnded is set on the event
	// that confirms or undoes it.
	Soft      *Soft `json:"Soft,omitempty"`
	SoftEnded bool  `json:"SoftEnded,omitempty"`
	// To, when set, names the only notifier instances the event is for
	// (a renotify is for those whose interval has passed).
	To []string `json:"To,omitempty"`
	// Delayed are the notifiers this change is put off for by their quiet
	// hours, each until they end: it is sent to the others now, to those
	// with the rest of the night's changes of its host (a Delayed event),
	// and the store keeps it meanwhile.
	Delayed []Delay `json:"Delayed,omitempty"`
	// Problem is set on the event that opens, changes, renotifies or
	// escalates its subject's problem, ProblemEnded on the one that
	// resolves it: the store keeps the problems with what their renotify
	// and escalation timers run from, so a restart neither repeats nor
	// delays them.
	Problem      *Problem `json:"-"`
	ProblemEnded bool     `json:"-"`
}

// Problem is a host (Probe "") or probe left at a problem by the last
// change people were told of (Notified: its status then).
type Problem struct {
	Pending
	// Since is when that change was: renotifies fall every interval after
	// it, the escalation one escalate_after after it.
	Since time.Time
	// Renotified is when it was last renotified, Escalated when it last
	// escalated (zero: not yet).
	Renotified, Escalated time.Time
}

// Soft is a probe's change that awaits its confirming results: Status
// since Count results in a row of the Of it needs, Hard the status last
// confirmed.
type Soft struct {
	HostUUID string
	Host     string
	Probe    string
	Hard     int
	Status   int
	Count    int
	Of       int
}

// Pending is a subject whose changes a silence held back: when the silence
// ends, its current status is notified if it differs from Notified.
type Pending struct {
	HostUUID string
	Host     string
	Group    string
	// Probe is "" for the host's own changes.
	Probe string
	// Notified is the status last notified before the silence.
	Notified int
}

// Event is one change. Old and New are shared, immutable snapshots: a
// subscriber must not modify them.
type Event struct {
	// Seq increases by one for every published event, so a consumer can tell
	// whether it missed some.
	Seq  uint64    `json:"Seq"`
	Kind Kind      `json:"Kind"`
	Time time.Time `json:"Time"`
	// HostUUID is empty for the local host's events only when no UUID is set.
	HostUUID string `json:"HostUuid"`
	Host     string `json:"Host"`
	Group    string `json:"Group"`
	// Probe is set for probe events.
	Probe     string             `json:"Probe,omitempty"`
	OldStatus int                `json:"OldStatus"`
	NewStatus int                `json:"NewStatus"`
	Old       *model.ProbeResult `json:"Old,omitempty"`
	New       *model.ProbeResult `json:"New,omitempty"`
	// Message is the human sentence that the log table records.
	Message string `json:"Message"`
	// Remote is true for hosts learned from another instance.
	Remote bool `json:"Remote"`
	// ByOperator is set on host_removed when an operator removed the host
	// (DELETE /api/hosts/:host) rather than its instance ceasing to report
	// it; only those removals are logged.
	ByOperator bool `json:"ByOperator,omitempty"`
	// Ack is the acknowledgement of an acknowledged or ack_removed event.
	Ack *Ack `json:"Ack,omitempty"`
	// Silence is the silence of a silence_set or silence_ended event.
	Silence *Silence `json:"Silence,omitempty"`
	// Delays are the changes a delayed event delivers, in the order they
	// happened; the store forgets them with it.
	Delays []Delay `json:"Delays,omitempty"`
	// Shared is set on an acknowledgement or silence change that another
	// master sharing this one's database made (core/store's shared.go):
	// that master stored, logged and notified it, so here it only updates
	// what the decisions hold and what the dashboards show. It is never
	// stored, logged again or notified.
	Shared bool `json:"Shared,omitempty"`
	// Decision is set by the core's decisions before the event is published.
	Decision Decision `json:"Decision"`
	// Log is the row the log table records for the event (LogEntry), set
	// on the events it records (Logged) once they are decided, so that a
	// live view shows the row without deciding again what is logged and
	// how.
	Log *model.LogEntry `json:"Log,omitempty"`
	// HostStatus and ProbesInError describe the event's host once the
	// change (and the rest of the report that carried it) is applied: its
	// status, and its probes above OK, sorted. The state sets them on probe
	// events, so no consumer keeps a copy of every probe's status to know.
	HostStatus    int      `json:"HostStatus,omitempty"`
	ProbesInError []string `json:"ProbesInError,omitempty"`
	// GlobalStatus is the worst status of every host this instance knows
	// once the change is applied: set on the events that can change it
	// (a probe's status, a host DOWN, UP, appearing or removed), so the
	// dashboard shows the core's, not one of its own.
	GlobalStatus int `json:"GlobalStatus,omitempty"`
	// Facts describe the event's host after the change, for the store's
	// record of every host (what a restart keeps). Not sent to clients.
	Facts HostFacts `json:"-"`
}

// HostFacts are the facts about a host that the store keeps so a restart
// can restore it: where it sits in the hierarchy and when it was last
// heard of. The state fills them in on every event it publishes.
type HostFacts struct {
	Version string
	// Parent is the UUID of the instance the host was learned through (""
	// for the local host and for hosts reporting directly).
	Parent string
	// Origin is the UUID of the directly connected instance whose document
	// carried the host.
	Origin string
	// Source is who delivered that document (a pulled remote's address, a
	// push client's UUID); "" for the local host.
	Source string
	// Alive is false once the host is DOWN.
	Alive bool
	// Heard is when this instance last heard of the host; for host_down it
	// is older than the event's Time.
	Heard time.Time
}

// Logged reports whether this kind of event belongs in the status-change log.
// Appearance of a probe at a non-OK status is a change worth logging, an
// appearance at OK is not.
func (e Event) Logged() bool {
	if e.Shared {
		// Its row is the other master's (it may come with the event, Log).
		return false
	}
	switch e.Kind {
	case ProbeChanged, ProbeDisappeared, HostDown, HostUp, ClientWaiting, Acknowledged, AckRemoved,
		SilenceSet, SilenceEnded:
		return true
	case ProbeAppeared:
		return e.NewStatus != model.StatusOK
	case ProbeUpdated:
		// A result that counts toward a change not yet confirmed (soft 2/3).
		return e.Decision.Soft != nil
	case CurrentState, FlappingStopped, Renotify, Escalation, Delayed:
		return e.Decision.HeldBack != HeldUnchanged
	case HostRemoved:
		return e.ByOperator
	case OperatorAction:
		return true
	}
	return false
}

// LogEntry renders the event as a row of the log table.
func (e Event) LogEntry() model.LogEntry {
	status := e.NewStatus
	if e.Kind == ProbeDisappeared || e.Kind == HostRemoved {
		status = model.StatusOK
	}
	return model.LogEntry{
		Date:      model.FormatDate(e.Time),
		Timestamp: e.Time.Unix(),
		Level:     model.LogLevelFor(status),
		Message:   e.logMessage(),
		Host:      e.Host,
		Probe:     e.Probe,
		Group:     e.Group,
		HeldBack:  e.heldBack(),
	}
}

// heldBack is the reason the log row gives: the decision's, or quiet hours
// when the change waits for some notifier's.
func (e Event) heldBack() string {
	if e.Decision.HeldBack == "" && len(e.Decision.Delayed) > 0 {
		return HeldQuietHours
	}
	return e.Decision.HeldBack
}

// logMessage is Message with what the decisions made of the change.
func (e Event) logMessage() string {
	m := e.Message
	if e.Kind == ProbeUpdated {
		// Its message is the probe's: say which change the result counts for.
		m = "Probe " + e.Probe + " still at " + strconv.Itoa(e.NewStatus) + " : " + e.Message
	}
	if e.Decision.HeldBack != "" {
		m += " (not notified: " + e.Decision.Reason + ")"
	}
	if a := e.Decision.AckEnded; a != nil {
		m += " (acknowledgement by " + a.Author + " ended)"
	}
	for _, d := range e.Decision.Delayed {
		m += " (delayed for " + d.Instance + " until " + d.Until.Format("2006-01-02 15:04 MST") + ": quiet hours)"
	}
	if e.Decision.Flapping == FlapStarted {
		m += " (" + e.Decision.Reason + ")"
	}
	return m
}
