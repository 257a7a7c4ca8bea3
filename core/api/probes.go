package api

import (
	"context"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/wigo-project/wigo/core/probe"
)

// ProbeControl runs and disables the local probes (core/probe's Manager).
type ProbeControl interface {
	Probes() []probe.Scheduled
	RunNow(ctx context.Context, name string) error
	Disable(h probe.Hold) error
	Enable(ctx context.Context, name, by string) (bool, error)
}

// scheduleList answers GET /api/hosts/:host/schedule.
type scheduleList struct {
	Probes []scheduled `json:"probes"`
}

// scheduled is one probe's schedule as the API answers it.
type scheduled struct {
	Name     string  `json:"name"`
	Interval float64 `json:"interval"` // seconds
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

// localControl returns the probe controls when :hostname is this
// instance: a remote host's probes are its own instance's to control.
func (s *server) localControl(r *http.Request) (ProbeControl, error) {
	if s.probes == nil {
		return nil, errorf(http.StatusServiceUnavailable, "this instance runs no probes")
	}
	name := r.PathValue("hostname")
	if name != s.state.Local().Name {
		if _, ok := s.state.FindHost(name); ok {
			return nil, errorf(http.StatusNotImplemented, "host %q is a remote host: its probes are run by its own instance; control them there (forwarding is not built yet)", truncate(name, 80))
		}
		return nil, errorf(http.StatusNotFound, "host %q not found", truncate(name, 80))
	}
	return s.probes, nil
}

// getSchedule answers GET /api/hosts/:host/schedule: every local probe's
// interval, next and last run, and whether it is disabled (by itself, or
// by whom, why and until when).
func (s *server) getSchedule(r *http.Request) (any, error) {
	pc, err := s.localControl(r)
	if err != nil {
		return nil, err
	}
	out := scheduleList{Probes: []scheduled{}}
	for _, p := range pc.Probes() {
		out.Probes = append(out.Probes, scheduled{Name: p.Name, Interval: p.Interval.Seconds(), Next: p.Next, LastRun: p.LastRun,
			LastDuration: p.LastDuration.Seconds(), Running: p.Running, ExitDisabled: p.DisabledBy, Disabled: p.Hold})
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
	pc, err := s.localControl(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("probe")
	if err := pc.RunNow(r.Context(), name); err != nil {
		return nil, controlError(err, name)
	}
	s.log.Info("probe run on request", "probe", name, "by", author(r), "remote", r.RemoteAddr)
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
	pc, err := s.localControl(r)
	if err != nil {
		return nil, err
	}
	if err := r.ParseForm(); err != nil {
		return nil, errorf(http.StatusBadRequest, "cannot read the form: %v", err)
	}
	now := s.state.Now()
	h := probe.Hold{Probe: r.PathValue("probe"), Reason: r.Form.Get("reason"), By: author(r), Since: now}
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
		h.Until = now.Add(d)
	case u != "":
		t, err := time.Parse(time.RFC3339, u)
		if err != nil || !t.After(now) || t.Sub(now) > maxHold {
			return nil, errorf(http.StatusBadRequest, "until=%q: want an RFC 3339 time within a year from now", truncate(u, 40))
		}
		h.Until = t
	}
	if err := pc.Disable(h); err != nil {
		return nil, controlError(err, h.Probe)
	}
	// The hold is stored; what the probe last showed is too, once this
	// answers (a kill -9 now loses neither).
	if err := s.durable(r); err != nil {
		return nil, err
	}
	s.log.Info("probe disabled", "probe", h.Probe, "reason", h.Reason, "until", h.Until, "by", h.By, "remote", r.RemoteAddr)
	until := "until enabled"
	if !h.Until.IsZero() {
		until = "until " + h.Until.UTC().Format(time.RFC3339)
	}
	s.record(r, "", h.Probe, "Probe "+h.Probe+" disabled "+until+": "+h.Reason)
	return h, nil
}

// postEnable answers POST /api/hosts/:host/probes/:probe/enable: the
// probe is run again at once.
func (s *server) postEnable(r *http.Request) (any, error) {
	pc, err := s.localControl(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("probe")
	ok, err := pc.Enable(r.Context(), name, author(r))
	if err != nil {
		return nil, controlError(err, name)
	}
	if !ok {
		return nil, errorf(http.StatusConflict, "probe %q is not disabled", truncate(name, 80))
	}
	s.log.Info("probe enabled", "probe", name, "by", author(r), "remote", r.RemoteAddr)
	s.record(r, "", name, "Probe "+name+" enabled")
	return map[string]string{"enabled": name}, nil
}
