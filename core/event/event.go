// Package event carries what changed in the state to whoever cares: the log
// store, the notification pipeline, the websocket hub. The state is the only
// publisher; subscribers never call back into it.
package event

import (
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
)

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
}

// Logged reports whether this kind of event belongs in the status-change log.
// Appearance of a probe at a non-OK status is a change worth logging, an
// appearance at OK is not.
func (e Event) Logged() bool {
	switch e.Kind {
	case ProbeChanged, ProbeDisappeared, HostDown, HostUp, ClientWaiting:
		return true
	case ProbeAppeared:
		return e.NewStatus != model.StatusOK
	}
	return false
}

// LogEntry renders the event as a row of the log table.
func (e Event) LogEntry() model.LogEntry {
	status := e.NewStatus
	if e.Kind == ProbeDisappeared {
		status = model.StatusOK
	}
	return model.LogEntry{
		Date:      model.FormatDate(e.Time),
		Timestamp: e.Time.Unix(),
		Level:     model.LogLevelFor(status),
		Message:   e.Message,
		Host:      e.Host,
		Probe:     e.Probe,
		Group:     e.Group,
	}
}
