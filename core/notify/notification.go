// Package notify is the core's notification pipeline: it turns events from
// the bus into notifications for each configured notifier instance (a notify
// block), filters them with the original Wigo's rules, writes them to the
// SQLite outbox before anything is attempted, and delivers them through a
// Sender with retries, exponential backoff and dead letters.
//
// Guarantees:
//   - at least once: a notification is marked delivered only after Send
//     returned nil; rows left pending by a crash are delivered at start-up;
//   - per host and per instance, notifications are delivered in event order:
//     a host's notification N+1 is not sent while N is pending or retrying;
//   - nothing is dropped silently: after MaxAttempts a row becomes a dead
//     letter, listed by the HTTP API and retried by a POST.
package notify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// Notification types, the original's Type field.
const (
	// TypeProbe is the Type of probe events.
	TypeProbe = "Probe"
	// TypeWigo is the Type of host events (the original called a host's
	// daemon "a Wigo").
	TypeWigo = "Wigo"
)

// Notification is what a notifier receives, in the original's JSON shape
// (Type, Hostname, Group, Message, Date, Summary, Status, Probe, OldProbe,
// NewProbe, HostProbesInError) plus stable fields the original lacked
// (EventId, Kind, statuses and level names). notify-http posts it verbatim,
// so the keys are a public contract: never rename one.
type Notification struct {
	// Type is "Probe" or "Wigo".
	Type     string `json:"Type"`
	Hostname string `json:"Hostname"`
	Group    string `json:"Group"`
	// Message is the one-line sentence (a mail subject).
	Message string `json:"Message"`
	// Date is the event time in the original's layout (model.FormatDate).
	Date string `json:"Date"`
	// Summary is the multi-line text (a mail body).
	Summary string `json:"Summary"`
	// Status is the status the event leaves the probe or host in.
	Status int `json:"Status"`
	// Probe is the probe name, empty for host events.
	Probe    string             `json:"Probe"`
	OldProbe *model.ProbeResult `json:"OldProbe"`
	NewProbe *model.ProbeResult `json:"NewProbe"`
	// HostProbesInError names the host's probes with a status above OK
	// once the event is applied, sorted; empty (never null) for host events.
	HostProbesInError []string `json:"HostProbesInError"`

	// EventId identifies the event: unique, shared by every notifier's copy
	// of the event and the same on every retry, so a receiver can drop
	// duplicates that at-least-once delivery may cause.
	EventId string `json:"EventId"`
	// Kind is the event kind (probe_changed, host_down, ...).
	Kind      string `json:"Kind"`
	OldStatus int    `json:"OldStatus"`
	NewStatus int    `json:"NewStatus"`
	// OldLevel and NewLevel are model.StatusName of the statuses; empty for
	// a status that does not exist (OldLevel of an appeared probe).
	OldLevel string `json:"OldLevel"`
	NewLevel string `json:"NewLevel"`
	// Flapping is "started" on the change that makes its subject flap (its
	// next changes are held back until it settles) and "stopped" when it
	// settles (kind flapping_stopped, or the change that brings it under
	// the threshold); absent otherwise.
	Flapping string `json:"Flapping,omitempty"`
	// Delivery says how this notification comes: DeliveryFirst (the
	// first word of a change), DeliveryRenotify, DeliveryEscalation or
	// DeliveryDelayed (held by the receiving block's quiet hours, sent at
	// their end).
	Delivery string `json:"Delivery"`
	// DashboardUrl opens the dashboard at the event's host (http.public_url
	// set); absent otherwise.
	DashboardUrl string `json:"DashboardUrl,omitempty"` //nolint:revive // the payload's spelling, like EventId
}

// Delivery values: how a notification comes (sdk.Delivery*).
const (
	DeliveryFirst      = "first"
	DeliveryRenotify   = "renotify"
	DeliveryEscalation = "escalation"
	DeliveryDelayed    = "delayed"
)

func levelName(status int) string {
	if status == 0 {
		return ""
	}
	return model.StatusName(status)
}

