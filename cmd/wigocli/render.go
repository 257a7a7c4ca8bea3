package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wigo-project/wigo/core/model"
)

// palette colours level words when enabled. Only the word is coloured and the
// word is always printed, so nothing depends on seeing colours.
type palette struct{ enabled bool }

const ansiReset = "\x1b[0m"

// statusColor is the SGR code for a status level.
func statusColor(status int) string {
	switch model.StatusName(status) {
	case "OK":
		return "32" // green
	case "INFO":
		return "36" // cyan
	case "WARN":
		return "33" // yellow
	case "CRIT", "ERROR":
		return "31" // red
	case "DOWN":
		return "1;35" // bold magenta
	}
	return ""
}

// logColor colours an original log level like the status it was logged for.
func logColor(level int) string {
	switch level {
	case model.LogNotice:
		return "32"
	case model.LogInfo:
		return "36"
	case model.LogWarning:
		return "33"
	case model.LogError, model.LogCritical:
		return "31"
	case model.LogEmergency:
		return "1;35"
	}
	return ""
}

func (p palette) paint(code, text string) string {
	if !p.enabled || code == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + ansiReset
}

// output prints answers for humans, or raw JSON with -json.
type output struct {
	w    io.Writer
	pal  palette
	json bool
}

// raw prints an answer's JSON as the server sent it, newline-terminated.
func (o *output) raw(body []byte) {
	body = bytes.TrimSpace(body)
	o.w.Write(body)
	io.WriteString(o.w, "\n")
}

