package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// History is the history block: the metrics of probe results kept in the
// database for the charts and the metrics API.
type History struct {
	// Enabled keeps the local host's metrics (on by default).
	Enabled bool
	// RemoteHosts keeps the remote hosts' metrics too, on a master.
	RemoteHosts bool
	// RawRetention is how long every point is kept as it came.
	RawRetention time.Duration
	// Retention is how long the 5-minute rollups (min, max, average,
	// count, last) are kept.
	Retention time.Duration
}

var historyFields = []field[History]{
	boolField("enabled", func(h *History) *bool { return &h.Enabled }),
	boolField("remote_hosts", func(h *History) *bool { return &h.RemoteHosts }),
	secondsField("raw_retention", false, func(h *History) *time.Duration { return &h.RawRetention }),
	secondsField("retention", false, func(h *History) *time.Duration { return &h.Retention }),
}

var historySchema = schemaOf(historyFields)

// defaultHistory is on, with the raw points for two days and the rollups
// for thirty.
var defaultHistory = History{Enabled: true, RawRetention: 48 * time.Hour, Retention: 30 * 24 * time.Hour}

// history decodes a history block. Raw points kept longer than the
// rollups would be a retention that does nothing, most likely the two
// values swapped, so it is refused.
func (l *loader) history(b *hcl.Block, base string) {
	c, d := b.Body.Content(historySchema)
	l.add(d)
	apply(l, &l.cfg.History, historyFields, c.Attributes, base, "history.")
	h := l.cfg.History
	if h.RawRetention > h.Retention {
		subject := b.DefRange.Ptr()
		if a := c.Attributes["raw_retention"]; a != nil {
			subject = a.Expr.Range().Ptr()
		}
		l.add(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Raw retention longer than the retention",
			Detail: fmt.Sprintf("history.raw_retention (%d s) must not exceed history.retention (%d s): the rollups are what is kept longer.",
				int64(h.RawRetention.Seconds()), int64(h.Retention.Seconds())),
			Subject: subject,
		}})
	}
}
