package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wigo-project/wigo/core/probe"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/sdk"
)

// ProbeControl runs and disables the local probes (core/probe's Manager).
type ProbeControl interface {
	Probes() []probe.Scheduled
	RunNow(ctx context.Context, name string) error
	Disable(h probe.Hold) error
	Enable(ctx context.Context, name, by string) (bool, error)
	SetInterval(ctx context.Context, o probe.Override) error
	ClearInterval(ctx context.Context, name, by string) (bool, error)
}

// scheduleList answers GET /api/hosts/:host/schedule.
type scheduleList struct {
	Probes []scheduled `json:"probes"`
}

// scheduled is one probe's schedule as the API answers it.
type scheduled struct {
	Name string `json:"name"`
	// Interval is what it runs at, in seconds: its interval_override's
	// when it has one, else its directory's.
	Interval float64 `json:"interval"`
	// IntervalOverride is an operator's interval, absent without one.
	IntervalOverride *intervalOverride `json:"interval_override,omitempty"`
	// Next is its next run; absent while it is disabled without end.
	Next    time.Time `json:"next,omitzero"`
	LastRun time.Time `json:"last_run,omitzero"`
	// LastDuration is the last run's, in seconds.
	LastDuration float64 `json:"last_duration"`
	Running      bool    `json:"running"`
	// ExitDisabled is the exit code (12, 13) with which the probe
	// disabled itself until the daemon restarts; 0 when it did not.
	ExitDisabled int `json:"exit_disabled,omitempty"`
	// Disabled is an operator's disabling, absent without one.
	Disabled *probe.Hold `json:"disabled,omitempty"`
}

// intervalOverride is a probe.Override as the API answers it.
type intervalOverride struct {
	// DirectoryInterval is the interval of the probe's directory, in
	// seconds: what it runs at again once the override is cleared (or
	// the daemon restarts; overrides are not stored).
	DirectoryInterval float64   `json:"directory_interval"`
	By                string    `json:"by"`
	Since             time.Time `json:"since"`
}

// scheduleOf is p as the API answers it.
func scheduleOf(p probe.Scheduled) scheduled {
	out := scheduled{Name: p.Name, Interval: p.Interval.Seconds(), Next: p.Next, LastRun: p.LastRun,
		LastDuration: p.LastDuration.Seconds(), Running: p.Running, ExitDisabled: p.DisabledBy, Disabled: p.Hold}
	if o := p.Override; o != nil {
		out.IntervalOverride = &intervalOverride{DirectoryInterval: p.DirInterval.Seconds(), By: o.By, Since: o.Since}
	}
	return out
}

// ForwardedHeader marks a probe-control request that a master forwards
// to the instance running the host (transport-pull does): its value says
// who asked on the master. An instance carries such requests out only
// with http.remote_control = true, and logs them as that person's,
// through the credentials the master sent.
const ForwardedHeader = "X-Wigo-Forwarded-By"

// RemoteControl forwards probe control on a remote host to the instance
// running it, through the transport that learned the host (the daemon's
// transport plugins). It answers that instance's answer (JSON) or an
// *sdk.ControlError.
type RemoteControl interface {
	Control(ctx context.Context, req sdk.ControlRequest) (json.RawMessage, error)
}

// remoteControlTimeout bounds a forwarded action, the transports' own
// timeouts included.
const remoteControlTimeout = 20 * time.Second

// target is the host a probe-control request is about: this instance
// (local), or a remote host and how to reach it.
type target struct {
	local ProbeControl
	// remote is the host when it is not this instance.
	remote *state.Host
}

// controlTarget finds :hostname. A request forwarded by a master is
// carried out only when this instance allows it (http.remote_control).
func (s *server) controlTarget(r *http.Request) (target, error) {
	if fwd := r.Header.Get(ForwardedHeader); fwd != "" && !s.remoteControl {
		return target{}, errorf(http.StatusForbidden, "this instance (%s) does not accept probe control forwarded by a master: set remote_control = true in its http block to allow it",
			truncate(s.state.Local().Name, 80))
	}
	name := r.PathValue("hostname")
	if name == s.state.Local().Name {
		if s.probes == nil {
			return target{}, errorf(http.StatusServiceUnavailable, "this instance runs no probes")
		}
		return target{local: s.probes}, nil
	}
	h, ok := s.state.FindHost(name)
	if !ok {
		return target{}, errorf(http.StatusNotFound, "host %q not found", truncate(name, 80))
	}
	if s.remote == nil {
		return target{}, errorf(http.StatusNotImplemented, "host %q is a remote host and this instance forwards no probe control: control it on its own instance", truncate(name, 80))
	}
	return target{remote: h}, nil
}

