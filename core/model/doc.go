package model

import (
	"encoding/json"
	"time"
)

// DateLayout is the original's textual date format, used in ProbeDate and in
// log entries: "2026-11-25T10:34:20.443134 (UTC)".
const DateLayout = "2006-01-02T15:04:05.000000 (MST)"

// FormatDate renders t the way the original does, in UTC.
func FormatDate(t time.Time) string { return t.UTC().Format(DateLayout) }

// Metric is one measurement a probe reports.
type Metric struct {
	Tags  map[string]string `json:"Tags"`
	Value float64           `json:"Value"`
}

// ProbeResult is one run of one probe, in the original's JSON shape. Field
// order follows the original's encoding so documents diff cleanly.
type ProbeResult struct {
	Name      string          `json:"Name"`
	Version   string          `json:"Version"`
	Value     json.RawMessage `json:"Value"`
	Message   string          `json:"Message"`
	ProbeDate string          `json:"ProbeDate"`
	Timestamp int64           `json:"Timestamp"`
	Metrics   []Metric        `json:"Metrics"`
	Detail    json.RawMessage `json:"Detail"`
	Status    int             `json:"Status"`
	ExitCode  int             `json:"ExitCode"`
}

// Host is a host and its probes as the original's LocalHost object.
type Host struct {
	Name   string                  `json:"Name"`
	Group  string                  `json:"Group"`
	Status int                     `json:"Status"`
	Probes map[string]*ProbeResult `json:"Probes"`
}

// Wigo is the original's whole-instance document, answered by GET /api and
// read by pull masters: the instance's own host plus every instance it
// learned, nested under RemoteWigos by UUID.
type Wigo struct {
	Uuid          string           `json:"Uuid"`
	Version       string           `json:"Version"`
	IsAlive       bool             `json:"IsAlive"`
	GlobalStatus  int              `json:"GlobalStatus"`
	GlobalMessage string           `json:"GlobalMessage"`
	LocalHost     *Host            `json:"LocalHost"`
	RemoteWigos   map[string]*Wigo `json:"RemoteWigos"`
	Hostname      string           `json:"Hostname"`
	LastUpdate    int64            `json:"LastUpdate"`
	// ClaimedBy, not in the original, names the last other source (remote
	// address or push client) refused for claiming this host's UUID; absent
	// when none did.
	ClaimedBy string `json:"ClaimedBy,omitempty"`
	// NotHeardSince is set on a host that is DOWN: when this instance last
	// heard of it (RFC 3339, UTC), kept across restarts. The original has
	// no such key; it is additive and omitted otherwise.
	NotHeardSince string `json:"NotHeardSince,omitempty"`
	// NeverAnswered is set on a configured remote that has not answered
	// once since this instance started: it is DOWN since NotHeardSince,
	// named after its address, and its UUID is not its own (it never said
	// it). Not in the original; omitted otherwise.
	NeverAnswered bool `json:"NeverAnswered,omitempty"`
}

// LogEntry is one row of the status-change log in the original's shape.
type LogEntry struct {
	Date      string `json:"Date"`
	Timestamp int64  `json:"Timestamp"`
	Level     int    `json:"Level"`
	Message   string `json:"Message"`
	Host      string `json:"Host"`
	Probe     string `json:"Probe"`
	Group     string `json:"Group"`
	// HeldBack is why the change was not notified (acknowledged,
	// silenced, …); absent when it was. Not in the original's rows.
	HeldBack string `json:"HeldBack,omitempty"`
}

// GroupSummary is the answer of GET /api/groups/:group.
type GroupSummary struct {
	Hosts  []HostSummary `json:"Hosts"`
	Name   string        `json:"Name"`
	Status int           `json:"Status"`
}

// HostSummary is one host inside a GroupSummary.
type HostSummary struct {
	Name    string         `json:"Name"`
	Message string         `json:"Message"`
	Status  int            `json:"Status"`
	IsAlive bool           `json:"IsAlive"`
	Probes  []ProbeSummary `json:"Probes"`
}

// ProbeSummary is one probe inside a HostSummary.
type ProbeSummary struct {
	Message string `json:"Message"`
	Name    string `json:"Name"`
	Status  int    `json:"Status"`
}
