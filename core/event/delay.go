package event

import "time"

// Delay is a change put off for one notifier instance by its quiet hours
// (a notify block's quiet_hours): what that notifier is told, with the
// other changes of the same host put off for it, when they end.
type Delay struct {
	// Instance is the notify block's label; Until is when its quiet hours
	// end.
	Instance string
	Until    time.Time
	HostUUID string
	Host     string
	Group    string
	// Probe is "" for the host's own changes.
	Probe     string
	Kind      Kind
	OldStatus int
	NewStatus int
	// Time is when the change happened, Message its sentence.
	Time    time.Time
	Message string
}
