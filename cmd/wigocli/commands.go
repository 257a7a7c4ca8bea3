package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// dispatch runs the command o asks for. It returns the exit code, or an
// error (exit 3) that says which URL failed and why; output already printed
// stays printed, so an UNKNOWN status is shown and then explained.
func dispatch(ctx context.Context, c *client, o *options, out *output) (int, error) {
	switch o.cmd {
	case cmdSummary:
		return showInstance(ctx, c, out, false)
	case cmdDetail:
		return showInstance(ctx, c, out, true)
	case cmdProbe:
		return showLocalProbe(ctx, c, out, o.probeName)
	case cmdRemote:
		return showRemote(ctx, c, out, o.hostArg)
	case cmdRemoteProbe:
		return showRemoteProbe(ctx, c, out, o.hostArg, o.probeName)
	case cmdLogs:
		return showLogs(ctx, c, out, o)
	case cmdAck, cmdUnack:
		return changeAck(ctx, c, out, o)
	case cmdAcks:
		return showAcks(ctx, c, out)
	case cmdSilence, cmdSilenceExtend, cmdUnsilence:
		return changeSilence(ctx, c, out, o)
	case cmdSilences:
		return showSilences(ctx, c, out)
	case cmdRun, cmdDisable, cmdEnable, cmdInterval:
		return controlProbe(ctx, c, out, o)
	case cmdAuthority:
		return simplePost(ctx, c, out, fmt.Sprintf("push client %s: %sed", o.target, strings.TrimSuffix(o.action, "e")),
			"authority", "hosts", o.target, o.action)
	case cmdRetry:
		return simplePost(ctx, c, out, fmt.Sprintf("notification %s: queued again", o.target), "notifications", o.target, "retry")
	}
	return exitUnknown, fmt.Errorf("internal error: unhandled command %d", o.cmd)
}

// showInstance is the summary (only what is not OK) and detail (everything)
// of GET /api.
func showInstance(ctx context.Context, c *client, out *output, detail bool) (int, error) {
	resp, err := c.get(ctx, nil)
	if err != nil {
		return exitUnknown, err
	}
	return printInstance(resp, out, false, detail)
}

// showLocalProbe details one probe of the local host. It reads GET /api
// rather than /api/hosts/<name>/probes/NAME: the local host's name is only
// known from /api anyway, and one request is enough.
func showLocalProbe(ctx context.Context, c *client, out *output, name string) (int, error) {
	resp, err := c.get(ctx, nil)
	if err != nil {
		return exitUnknown, err
	}
	w, err := decodeWigo(resp)
	if err != nil {
		return exitUnknown, err
	}
	host := wigoName(w, "")
	key, p := findProbe(w.LocalHost, name)
	if p == nil {
		return exitUnknown, fmt.Errorf("GET %s: no probe %q on the local host %s (its probes: %s)",
			resp.url, name, clean(host), probeList(w.LocalHost))
	}
	if out.json {
		// The probe's own JSON, cut out of the document as the server sent it.
		var raw struct {
			LocalHost struct {
				Probes map[string]json.RawMessage `json:"Probes"`
			} `json:"LocalHost"`
		}
		if err := json.Unmarshal(resp.body, &raw); err != nil {
			return exitUnknown, fmt.Errorf("GET %s: %v", resp.url, err)
		}
		out.raw(raw.LocalHost.Probes[key])
	} else {
		out.probe(host, p)
	}
	return statusExit(p.Status, fmt.Sprintf("GET %s: probe %q has no valid status (%d)", resp.url, name, p.Status))
}

// showRemote shows one host as the instance knows it (GET /api/hosts/HOST),
// every probe included, plus any hosts learned through it.
func showRemote(ctx context.Context, c *client, out *output, host string) (int, error) {
	resp, err := c.get(ctx, nil, "hosts", host)
	if err != nil {
		return exitUnknown, notFound(err, fmt.Sprintf("host %q", host))
	}
	return printInstance(resp, out, true, true)
}

// printInstance prints a Wigo document answer (GET /api or /api/hosts/HOST)
// and turns its worst status into the exit code. topIsRemote is buildView's:
// whether the answering document's own IsAlive counts.
func printInstance(resp *response, out *output, topIsRemote, detail bool) (int, error) {
	w, err := decodeWigo(resp)
	if err != nil {
		return exitUnknown, err
	}
	v := buildView(w, topIsRemote)
	if out.json {
		out.raw(resp.body)
	} else {
		out.instance(v, detail)
	}
	return statusExit(v.global, "GET "+resp.url+": no host or probe in the answer carries a valid status")
}