// Build renders e as a notification with the given event id; the host's
// probes in error are the event's (set by the state). It reports false for
// kinds that are never notified.
func Build(e event.Event, eventID string) (*Notification, bool) {
	n := &Notification{
		Hostname:          e.Host,
		Group:             e.Group,
		Date:              model.FormatDate(e.Time),
		Status:            e.NewStatus,
		Probe:             e.Probe,
		OldProbe:          e.Old,
		NewProbe:          e.New,
		HostProbesInError: []string{},
		EventId:           eventID,
		Kind:              string(e.Kind),
		OldStatus:         e.OldStatus,
		NewStatus:         e.NewStatus,
		OldLevel:          levelName(e.OldStatus),
		NewLevel:          levelName(e.NewStatus),
	}
	probeMessage := func(r *model.ProbeResult) string {
		if r == nil {
			return ""
		}
		return r.Message
	}
	switch e.Kind {
	case event.ProbeChanged:
		n.Type = TypeProbe
		n.Message = fmt.Sprintf("Probe %s status changed from %d to %d on host %s", e.Probe, e.OldStatus, e.NewStatus, e.Host)
		// The original's summary, byte for byte, so mail filters and
		// receivers written against it keep matching.
		n.Summary = fmt.Sprintf("Probe %s on host %s : \n\n", e.Probe, e.Host) +
			fmt.Sprintf("\tOld Status : %d\n", e.OldStatus) +
			fmt.Sprintf("\tNew Status : %d\n\n", e.NewStatus) +
			fmt.Sprintf("Message :\n\n\t%s\n\n", probeMessage(e.New))
	case event.ProbeAppeared:
		n.Type = TypeProbe
		n.Message = fmt.Sprintf("New probe %s with status %d detected on host %s", e.Probe, e.NewStatus, e.Host)
		n.Summary = fmt.Sprintf("A new probe %s has been detected on host %s : \n\n", e.Probe, e.Host) +
			fmt.Sprintf("\t%s\n", probeMessage(e.New))
	case event.ProbeDisappeared:
		n.Type = TypeProbe
		n.Message = fmt.Sprintf("Probe %s on host %s does not exist anymore. Last status was %d", e.Probe, e.Host, e.OldStatus)
		n.Summary = fmt.Sprintf("Probe %s has been deleted on host %s : \n\n", e.Probe, e.Host) +
			fmt.Sprintf("Last message was : \n\n%s\n", probeMessage(e.Old))
	case event.HostDown:
		n.Type = TypeWigo
		n.Message = fmt.Sprintf("Host %s is DOWN", e.Host)
		n.Summary = fmt.Sprintf("Host %s (group %s) is DOWN : \n\n\t%s\n", e.Host, e.Group, e.Message)
	case event.HostUp:
		n.Type = TypeWigo
		n.Message = fmt.Sprintf("Host %s is UP", e.Host)
		n.Summary = fmt.Sprintf("Host %s (group %s) is UP again : \n\n\t%s\n", e.Host, e.Group, e.Message)
	case event.ClientWaiting:
		n.Type = TypeWigo
		n.Message = fmt.Sprintf("New push client %s (%s) is waiting for approval", e.Host, e.HostUUID)
		n.Summary = fmt.Sprintf("A new push client %s (UUID %s) is waiting for approval : \n\n\t%s\n", e.Host, e.HostUUID, e.Message)
	case event.CurrentState, event.FlappingStopped, event.Renotify, event.Escalation:
		n.Type = TypeProbe
		if e.Probe == "" {
			n.Type = TypeWigo
		}
		n.Message = e.Message
		n.Summary = fmt.Sprintf("%s\n\n\tStatus : %d (%s), last notified %d (%s)\n", e.Message,
			e.NewStatus, levelName(e.NewStatus), e.OldStatus, levelName(e.OldStatus))
		if e.New != nil {
			n.Summary += fmt.Sprintf("\n\t%s\n", probeMessage(e.New))
		}
	case event.Delayed:
		n.Type = TypeProbe
		if e.Probe == "" {
			n.Type = TypeWigo
		}
		n.Message = e.Message
		n.Summary = delayedSummary(e)
	case event.Acknowledged:
		n.Type = TypeProbe
		if e.Probe == "" {
			n.Type = TypeWigo
		}
		n.Message = e.Message
		n.Summary = fmt.Sprintf("%s\n\n\tStatus : %d (%s)\n", e.Message, e.NewStatus, levelName(e.NewStatus))
	default:
		return nil, false
	}
	switch e.Decision.Flapping {
	case event.FlapStarted:
		n.Flapping = event.FlapStarted
		n.Message += " (" + e.Decision.Reason + "; its changes are held back until it settles)"
	case event.FlapStopped:
		n.Flapping = event.FlapStopped
		if e.Kind != event.FlappingStopped {
			n.Message += " (stopped flapping)"
		}
	}
	switch e.Kind {
	case event.Renotify:
		n.Delivery = DeliveryRenotify
	case event.Escalation:
		n.Delivery = DeliveryEscalation
	case event.Delayed:
		n.Delivery = DeliveryDelayed
	default:
		n.Delivery = DeliveryFirst
	}
	if n.Type == TypeProbe && e.ProbesInError != nil {
		n.HostProbesInError = slices.Clone(e.ProbesInError)
	}
	return n, true
}

// delayedSummary is the body of a delayed notification: each change the
// quiet hours put off, in order, then how things are now.
func delayedSummary(e event.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", e.Message)
	for _, d := range e.Delays {
		fmt.Fprintf(&b, "\t%s  %s\n", model.FormatDate(d.Time), d.Message)
	}
	fmt.Fprintf(&b, "\nNow : %d (%s)\n", e.NewStatus, levelName(e.NewStatus))
	if len(e.ProbesInError) > 0 {
		fmt.Fprintf(&b, "Probes in error : %s\n", strings.Join(e.ProbesInError, ", "))
	}
	return b.String()
}
