package notify

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/schedule"
)

// Kinds lists the event kinds the pipeline consumes; subscribe with exactly
// these (Lossless) so the bus does not queue the high-volume ProbeUpdated for
// nothing. HostRemoved is included only to forget a removed host's probes.
var Kinds = []event.Kind{
	event.ProbeChanged, event.ProbeAppeared, event.ProbeDisappeared,
	event.HostDown, event.HostUp, event.HostRemoved, event.ClientWaiting, event.Acknowledged,
	event.CurrentState, event.FlappingStopped, event.Renotify, event.Escalation, event.Delayed,
}

// Filter decides which events one notifier instance hears about.
//
// Probe rules (the original's, see config.Notifications):
//   - probe_changed: sent when OnProbeChange and the new status is at least
//     MinLevel, or the probe recovers (new < old) from a status at least
//     MinLevel. With RescueOnly, only recoveries that go back under MinLevel
//     (old ≥ MinLevel > new) are sent.
//   - probe_appeared: treated as a change from OK: sent when OnProbeChange
//     and the status is at least MinLevel; never with RescueOnly (nothing
//     was rescued).
//   - probe_disappeared: treated as a recovery: sent when OnProbeChange and
//     the last status was at least MinLevel (the problem is no longer
//     reported, someone should know why), RescueOnly included.
//   - probe_updated, host_appeared, host_removed: never.
//
// Host rules: host_down and host_up are sent when OnHostChange, whatever
// MinLevel and RescueOnly say (RescueOnly is about probe changes).
// client_waiting (a new push client waits for approval) is sent when
// OnHostChange, likewise.
//
// Routing: when Groups or Hosts is non-empty the event's group must match one
// of Groups or its host one of Hosts (OR'ed, like the newest upstream wigo's
// apprise targets); patterns are case-insensitive and '*' matches any run of
// characters. Both empty matches every host.
type Filter struct {
	config.Notifications
	// Groups are group patterns.
	Groups []string
	// Hosts are host name patterns.
	Hosts []string
	// EscalationsOnly (escalations_only): the block is someone woken
	// second; it accepts nothing itself, it is sent the escalations that
	// name it (which bypass the filter).
	EscalationsOnly bool
}

// Accepts reports whether e passes the filter.
func (f Filter) Accepts(e event.Event) bool {
	if f.EscalationsOnly || !f.routes(e.Host, e.Group) {
		return false
	}
	level := f.MinLevel
	switch e.Kind {
	case event.Renotify:
		// A problem still there: whoever would hear of it now.
		if e.Probe == "" {
			return f.OnHostChange
		}
		return f.OnProbeChange && !f.RescueOnly && e.NewStatus >= level
	case event.CurrentState, event.FlappingStopped:
		// How things are once a silence ended or a flapping settled,
		// against what was notified before: a change, as far as this
		// notifier is concerned.
		if e.Probe == "" {
			return f.OnHostChange
		}
		fallthrough
	case event.ProbeChanged:
		if !f.OnProbeChange {
			return false
		}
		if f.RescueOnly {
			return e.OldStatus >= level && e.NewStatus < level
		}
		recovery := e.NewStatus < e.OldStatus && e.OldStatus >= level
		return e.NewStatus >= level || recovery
	case event.ProbeAppeared:
		return f.OnProbeChange && !f.RescueOnly && e.NewStatus >= level
	case event.ProbeDisappeared:
		return f.OnProbeChange && e.OldStatus >= level
	case event.HostDown, event.HostUp, event.ClientWaiting:
		return f.OnHostChange
	case event.Acknowledged:
		// Whoever heard of the problem hears who took it.
		if e.Probe == "" && f.OnHostChange && e.NewStatus >= model.StatusDown {
			return true
		}
		return f.OnProbeChange && !f.RescueOnly && e.NewStatus >= level
	}
	return false
}

func (f Filter) routes(host, group string) bool {
	if len(f.Groups) == 0 && len(f.Hosts) == 0 {
		return true
	}
	for _, p := range f.Groups {
		if event.Match(p, group) {
			return true
		}
	}
	for _, p := range f.Hosts {
		if event.Match(p, host) {
			return true
		}
	}
	return false
}

