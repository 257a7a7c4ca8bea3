package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/wigo-project/wigo/core/schedule"
)

// KindMaintenance is the maintenance "name" block: a recurring window in
// which what its patterns match is silenced.
const KindMaintenance = "maintenance"

// Maintenance is one maintenance "name" block. While its Window is open,
// the changes of every host matching Hosts or in a group matching Groups
// (all hosts when both are empty), limited to the probes matching Probes
// when set, are held back as silenced; at its end what is not as last
// notified is notified once.
type Maintenance struct {
	Name                  string
	Hosts, Groups, Probes []string
	// Schedule is the schedule as written ("Sun 02:00-04:00"), TimeZone
	// its zone ("Europe/Paris"; default UTC), Window both parsed.
	Schedule string
	TimeZone string
	Window   schedule.Window
	// DefRange is the block header, for messages.
	DefRange hcl.Range
}

var maintenanceFields = []field[Maintenance]{
	namesField("hosts", func(m *Maintenance) *[]string { return &m.Hosts }),
	namesField("groups", func(m *Maintenance) *[]string { return &m.Groups }),
	namesField("probes", func(m *Maintenance) *[]string { return &m.Probes }),
	stringField("schedule", func(m *Maintenance) *string { return &m.Schedule }),
	stringField("time_zone", func(m *Maintenance) *string { return &m.TimeZone }),
}

// maintenance reads a maintenance block: its schedule must parse in its
// time zone, and it must say what it silences.
func (l *loader) maintenance(b *hcl.Block, base string) {
	name, ok := l.claimName(b, KindMaintenance)
	if !ok {
		return
	}
	m := Maintenance{Name: name, TimeZone: "UTC", DefRange: b.DefRange}
	if m.Name == "" || strings.IndexFunc(m.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid maintenance name",
			Detail:  "The label names the window in the log and in the IDs of the silences it makes (used in URLs): letters, digits, - and _ only.",
			Subject: b.LabelRanges[0].Ptr()}})
		return
	}
	content, ok := decodeFields(l, b, &m, maintenanceFields, base, "maintenance."+m.Name+".")
	if !ok {
		return
	}
	loc, err := schedule.LoadZone(m.TimeZone)
	if err != nil {
		l.add(hcl.Diagnostics{attrDiag(content.Attributes["time_zone"], b, "Unknown time zone", err.Error()+".")})
		return
	}
	a := content.Attributes["schedule"]
	if a == nil {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Missing schedule",
			Detail:  fmt.Sprintf("maintenance %q needs a schedule, such as schedule = \"Sun 02:00-04:00\".", m.Name),
			Subject: b.DefRange.Ptr()}})
		return
	}
	if m.Window, err = schedule.Parse(m.Schedule, loc); err != nil {
		l.add(hcl.Diagnostics{invalid(a, "Invalid schedule", fmt.Sprintf("schedule = %q: %v.", m.Schedule, err))})
		return
	}
	if len(m.Hosts) == 0 && len(m.Groups) == 0 && len(m.Probes) == 0 {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Maintenance silences nothing",
			Detail:  fmt.Sprintf("maintenance %q needs hosts, groups or probes to silence (hosts = [\"*\"] silences every host).", m.Name),
			Subject: b.DefRange.Ptr()}})
		return
	}
	l.cfg.Maintenance = append(l.cfg.Maintenance, m)
}

// attrDiag is an error about attribute a, or about block b when a is not
// set (a default was wrong).
func attrDiag(a *hcl.Attribute, b *hcl.Block, summary, detail string) *hcl.Diagnostic {
	if a != nil {
		return invalid(a, summary, detail)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: b.DefRange.Ptr()}
}