// forward has the instance running t.remote carry out req, and answers
// what it answered. Done, it is logged, and recorded in the log table as
// "Probe P of H <done>" when done is not empty (a read is not).
func (s *server) forward(r *http.Request, t target, req sdk.ControlRequest, done string) (any, error) {
	h := t.remote
	req.Host, req.HostUUID, req.Source = h.Name, h.UUID, h.Source
	req.By = by(r)
	ctx, cancel := context.WithTimeout(r.Context(), remoteControlTimeout)
	defer cancel()
	out, err := s.remote.Control(ctx, req)
	if err != nil {
		return nil, remoteError(h.Name, err)
	}
	if !json.Valid(out) {
		return nil, errorf(http.StatusBadGateway, "remote host %q: its instance answered something that is not JSON", truncate(h.Name, 80))
	}
	if done != "" {
		s.log.Info("remote probe control", "action", req.Action.String(), "host", h.Name, "probe", req.Probe, "reason", req.Reason,
			"for", req.For, "until", req.Until, "by", req.By, "remote", r.RemoteAddr)
		s.record(r, h.Name, req.Probe, "Probe "+req.Probe+" of "+h.Name+" "+done)
	}
	return json.RawMessage(out), nil
}

// remoteError is the answer to a forwarded action that failed: the
// remote's refusal with its sentence, 504 when the time ran out, 502 when
// it could not be reached.
func remoteError(host string, err error) error {
	var ce *sdk.ControlError
	switch {
	case errors.As(err, &ce):
		return errorf(sdk.ControlStatus(ce.Code), "remote host %q: %s", truncate(host, 80), ce.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Err: err,
			Message: fmt.Sprintf("remote host %q did not answer within %v", truncate(host, 80), remoteControlTimeout)}
	}
	return &Error{Status: http.StatusBadGateway, Err: err,
		Message: fmt.Sprintf("remote host %q could not be reached through its transport", truncate(host, 80))}
}

// forwardedBy is who a forwarded request is logged as: who asked on the
// master, through the credentials the master sent.
func forwardedBy(r *http.Request) string {
	fwd := strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return -1
		}
		return c
	}, r.Header.Get(ForwardedHeader))
	return truncate(fwd, 120) + " through " + author(r)
}

// by is who a request is logged as.
func by(r *http.Request) string {
	if r.Header.Get(ForwardedHeader) != "" {
		return forwardedBy(r)
	}
	return author(r)
}

// getSchedule answers GET /api/hosts/:host/schedule: every local probe's
// interval, next and last run, and whether it is disabled (by itself, or
// by whom, why and until when).
func (s *server) getSchedule(r *http.Request) (any, error) {
	t, err := s.controlTarget(r)
	if err != nil {
		return nil, err
	}
	if t.remote != nil {
		return s.forward(r, t, sdk.ControlRequest{Action: sdk.ControlSchedule}, "")
	}
	pc := t.local
	out := scheduleList{Probes: []scheduled{}}
	for _, p := range pc.Probes() {
		out.Probes = append(out.Probes, scheduleOf(p))
	}
	return out, nil
}

func controlError(err error, name string) error {
	switch {
	case errors.Is(err, probe.ErrUnknownProbe):
		return errorf(http.StatusNotFound, "probe %q not found", truncate(name, 80))
	case errors.Is(err, probe.ErrRunning), errors.Is(err, probe.ErrSelfDisabled), errors.Is(err, probe.ErrHeld):
		return errorf(http.StatusConflict, "probe %q: %v", truncate(name, 80), err)
	}
	return err
}