// showRemoteProbe details one probe of a remote host
// (GET /api/hosts/HOST/probes/NAME).
func showRemoteProbe(ctx context.Context, c *client, out *output, host, name string) (int, error) {
	resp, err := c.get(ctx, nil, "hosts", host, "probes", name)
	if err != nil {
		return exitUnknown, notFound(err, fmt.Sprintf("probe %q on host %q", name, host))
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		// The original answers 200 with an empty body for a probe the host
		// does not have.
		return exitUnknown, fmt.Errorf("GET %s: probe %q not found on host %q (empty answer)", resp.url, name, host)
	}
	var p *model.ProbeResult
	if err := decodeJSON(resp, &p, "a probe result"); err != nil {
		return exitUnknown, err
	}
	if p == nil || (p.Name == "" && p.Status == 0 && p.Message == "") {
		return exitUnknown, fmt.Errorf("GET %s: the answer is not a probe result: %s", resp.url, snippet(resp.body))
	}
	if p.Name == "" {
		p.Name = name
	}
	if out.json {
		out.raw(resp.body)
	} else {
		out.probe(host, p)
	}
	return statusExit(p.Status, fmt.Sprintf("GET %s: probe %q has no valid status (%d)", resp.url, name, p.Status))
}

// showLogs prints GET /api/logs, narrowed and paged as asked.
func showLogs(ctx context.Context, c *client, out *output, o *options) (int, error) {
	q := url.Values{}
	if o.logHost != "" {
		// The original reads the host filter from "hostname"; "host" is
		// sent too so a server that names it plainly filters as well. Each
		// ignores the parameter it does not know.
		q.Set("hostname", o.logHost)
		q.Set("host", o.logHost)
	}
	if o.logGroup != "" {
		q.Set("group", o.logGroup)
	}
	if o.logProbe != "" {
		q.Set("probe", o.logProbe)
	}
	if o.logLimit > 0 {
		q.Set("limit", strconv.Itoa(o.logLimit))
	}
	if o.logOffset > 0 {
		q.Set("offset", strconv.Itoa(o.logOffset))
	}
	resp, err := c.get(ctx, q, "logs")
	if err != nil {
		return exitUnknown, notFound(err, "the log")
	}
	var entries []model.LogEntry
	if err := decodeJSON(resp, &entries, "a list of log entries"); err != nil {
		return exitUnknown, err
	}
	if out.json {
		out.raw(resp.body)
	} else {
		out.logs(entries)
	}
	return exitOK, nil
}

// statusExit is the exit code for a status; a status that is no status at
// all is UNKNOWN, and why goes to stderr.
func statusExit(status int, unknownWhy string) (int, error) {
	code := exitCode(status)
	if code == exitUnknown {
		return code, errors.New(unknownWhy)
	}
	return code, nil
}

// notFound rewords a 404 as the thing that is missing; the original answers
// 404 with an empty body, which says nothing by itself.
func notFound(err error, what string) error {
	var he *httpError
	if errors.As(err, &he) && he.code == http.StatusNotFound {
		return fmt.Errorf("GET %s: %s not found (%s)%s", he.url, what, he.status, bodyNote(he.body))
	}
	return err
}

// decodeJSON decodes an answer into v, telling "not JSON at all" (an HTML
// error page, a proxy) apart from "JSON of the wrong shape".
func decodeJSON(resp *response, v any, what string) error {
	body := bytes.TrimSpace(resp.body)
	if len(body) == 0 {
		return fmt.Errorf("GET %s: empty answer, expected %s", resp.url, what)
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		ct := resp.contentType
		if ct == "" {
			ct = "none"
		}
		return fmt.Errorf("GET %s: the answer is not JSON (%v; Content-Type %s): %s", resp.url, err, clean(ct), snippet(body))
	}
	return fmt.Errorf("GET %s: the answer is not %s: %v", resp.url, what, err)
}

// decodeWigo decodes a whole-instance document and checks it has the one
// thing every Wigo document has, its own host.
func decodeWigo(resp *response) (*model.Wigo, error) {
	var w *model.Wigo
	if err := decodeJSON(resp, &w, "a Wigo document"); err != nil {
		return nil, err
	}
	if w == nil || w.LocalHost == nil {
		return nil, fmt.Errorf("GET %s: the answer has no LocalHost, so it is not a Wigo document (is -H pointing at a Wigo?): %s", resp.url, snippet(resp.body))
	}
	return w, nil
}

