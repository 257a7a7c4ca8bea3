package sdk

import (
	"encoding/json"
	"time"
)

// DateLayout is the original Wigo's format of Notification.Date.
const DateLayout = "2006-01-02T15:04:05.000000 (MST)"

// Notification types, the original's Type key.
const (
	TypeProbe = "Probe" // a probe event
	TypeWigo  = "Wigo"  // a host event (UP, DOWN, new push client)
)

// Notification is one event sent to a notifier. Its JSON is the payload
// notify-http posts: the original Wigo keys first, so existing receivers keep
// working, then stable fields added by this version.
type Notification struct {
	// Type is TypeProbe or TypeWigo.
	Type string `json:"Type"`
	// Hostname is the host the event is about.
	Hostname string `json:"Hostname"`
	// Group is the host's group.
	Group string `json:"Group"`
	// Message is one line, e.g. "Probe load switched from 100 to 300 on host web1".
	Message string `json:"Message"`
	// Date is when the event happened, in DateLayout.
	Date string `json:"Date"`
	// Summary is a few lines of detail, for mail bodies.
	Summary string `json:"Summary"`
	// Status is the status being reported (the new one for a change).
	Status int `json:"Status"`
	// Probe is the probe name; empty for host events.
	Probe string `json:"Probe"`
	// OldProbe is the probe result before the change, nil if it appeared.
	OldProbe *ProbeResult `json:"OldProbe"`
	// NewProbe is the probe result after the change, nil if it disappeared.
	NewProbe *ProbeResult `json:"NewProbe"`
	// HostProbesInError lists the host's probes not OK at the time.
	HostProbesInError []string `json:"HostProbesInError"`

	// EventId identifies the event; retries carry the same id, so a
	// receiver can deduplicate at-least-once deliveries.
	EventId string `json:"EventId"`
	// Kind is e.g. "probe_changed", "probe_appeared", "probe_disappeared",
	// "host_down", "host_up", "client_waiting", or:
	//   - "acknowledged": someone took the problem; Message says who and
	//     why, NewStatus is the status acknowledged; Probe is empty for a
	//     whole host.
	//   - "current_state": a silence that held this host's (Probe empty) or
	//     probe's changes back has ended, and its status differs from the
	//     one last notified: OldStatus is that one, NewStatus the status now.
	//     One such notification replaces the changes held back.
	//   - "flapping_stopped": a flapping host or probe settled (see
	//     Flapping); OldStatus is the status notified when it started.
	//   - "renotify", "escalation": see Delivery.
	//   - "delayed": the quiet hours of the receiving notify block ended;
	//     this one notification stands for every change of the host they
	//     put off, listed in order in Summary (time and sentence each) and
	//     counted in Message. Probe is set when they were all one probe's
	//     (Type "Probe"), empty otherwise (Type "Wigo"); OldStatus is what
	//     was last notified before the first of them (the worst, for
	//     several probes), NewStatus the status now (the host's, for
	//     several probes): NewStatus 100 means all of it recovered in the
	//     night.
	Kind string `json:"Kind"`
	// OldStatus and NewStatus are the status codes around the change.
	OldStatus int `json:"OldStatus"`
	NewStatus int `json:"NewStatus"`
	// OldLevel and NewLevel name them: OK, INFO, WARN, CRIT, ERROR, DOWN.
	OldLevel string `json:"OldLevel"`
	NewLevel string `json:"NewLevel"`
	// Flapping is "started" on the change that makes a host or probe flap
	// (it changed too often; its next changes are not sent until it
	// settles) and "stopped" on the notification that it settled; empty
	// otherwise. A receiver that pages can page once for "started".
	Flapping string `json:"Flapping,omitempty"`
	// Delivery says how this notification comes, whatever its Kind:
	// DeliveryFirst, DeliveryRenotify, DeliveryEscalation or
	// DeliveryDelayed. A receiver that pages can page for "first" and
	// "escalation", remind for "renotify", and file "delayed" (the night's
	// changes, sent at the end of the block's quiet hours) with the
	// morning's mail.
	Delivery string `json:"Delivery"`
	// DashboardUrl opens the dashboard at the event's host, when the
	// instance knows its public address (http.public_url); absent
	// otherwise. A notifier puts it in the message as a link.
	DashboardUrl string `json:"DashboardUrl,omitempty"` //nolint:revive // the payload's spelling, like EventId
}

// Delivery values: how a notification comes.
const (
	// DeliveryFirst: the first word of a change (probe_changed, host_down,
	// current_state, acknowledged, …).
	DeliveryFirst = "first"
	// DeliveryRenotify: a problem still unresolved (Kind "renotify").
	DeliveryRenotify = "renotify"
	// DeliveryEscalation: a problem nobody acknowledged in time, sent to
	// the block named by escalate_to (Kind "escalation").
	DeliveryEscalation = "escalation"
	// DeliveryDelayed: the changes of one host that the receiving block's
	// quiet hours put off, sent once when they end (Kind "delayed").
	DeliveryDelayed = "delayed"
)

// ProbeResult is a probe result in the original Wigo's JSON shape. Free-form
// parts stay raw JSON so that a notifier forwards them unchanged.
type ProbeResult struct {
	Name      string          `json:"Name"`
	Version   string          `json:"Version"`
	Value     json.RawMessage `json:"Value"`
	Message   string          `json:"Message"`
	ProbeDate string          `json:"ProbeDate"`
	Timestamp int64           `json:"Timestamp"`
	Metrics   json.RawMessage `json:"Metrics"`
	Detail    json.RawMessage `json:"Detail"`
	Status    int             `json:"Status"`
	ExitCode  int             `json:"ExitCode"`
}

// Time parses Date; it is zero when Date is empty or malformed.
func (n *Notification) Time() time.Time {
	t, err := time.Parse(DateLayout, n.Date)
	if err != nil {
		return time.Time{}
	}
	return t
}

// LevelName names a status code: OK (100), INFO (101-199), WARN (200-299),
// CRIT (300-499), ERROR (500-998), DOWN (999).
func LevelName(status int) string {
	switch {
	case status == 999:
		return "DOWN"
	case status >= 500:
		return "ERROR"
	case status >= 300:
		return "CRIT"
	case status >= 200:
		return "WARN"
	case status > 100:
		return "INFO"
	default:
		return "OK"
	}
}