// Routing holds the notify block attributes the core's config package
// leaves in the block body and this package owns.
type Routing struct {
	// Groups is the groups attribute: group patterns.
	Groups []string `hcl:"groups,optional"`
	// Hosts is the hosts attribute: host name patterns.
	Hosts []string `hcl:"hosts,optional"`
	// FallbackFor is the fallback_for attribute: the label of another
	// notify block this one backs up.
	FallbackFor string `hcl:"fallback_for,optional"`
	// RenotifyEvery is the renotify_every attribute, in seconds: how often
	// an unresolved, unacknowledged problem is notified again (0: never).
	RenotifyEvery float64 `hcl:"renotify_every,optional"`
	// EscalateAfter (seconds) and EscalateTo (another notify block's
	// label): a problem at this block's level not acknowledged within
	// EscalateAfter is sent once to EscalateTo.
	EscalateAfter float64 `hcl:"escalate_after,optional"`
	EscalateTo    string  `hcl:"escalate_to,optional"`
	// EscalationsOnly is the escalations_only attribute: this block is
	// sent only the escalations of other blocks (Filter.EscalationsOnly).
	EscalationsOnly bool `hcl:"escalations_only,optional"`
	// QuietHours is the quiet_hours block, nil without one.
	QuietHours *QuietHours
}

// QuietHours is a notify block's quiet_hours: every day from From to To
// (HH:MM, in TimeZone), what is below MinLevel is put off for this block
// until they end (core/decide decides what and until when).
type QuietHours struct {
	From, To, TimeZone string
	MinLevel           int
	// Window is From-To, every day, in TimeZone.
	Window schedule.Window
}

// DefaultQuietMinLevel is the quiet hours' min_level when the block gives
// none: an ERROR (a probe that cannot run, 500) and a DOWN host still wake
// someone; WARN and CRIT wait for the morning.
const DefaultQuietMinLevel = 500

// minRenotify bounds renotify_every from below: more often is a flood.
const minRenotify = 60

var routingSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "groups"}, {Name: "hosts"}, {Name: "fallback_for"}, {Name: "renotify_every"},
	{Name: "escalate_after"}, {Name: "escalate_to"}, {Name: "escalations_only"},
}, Blocks: []hcl.BlockHeaderSchema{{Type: "quiet_hours"}}}

var quietSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "from", Required: true}, {Name: "to", Required: true}, {Name: "time_zone"}, {Name: "min_level"},
}}

// decodeQuietHours reads a quiet_hours block; its errors point at the
// attribute that is wrong.
func decodeQuietHours(b *hcl.Block) (*QuietHours, hcl.Diagnostics) {
	content, diags := b.Body.Content(quietSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	q := &QuietHours{TimeZone: "UTC", MinLevel: DefaultQuietMinLevel}
	attrs := content.Attributes
	for _, f := range []struct {
		name string
		dst  any
	}{{"from", &q.From}, {"to", &q.To}, {"time_zone", &q.TimeZone}, {"min_level", &q.MinLevel}} {
		if a, ok := attrs[f.name]; ok {
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, f.dst)...)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	invalid := func(a *hcl.Attribute, summary, detail string) (*QuietHours, hcl.Diagnostics) {
		r := b.DefRange
		if a != nil {
			r = a.Expr.Range()
		}
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()})
	}
	if q.MinLevel < 100 || q.MinLevel > 999 {
		return invalid(attrs["min_level"], "Invalid quiet_hours min_level",
			fmt.Sprintf("min_level = %d: give a status between 100 and 999; what is below it waits for the end of the quiet hours.", q.MinLevel))
	}
	loc, err := schedule.LoadZone(q.TimeZone)
	if err != nil {
		return invalid(attrs["time_zone"], "Unknown time zone", err.Error()+".")
	}
	if q.Window, err = schedule.Daily(q.From, q.To, loc); err != nil {
		a := attrs["to"]
		if se := (*schedule.SpanError)(nil); errors.As(err, &se) && se.From {
			a = attrs["from"]
		}
		return invalid(a, "Invalid quiet hours", fmt.Sprintf("from = %q, to = %q: %v.", q.From, q.To, err))
	}
	return q, diags
}