// postRun answers POST /api/hosts/:host/probes/:probe/run: the probe runs
// now; its result comes like any other (GET …/probes/:probe, the
// websocket).
func (s *server) postRun(r *http.Request) (any, error) {
	t, err := s.controlTarget(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("probe")
	if t.remote != nil {
		return s.forward(r, t, sdk.ControlRequest{Probe: name, Action: sdk.ControlRun}, "run on request")
	}
	if err := t.local.RunNow(r.Context(), name); err != nil {
		return nil, controlError(err, name)
	}
	s.log.Info("probe run on request", "probe", name, "by", by(r), "remote", r.RemoteAddr)
	s.record(r, "", name, "Probe "+name+" run on request")
	return map[string]string{"running": name}, nil
}

// maxHold bounds a disabling with an end: a year (without end, leave out
// for and until).
const maxHold = 366 * 24 * time.Hour

// postDisable answers POST /api/hosts/:host/probes/:probe/disable (form:
// reason, required; for, a duration such as 1h or 2d, or until, an RFC 3339
// time; neither: until enabled). It survives a restart.
func (s *server) postDisable(r *http.Request) (any, error) {
	t, err := s.controlTarget(r)
	if err != nil {
		return nil, err
	}
	if err := r.ParseForm(); err != nil {
		return nil, errorf(http.StatusBadRequest, "cannot read the form: %v", err)
	}
	now := s.state.Now()
	h := probe.Hold{Probe: r.PathValue("probe"), Reason: r.Form.Get("reason"), By: by(r), Since: now}
	var lasting time.Duration
	if h.Reason == "" || !utf8.ValidString(h.Reason) || len(h.Reason) > maxAckComment {
		return nil, errorf(http.StatusBadRequest, "reason: say why, in at most %d bytes of text", maxAckComment)
	}
	switch f, u := r.Form.Get("for"), r.Form.Get("until"); {
	case f != "" && u != "":
		return nil, errorf(http.StatusBadRequest, "give for or until, not both")
	case f != "":
		d, err := ParseLife(f)
		if err != nil || d < time.Minute || d > maxHold {
			return nil, errorf(http.StatusBadRequest, "for=%q: want a duration from 1m to a year, such as 30m, 2h or 7d", truncate(f, 20))
		}
		h.Until, lasting = now.Add(d), d
	case u != "":
		t, err := time.Parse(time.RFC3339, u)
		if err != nil || !t.After(now) || t.Sub(now) > maxHold {
			return nil, errorf(http.StatusBadRequest, "until=%q: want an RFC 3339 time within a year from now", truncate(u, 40))
		}
		h.Until = t
	}
	if t.remote != nil {
		// The remote's own clock counts a duration: it is sent as one.
		req := sdk.ControlRequest{Probe: h.Probe, Action: sdk.ControlDisable, Reason: h.Reason, For: lasting}
		if lasting == 0 {
			req.Until = h.Until
		}
		return s.forward(r, t, req, "disabled "+holdEnd(lasting, req.Until)+": "+h.Reason)
	}
	if err := t.local.Disable(h); err != nil {
		return nil, controlError(err, h.Probe)
	}
	// The hold is stored; what the probe last showed is too, once this
	// answers (a kill -9 now loses neither).
	if err := s.durable(r); err != nil {
		return nil, err
	}
	s.log.Info("probe disabled", "probe", h.Probe, "reason", h.Reason, "until", h.Until, "by", h.By, "remote", r.RemoteAddr)
	s.record(r, "", h.Probe, "Probe "+h.Probe+" disabled "+holdEnd(0, h.Until)+": "+h.Reason)
	return h, nil
}

// holdEnd says how long a disabling lasts, for the log.
func holdEnd(lasting time.Duration, until time.Time) string {
	switch {
	case lasting > 0:
		return "for " + lasting.String()
	case !until.IsZero():
		return "until " + until.UTC().Format(time.RFC3339)
	}
	return "until enabled"
}

// postEnable answers POST /api/hosts/:host/probes/:probe/enable: the
// probe is run again at once.
func (s *server) postEnable(r *http.Request) (any, error) {
	t, err := s.controlTarget(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("probe")
	if t.remote != nil {
		return s.forward(r, t, sdk.ControlRequest{Probe: name, Action: sdk.ControlEnable}, "enabled")
	}
	ok, err := t.local.Enable(r.Context(), name, by(r))
	if err != nil {
		return nil, controlError(err, name)
	}
	if !ok {
		return nil, errorf(http.StatusConflict, "probe %q is not disabled", truncate(name, 80))
	}
	s.log.Info("probe enabled", "probe", name, "by", by(r), "remote", r.RemoteAddr)
	s.record(r, "", name, "Probe "+name+" enabled")
	return map[string]string{"enabled": name}, nil
}

// maxControlBody bounds a probe-control request's JSON body: a few fields.
const maxControlBody = 4 << 10

// readControlForm reads a probe-control request's parameters into
// r.Form: a form (query or urlencoded body), or a JSON object of strings,
// numbers and booleans (Content-Type: application/json).
func readControlForm(w http.ResponseWriter, r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		if err := r.ParseForm(); err != nil {
			return errorf(http.StatusBadRequest, "cannot read the form: %v", err)
		}
		return nil
	}
	var fields map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return errorf(http.StatusBadRequest, "the body is not a JSON object of at most %d bytes: %v", maxControlBody, err)
	}
	r.Form = url.Values{}
	for k, v := range fields {
		switch v := v.(type) {
		case string:
			r.Form.Set(k, v)
		case json.Number:
			r.Form.Set(k, v.String())
		case bool:
			r.Form.Set(k, strconv.FormatBool(v))
		default:
			return errorf(http.StatusBadRequest, "%s: want a string, a number or a boolean", truncate(k, 40))
		}
	}
	return nil
}

