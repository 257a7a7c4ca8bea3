package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// KindCheck is the block type of a check "name" block.
const KindCheck = "check"

// Check is one check "name" block: the check attempts of the probes it
// matches (probe name patterns, on hosts matching Hosts or in a group
// matching Groups; a list left out matches all), instead of the top-level
// attempts and recovery_attempts. The first block that matches a probe,
// in file order, is its rule.
type Check struct {
	Name                  string
	Probes, Hosts, Groups []string
	// Attempts and RecoveryAttempts are 0 when the block leaves them to
	// the top-level setting.
	Attempts, RecoveryAttempts int
	// DefRange is the block header, for messages.
	DefRange hcl.Range
}

var checkFields = []field[Check]{
	namesField("probes", func(c *Check) *[]string { return &c.Probes }),
	namesField("hosts", func(c *Check) *[]string { return &c.Hosts }),
	namesField("groups", func(c *Check) *[]string { return &c.Groups }),
	intField("attempts", 1, 100, func(c *Check) *int { return &c.Attempts }),
	intField("recovery_attempts", 1, 100, func(c *Check) *int { return &c.RecoveryAttempts }),
}

// check reads a check block: it must match something and set something.
func (l *loader) check(b *hcl.Block, base string) {
	name, ok := l.claimName(b, KindCheck)
	if !ok {
		return
	}
	c := Check{Name: name, DefRange: b.DefRange}
	if _, ok := decodeFields(l, b, &c, checkFields, base, "check."+c.Name+"."); !ok {
		return
	}
	if len(c.Probes) == 0 && len(c.Hosts) == 0 && len(c.Groups) == 0 {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Check that matches every probe",
			Detail:  fmt.Sprintf("check %q needs probes, hosts or groups to match; for every probe, set attempts and recovery_attempts at the top level.", c.Name),
			Subject: b.DefRange.Ptr()}})
		return
	}
	if c.Attempts == 0 && c.RecoveryAttempts == 0 {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Check that sets nothing",
			Detail:  fmt.Sprintf("check %q needs attempts or recovery_attempts.", c.Name),
			Subject: b.DefRange.Ptr()}})
		return
	}
	l.cfg.Checks = append(l.cfg.Checks, c)
}
