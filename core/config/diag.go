package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// FormatDiagnostics renders diags one per line, each ending in a newline, as
// `file:line,col: summary; detail`, the shape editors and grep understand.
//
// Variations, so that no diagnostic is ever dropped: a diagnostic about a
// whole file (unreadable, not a regular file) has no line, so it reads
// `file: summary; detail`; one with no position at all reads
// `summary; detail`; an empty detail drops the `; detail` part; a warning's
// summary starts with "warning: ". Line breaks inside a message become
// spaces so each diagnostic stays on one line.
func FormatDiagnostics(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		if d == nil {
			continue
		}
		switch {
		case d.Subject == nil:
		case d.Subject.Start.Line == 0:
			fmt.Fprintf(&b, "%s: ", d.Subject.Filename)
		default:
			fmt.Fprintf(&b, "%s: ", pos(*d.Subject))
		}
		if d.Severity == hcl.DiagWarning {
			b.WriteString("warning: ")
		}
		b.WriteString(oneLine(d.Summary))
		if d.Detail != "" {
			b.WriteString("; ")
			b.WriteString(oneLine(d.Detail))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func oneLine(s string) string {
	return strings.TrimSpace(lineBreaks.Replace(s))
}