// DecodeRouting takes groups, hosts, fallback_for, renotify_every,
// escalate_after, escalate_to and the quiet_hours block out of a notify block's
// body and returns them with the rest of the body, which is what the plugin
// host must decode against the plugin's schema (the plugin does not know
// these attributes and would reject them). Diagnostics carry file, line and
// column.
func DecodeRouting(body hcl.Body) (Routing, hcl.Body, hcl.Diagnostics) {
	var r Routing
	if body == nil {
		return r, nil, nil
	}
	content, remain, diags := body.PartialContent(routingSchema)
	decode := func(name string, dst any) {
		if a, ok := content.Attributes[name]; ok {
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, dst)...)
		}
	}
	decode("groups", &r.Groups)
	decode("hosts", &r.Hosts)
	decode("fallback_for", &r.FallbackFor)
	if a, ok := content.Attributes["renotify_every"]; ok {
		decode("renotify_every", &r.RenotifyEvery)
		if r.RenotifyEvery != 0 && (r.RenotifyEvery < minRenotify || r.RenotifyEvery > 366*24*3600) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid renotify_every",
				Detail:  fmt.Sprintf("renotify_every = %v: give seconds between %d and a year (0: never).", r.RenotifyEvery, minRenotify),
				Subject: a.Expr.Range().Ptr()})
			r.RenotifyEvery = 0
		}
	}
	decode("escalate_to", &r.EscalateTo)
	decode("escalations_only", &r.EscalationsOnly)
	if a, ok := content.Attributes["escalate_after"]; ok {
		decode("escalate_after", &r.EscalateAfter)
		if r.EscalateAfter < minRenotify || r.EscalateAfter > 366*24*3600 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid escalate_after",
				Detail:  fmt.Sprintf("escalate_after = %v: give seconds between %d and a year.", r.EscalateAfter, minRenotify),
				Subject: a.Expr.Range().Ptr()})
			r.EscalateAfter = 0
		}
	}
	for i, b := range content.Blocks {
		if i > 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate quiet_hours block",
				Detail: "A notify block has one quiet_hours block.", Subject: b.DefRange.Ptr()})
			break
		}
		q, d := decodeQuietHours(b)
		diags = append(diags, d...)
		r.QuietHours = q
	}
	if (r.EscalateAfter > 0) != (r.EscalateTo != "") && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incomplete escalation",
			Detail: "escalate_after and escalate_to go together: after how long, to which notify block."})
	}
	return r, remain, diags
}

// InstanceFromBlock builds the Instance of a notify block: its label, its
// resolved filter and its routing attributes. It returns the body left for
// the plugin. A block without a Filter (not a notify block) is an error.
func InstanceFromBlock(b config.PluginBlock) (Instance, hcl.Body, hcl.Diagnostics) {
	r, remain, diags := DecodeRouting(b.Body)
	if b.Filter == nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Not a notify block",
			Detail:   fmt.Sprintf("Block %s %q has no notification filter.", b.Kind, b.Label),
			Subject:  b.DefRange.Ptr(),
		})
		return Instance{Name: b.Label}, remain, diags
	}
	return Instance{
		Name:          b.Label,
		Filter:        Filter{Notifications: *b.Filter, Groups: r.Groups, Hosts: r.Hosts, EscalationsOnly: r.EscalationsOnly},
		FallbackFor:   r.FallbackFor,
		RenotifyEvery: time.Duration(r.RenotifyEvery * float64(time.Second)),
		EscalateAfter: time.Duration(r.EscalateAfter * float64(time.Second)),
		EscalateTo:    r.EscalateTo,
		QuietHours:    r.QuietHours,
	}, remain, diags
}

// CheckInstances reports configuration errors no single block shows: two
// instances with one name, and a fallback_for naming an unknown instance or
// itself, or a fallback of a fallback (kept out so release stays one step),
// or a fallback with quiet hours of its own (it follows its primary's).
func CheckInstances(instances []Instance) error {
	seen := map[string]Instance{}
	for _, in := range instances {
		if in.Name == "" {
			return fmt.Errorf("notifier instance with an empty name")
		}
		if _, dup := seen[in.Name]; dup {
			return fmt.Errorf("two notifier instances named %q", in.Name)
		}
		seen[in.Name] = in
	}
	for _, in := range instances {
		if in.EscalateTo == "" {
			continue
		}
		if _, ok := seen[in.EscalateTo]; !ok || in.EscalateTo == in.Name {
			return fmt.Errorf("notify %q: escalate_to names %q, which is not another notify block", in.Name, in.EscalateTo)
		}
	}
	for _, in := range instances {
		if !in.Filter.EscalationsOnly {
			continue
		}
		if in.EscalateTo != "" || in.RenotifyEvery > 0 || in.FallbackFor != "" {
			return fmt.Errorf("notify %q: escalations_only takes only the escalations of other blocks; it cannot have escalate_to, renotify_every or fallback_for", in.Name)
		}
		named := false
		for _, from := range instances {
			named = named || from.EscalateTo == in.Name
		}
		if !named {
			return fmt.Errorf("notify %q: escalations_only, but no notify block escalates to it (escalate_to = %q): it would never send anything", in.Name, in.Name)
		}
	}
	for _, in := range instances {
		if in.FallbackFor == "" {
			continue
		}
		target, ok := seen[in.FallbackFor]
		switch {
		case !ok:
			return fmt.Errorf("notify %q: fallback_for names %q, which is not a notify block", in.Name, in.FallbackFor)
		case in.FallbackFor == in.Name:
			return fmt.Errorf("notify %q: fallback_for names itself", in.Name)
		case target.FallbackFor != "":
			return fmt.Errorf("notify %q: fallback_for names %q, which is itself a fallback", in.Name, in.FallbackFor)
		case in.QuietHours != nil:
			return fmt.Errorf("notify %q: a fallback keeps the quiet hours of the block it backs up (%q): give them to that one", in.Name, in.FallbackFor)
		}
	}
	return nil
}