// postInterval answers POST /api/hosts/:host/probes/:probe/interval (form
// or JSON: interval, in whole seconds from 1 to 7 days; or clear=true, or
// interval=clear): the probe runs at that interval from its next slot on
// it, until cleared or the daemon restarts (an override is not stored).
// The answer is the probe's schedule (as GET …/schedule lists it).
func (s *server) postInterval(w http.ResponseWriter, r *http.Request) (any, error) {
	t, err := s.controlTarget(r)
	if err != nil {
		return nil, err
	}
	if err := readControlForm(w, r); err != nil {
		return nil, err
	}
	name := r.PathValue("probe")
	iv, clear := r.Form.Get("interval"), r.Form.Get("clear")
	if iv == "clear" {
		iv, clear = "", "true"
	}
	var every time.Duration
	switch cleared, _ := strconv.ParseBool(clear); {
	case iv != "" && clear != "":
		return nil, errorf(http.StatusBadRequest, "give interval or clear, not both")
	case iv != "":
		n, err := strconv.ParseInt(iv, 10, 64)
		if err != nil || n < int64(probe.MinInterval/time.Second) || n > int64(probe.MaxInterval/time.Second) {
			return nil, errorf(http.StatusBadRequest, "interval=%q: want a whole number of seconds from %d to %d, or clear=true",
				truncate(iv, 20), int64(probe.MinInterval/time.Second), int64(probe.MaxInterval/time.Second))
		}
		every = time.Duration(n) * time.Second
	case !cleared:
		return nil, errorf(http.StatusBadRequest, "give interval, in seconds, or clear=true")
	}
	done := "interval override cleared"
	if every > 0 {
		done = "interval set to " + every.String()
	}
	if t.remote != nil {
		return s.forward(r, t, sdk.ControlRequest{Probe: name, Action: sdk.ControlInterval, Interval: every}, done)
	}
	who := by(r)
	if every > 0 {
		err = t.local.SetInterval(r.Context(), probe.Override{Probe: name, Interval: every, By: who, Since: s.state.Now()})
	} else {
		var had bool
		had, err = t.local.ClearInterval(r.Context(), name, who)
		if err == nil && !had {
			return nil, errorf(http.StatusConflict, "probe %q has no interval override", truncate(name, 80))
		}
	}
	if err != nil {
		return nil, controlError(err, name)
	}
	s.log.Info("probe "+done, "probe", name, "by", who, "remote", r.RemoteAddr)
	s.record(r, "", name, "Probe "+name+" "+done)
	for _, p := range t.local.Probes() {
		if p.Name == name {
			return scheduleOf(p), nil
		}
	}
	return nil, controlError(probe.ErrUnknownProbe, name)
}