// clean makes text that came from the network safe for a terminal: a probe's
// message is written by whatever runs on a remote host, and an escape
// sequence in it must not be able to drive the terminal of the person reading
// it. Tabs and line breaks become spaces (one entry stays one line), other
// control characters are shown escaped, invalid UTF-8 becomes U+FFFD.
func clean(s string) string {
	ok := utf8.ValidString(s)
	if ok {
		for _, r := range s {
			if unicode.IsControl(r) {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// width is the printed width of s, counted in runes: good enough for the
// names and words that fill the aligned columns.
func width(s string) int { return utf8.RuneCountInString(s) }

// pad right-pads s to n columns.
func pad(s string, n int) string {
	if w := width(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

// cells joins columns with two spaces and drops trailing blanks, so padded
// empty last columns leave no trailing whitespace.
func cells(cols ...string) string {
	return strings.TrimRight(strings.Join(cols, "  "), " ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// isOK is true only for exactly OK: INFO, UNKNOWN and worse are all worth
// listing in the summary.
func isOK(status int) bool { return status == model.StatusOK }

// formatUnix renders a Unix time for humans, in UTC like the original's dates.
func formatUnix(ts int64) string {
	return time.Unix(ts, 0).UTC().Format("2006-01-02 15:04:05 UTC")
}

// instance prints a view: the status line, then the hosts (all of them, or
// only those that are not OK) each followed by its probes (all, or only
// those that are not OK).
func (o *output) instance(v view, all bool) {
	var problems, down int
	for _, h := range v.hosts {
		if !isOK(h.status) {
			problems++
		}
		if h.down {
			down++
		}
	}
	word := model.StatusName(v.global)
	head := clean(v.instance) + ": " + o.pal.paint(statusColor(v.global), word)
	switch {
	case problems == 0 && isOK(v.global):
		fmt.Fprintf(o.w, "%s - all %s and %s OK\n", head, plural(len(v.hosts), "host"), plural(v.probes, "probe"))
	case problems == 0:
		// Only the instance's own GlobalStatus says so (e.g. hosts beyond
		// a pull depth limit): report it, there is nothing to list.
		fmt.Fprintf(o.w, "%s - as the instance reports; none of its %s shows a problem\n", head, plural(len(v.hosts), "host"))
	default:
		line := fmt.Sprintf("%s - %d of %s not OK", head, problems, plural(len(v.hosts), "host"))
		if down > 0 {
			line += fmt.Sprintf(", %d DOWN", down)
		}
		fmt.Fprintln(o.w, line)
	}

	type probeRow struct{ level, name, message string }
	type hostRow struct {
		status             int
		level, name, group string
		note               string
		probes             []probeRow
		probeStatus        []int
	}
	var rows []hostRow
	var lw, nw, gw, plw, pnw int
	for _, h := range v.hosts {
		if !all && isOK(h.status) {
			continue
		}
		r := hostRow{status: h.status, level: model.StatusName(h.status), name: clean(h.name), group: clean(h.group)}
		if r.group == "" {
			r.group = "-"
		}
		switch {
		case h.down && h.lastUpdate > 0:
			r.note = "not heard from since " + formatUnix(h.lastUpdate)
		case h.down:
			r.note = "not heard from"
		case all && len(h.probes) == 0:
			r.note = "no probes"
		}
		for _, p := range h.probes {
			if !all && isOK(p.status) {
				continue
			}
			pr := probeRow{level: model.StatusName(p.status), name: clean(p.name), message: clean(p.message)}
			r.probes = append(r.probes, pr)
			r.probeStatus = append(r.probeStatus, p.status)
			plw, pnw = max(plw, width(pr.level)), max(pnw, width(pr.name))
		}
		lw, nw, gw = max(lw, width(r.level)), max(nw, width(r.name)), max(gw, width(r.group))
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(o.w)
	indent := strings.Repeat(" ", lw+2)
	for _, r := range rows {
		level := o.pal.paint(statusColor(r.status), r.level) + strings.Repeat(" ", lw-width(r.level))
		fmt.Fprintln(o.w, cells(level, pad(r.name, nw), pad(r.group, gw), r.note))
		for i, p := range r.probes {
			plevel := o.pal.paint(statusColor(r.probeStatus[i]), p.level) + strings.Repeat(" ", plw-width(p.level))
			fmt.Fprintln(o.w, indent+cells(plevel, pad(p.name, pnw), p.message))
		}
	}
}

// probe prints one probe in full.
func (o *output) probe(host string, p *model.ProbeResult) {
	line := func(label, value string) {
		fmt.Fprintf(o.w, "%-10s %s\n", label+":", value)
	}
	orNone := func(s string) string {
		if s == "" {
			return "-"
		}
		return clean(s)
	}
	line("host", orNone(host))
	line("probe", orNone(p.Name))
	line("status", strconv.Itoa(p.Status))
	line("level", o.pal.paint(statusColor(p.Status), model.StatusName(p.Status)))
	line("message", orNone(p.Message))
	date := p.ProbeDate
	if date == "" && p.Timestamp > 0 {
		date = model.FormatDate(time.Unix(p.Timestamp, 0))
	}
	line("date", orNone(date))
	line("version", orNone(p.Version))
	line("exit code", strconv.Itoa(p.ExitCode))
	if !isNullJSON(p.Value) {
		line("value", clean(string(bytes.TrimSpace(p.Value))))
	}

	if len(p.Metrics) == 0 {
		line("metrics", "none")
	} else {
		fmt.Fprintln(o.w, "metrics:")
		values := make([]string, len(p.Metrics))
		vw := 0
		for i, m := range p.Metrics {
			values[i] = strconv.FormatFloat(m.Value, 'g', -1, 64)
			vw = max(vw, width(values[i]))
		}
		for i, m := range p.Metrics {
			fmt.Fprintln(o.w, "  "+cells(pad(values[i], vw), formatTags(m.Tags)))
		}
	}

	if isNullJSON(p.Detail) {
		line("detail", "none")
		return
	}
	fmt.Fprintln(o.w, "detail:")
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(p.Detail), "", "  "); err != nil {
		// Decoding already accepted it, so this cannot happen; print it as
		// is rather than nothing.
		buf.Reset()
		buf.Write(p.Detail)
	}
	for _, l := range strings.Split(buf.String(), "\n") {
		fmt.Fprintln(o.w, "  "+clean(l))
	}
}

func isNullJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// formatTags prints metric tags as k=v, sorted by key for stable output.
func formatTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = clean(k) + "=" + clean(tags[k])
	}
	return strings.Join(parts, " ")
}

// logs prints log entries one per line in the server's order (newest first):
// date, level, host, probe, message.
func (o *output) logs(entries []model.LogEntry) {
	if len(entries) == 0 {
		fmt.Fprintln(o.w, "no log entries")
		return
	}
	type row struct {
		levelNum                          int
		date, level, host, probe, message string
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return clean(s)
	}
	rows := make([]row, len(entries))
	var dw, lw, hw, pw int
	for i, e := range entries {
		date := e.Date
		if date == "" && e.Timestamp > 0 {
			date = model.FormatDate(time.Unix(e.Timestamp, 0))
		}
		r := row{levelNum: e.Level, date: dash(date), level: model.LogLevelName(e.Level),
			host: dash(e.Host), probe: dash(e.Probe), message: clean(e.Message)}
		dw, lw, hw, pw = max(dw, width(r.date)), max(lw, width(r.level)), max(hw, width(r.host)), max(pw, width(r.probe))
		rows[i] = r
	}
	for _, r := range rows {
		level := o.pal.paint(logColor(r.levelNum), r.level) + strings.Repeat(" ", lw-width(r.level))
		fmt.Fprintln(o.w, cells(pad(r.date, dw), level, pad(r.host, hw), pad(r.probe, pw), r.message))
	}
}