// probeList names a host's probes for a "not found" message.
func probeList(h *model.Host) string {
	if h == nil {
		return "none"
	}
	var names []string
	for k := range h.Probes {
		names = append(names, clean(k))
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ackView is an acknowledgement as the API answers it.
type ackView struct {
	Host, Probe, Author, Comment string
	Status                       int
	Sticky                       bool
	Time                         time.Time
}

func (a ackView) target() string {
	if a.Probe == "" {
		return a.Host
	}
	return a.Host + "/" + a.Probe
}

// changeAck acknowledges (POST) or un-acknowledges (DELETE) a host's or a
// probe's problem.
func changeAck(ctx context.Context, c *client, out *output, o *options) (int, error) {
	var resp *response
	var err error
	if o.cmd == cmdAck {
		form := url.Values{}
		if o.probeName != "" {
			form.Set("probe", o.probeName)
		}
		if o.ackComment != "" {
			form.Set("comment", o.ackComment)
		}
		if o.ackSticky {
			form.Set("sticky", "true")
		}
		if o.ackExpires != "" {
			form.Set("expires", o.ackExpires)
		}
		resp, err = c.do(ctx, http.MethodPost, nil, form, "hosts", o.hostArg, "ack")
	} else {
		var q url.Values
		if o.probeName != "" {
			q = url.Values{"probe": {o.probeName}}
		}
		resp, err = c.do(ctx, http.MethodDelete, q, nil, "hosts", o.hostArg, "ack")
	}
	if err != nil {
		return exitUnknown, err
	}
	if out.json {
		out.raw(resp.body)
		return exitOK, nil
	}
	var a ackView
	if o.cmd == cmdAck {
		if err := decodeJSON(resp, &a, "an acknowledgement"); err != nil {
			return exitUnknown, err
		}
		fmt.Fprintf(out.w, "acknowledged %s (%s) as %s\n", a.target(), model.StatusName(a.Status), a.Author)
		return exitOK, nil
	}
	var removed struct{ Removed ackView }
	if err := decodeJSON(resp, &removed, "a removed acknowledgement"); err != nil {
		return exitUnknown, err
	}
	fmt.Fprintf(out.w, "acknowledgement of %s by %s removed\n", removed.Removed.target(), removed.Removed.Author)
	return exitOK, nil
}

// showAcks prints GET /api/acks.
func showAcks(ctx context.Context, c *client, out *output) (int, error) {
	resp, err := c.get(ctx, nil, "acks")
	if err != nil {
		return exitUnknown, notFound(err, "the acknowledgements")
	}
	var l struct{ Acks []ackView }
	if err := decodeJSON(resp, &l, "a list of acknowledgements"); err != nil {
		return exitUnknown, err
	}
	if out.json {
		out.raw(resp.body)
		return exitOK, nil
	}
	if len(l.Acks) == 0 {
		fmt.Fprintln(out.w, "no acknowledgements")
	}
	for _, a := range l.Acks {
		line := fmt.Sprintf("%s  %s  by %s since %s", a.target(), model.StatusName(a.Status), a.Author, a.Time.Local().Format("2006-01-02 15:04"))
		if a.Sticky {
			line += " (sticky)"
		}
		if a.Comment != "" {
			line += ": " + a.Comment
		}
		fmt.Fprintln(out.w, line)
	}
	return exitOK, nil
}

// silenceView is a silence as the API answers it.
type silenceView struct {
	ID                                  string `json:"Id"`
	Host, Group, Probe, Author, Comment string
	Start, End                          time.Time
}

// matches says what the silence matches, as the dashboard does.
func (s silenceView) matches() string {
	var m []string
	for _, kv := range [][2]string{{"host", s.Host}, {"group", s.Group}, {"probe", s.Probe}} {
		if kv[1] != "" {
			m = append(m, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(m, " ")
}

// changeSilence sets (POST /api/silences), extends (POST
// /api/silences/ID) or expires (DELETE /api/silences/ID) a silence.
func changeSilence(ctx context.Context, c *client, out *output, o *options) (int, error) {
	var resp *response
	var err error
	form := url.Values{}
	for k, v := range map[string]string{"duration": o.silFor, "end": o.silUntil} {
		if v != "" {
			form.Set(k, v)
		}
	}
	switch o.cmd {
	case cmdSilence:
		for k, v := range map[string]string{"host": o.logHost, "group": o.logGroup, "probe": o.logProbe,
			"start": o.silStart, "comment": o.ackComment} {
			if v != "" {
				form.Set(k, v)
			}
		}
		resp, err = c.do(ctx, http.MethodPost, nil, form, "silences")
	case cmdSilenceExtend:
		resp, err = c.do(ctx, http.MethodPost, nil, form, "silences", o.silenceID)
	default:
		resp, err = c.do(ctx, http.MethodDelete, nil, nil, "silences", o.silenceID)
	}
	if err != nil {
		return exitUnknown, err
	}
	if out.json {
		out.raw(resp.body)
		return exitOK, nil
	}
	if o.cmd == cmdUnsilence {
		var expired struct{ Expired silenceView }
		if err := decodeJSON(resp, &expired, "an expired silence"); err != nil {
			return exitUnknown, err
		}
		fmt.Fprintf(out.w, "silence %s (%s) expired\n", expired.Expired.ID, expired.Expired.matches())
		return exitOK, nil
	}
	var s silenceView
	if err := decodeJSON(resp, &s, "a silence"); err != nil {
		return exitUnknown, err
	}
	fmt.Fprintf(out.w, "silence %s (%s) until %s\n", s.ID, s.matches(), s.End.Local().Format("2006-01-02 15:04"))
	return exitOK, nil
}

// showSilences prints GET /api/silences.
func showSilences(ctx context.Context, c *client, out *output) (int, error) {
	resp, err := c.get(ctx, nil, "silences")
	if err != nil {
		return exitUnknown, notFound(err, "the silences")
	}
	var l struct{ Silences []silenceView }
	if err := decodeJSON(resp, &l, "a list of silences"); err != nil {
		return exitUnknown, err
	}
	if out.json {
		out.raw(resp.body)
		return exitOK, nil
	}
	if len(l.Silences) == 0 {
		fmt.Fprintln(out.w, "no silences")
	}
	for _, s := range l.Silences {
		line := fmt.Sprintf("%s  %s  %s to %s  by %s", s.ID, s.matches(), s.Start.Local().Format("2006-01-02 15:04"),
			s.End.Local().Format("2006-01-02 15:04"), s.Author)
		if s.Comment != "" {
			line += ": " + s.Comment
		}
		fmt.Fprintln(out.w, line)
	}
	return exitOK, nil
}

// controlProbe runs, disables, enables or sets the interval of one of an
// instance's probes.
func controlProbe(ctx context.Context, c *client, out *output, o *options) (int, error) {
	form := url.Values{}
	action := map[cmdKind]string{cmdRun: "run", cmdDisable: "disable", cmdEnable: "enable", cmdInterval: "interval"}[o.cmd]
	if o.cmd == cmdInterval {
		// The instance checks the number and says what it wants.
		form.Set("interval", o.target)
	}
	if o.cmd == cmdDisable {
		form.Set("reason", o.ackComment)
		if o.silFor != "" {
			form.Set("for", o.silFor)
		}
		if o.silUntil != "" {
			form.Set("until", o.silUntil)
		}
	}
	resp, err := c.do(ctx, http.MethodPost, nil, form, "hosts", o.hostArg, "probes", o.probeName, action)
	if err != nil {
		return exitUnknown, err
	}
	if out.json {
		out.raw(resp.body)
		return exitOK, nil
	}
	switch o.cmd {
	case cmdRun:
		fmt.Fprintf(out.w, "%s/%s: running\n", o.hostArg, o.probeName)
	case cmdEnable:
		fmt.Fprintf(out.w, "%s/%s: enabled, running\n", o.hostArg, o.probeName)
	case cmdInterval:
		var p struct {
			Interval         float64
			IntervalOverride *struct{ By string } `json:"interval_override"`
		}
		if err := decodeJSON(resp, &p, "a probe's schedule"); err != nil {
			return exitUnknown, err
		}
		how := "its directory's"
		if p.IntervalOverride != nil {
			how = "set by " + p.IntervalOverride.By
		}
		fmt.Fprintf(out.w, "%s/%s: every %gs (%s)\n", o.hostArg, o.probeName, p.Interval, how)
	default:
		var h struct {
			Reason, By string
			Until      time.Time
		}
		if err := decodeJSON(resp, &h, "a disabled probe"); err != nil {
			return exitUnknown, err
		}
		until := "until enabled"
		if !h.Until.IsZero() {
			until = "until " + h.Until.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(out.w, "%s/%s: disabled by %s %s: %s\n", o.hostArg, o.probeName, h.By, until, h.Reason)
	}
	return exitOK, nil
}

// simplePost makes a change that answers nothing worth printing but done.
func simplePost(ctx context.Context, c *client, out *output, done string, path ...string) (int, error) {
	resp, err := c.do(ctx, http.MethodPost, nil, url.Values{}, path...)
	if err != nil {
		return exitUnknown, err
	}
	if out.json {
		out.raw(resp.body)
		return exitOK, nil
	}
	fmt.Fprintln(out.w, done)
	return exitOK, nil
}
