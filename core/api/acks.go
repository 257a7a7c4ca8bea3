package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/state"
)

// maxAckComment bounds an acknowledgement's comment: it is shown on the
// dashboard and carried by every event it mutes.
const maxAckComment = 1000

var errNoDecisions = errorf(http.StatusServiceUnavailable, "acknowledgements and silences are not enabled on this instance")

// ackList answers GET /api/acks.
type ackList struct {
	Acks []event.Ack `json:"Acks"`
}

// author is who makes a change: the request's identity (core/auth), such
// as a user, "token:NAME", or "local" for this machine without credentials.
func author(r *http.Request) string {
	if id, ok := auth.FromRequest(r); ok {
		return id.Name
	}
	return "anonymous"
}

func (s *server) getAcks(r *http.Request) (any, error) {
	if s.decider == nil {
		return nil, errNoDecisions
	}
	return ackList{Acks: s.decider.Acks()}, nil
}

// postAck answers POST /api/hosts/:hostname/ack (form or query: probe,
// comment, sticky, expires): the host's or the probe's current problem is
// acknowledged; its notifications are held back while it does not get
// worse. 404 for an unknown host or probe, 409 when it is OK.
func (s *server) postAck(r *http.Request) (any, error) {
	if s.decider == nil {
		return nil, errNoDecisions
	}
	if err := r.ParseForm(); err != nil {
		return nil, errorf(http.StatusBadRequest, "cannot read the form: %v", err)
	}
	a := event.Ack{Host: r.PathValue("hostname"), Probe: r.Form.Get("probe"), Comment: r.Form.Get("comment"), Author: author(r)}
	if !utf8.ValidString(a.Comment) || len(a.Comment) > maxAckComment {
		return nil, errorf(http.StatusBadRequest, "comment: at most %d bytes of UTF-8 text", maxAckComment)
	}
	if v := r.Form.Get("expires"); v != "" {
		t, err := ackExpiry(v, s.state.Now())
		if err != nil {
			return nil, err
		}
		a.Expires = t
	}
	if v := r.Form.Get("sticky"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "sticky=%q: want true or false", truncate(v, 20))
		}
		a.Sticky = b
	}
	a, err := s.state.Acknowledge(a)
	switch {
	case errors.Is(err, state.ErrNoSuchHost):
		return nil, hostNotFound(a.Host)
	case errors.Is(err, state.ErrNoSuchProbe):
		return nil, errorf(http.StatusNotFound, "probe %q not found on host %q", a.Probe, a.Host)
	case errors.Is(err, state.ErrNothingToAck):
		return nil, errorf(http.StatusConflict, "%s is OK: there is no problem to acknowledge", a.Target())
	case err != nil:
		return nil, err
	}
	if err := s.durable(r); err != nil {
		return nil, err
	}
	s.log.Info("acknowledged", "target", a.Target(), "status", a.Status, "author", a.Author, "remote", r.RemoteAddr)
	return a, nil
}

// ackExpiry reads expires: a duration from now ("2h", "90m") or an RFC 3339
// time, between a minute and a year ahead.
func ackExpiry(v string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		d, derr := time.ParseDuration(v)
		if derr != nil {
			return time.Time{}, errorf(http.StatusBadRequest, "expires=%q: want a duration such as 2h or an RFC 3339 time", truncate(v, 40))
		}
		t = now.Add(d)
	}
	if t.Before(now.Add(time.Minute)) || t.After(now.AddDate(1, 0, 0)) {
		return time.Time{}, errorf(http.StatusBadRequest, "expires=%q: an acknowledgement lasts between a minute and a year", truncate(v, 40))
	}
	return t, nil
}

// deleteAck answers DELETE /api/hosts/:hostname/ack (query: probe).
func (s *server) deleteAck(r *http.Request) (any, error) {
	if s.decider == nil {
		return nil, errNoDecisions
	}
	name, probe := r.PathValue("hostname"), r.URL.Query().Get("probe")
	uuid := ""
	if h, ok := s.state.FindHost(name); ok {
		uuid = h.UUID
	}
	a, ok := s.decider.Ack(uuid, name, probe)
	if !ok {
		target := name
		if probe != "" {
			target += "/" + probe
		}
		return nil, errorf(http.StatusNotFound, "%s is not acknowledged", target)
	}
	s.state.Unacknowledge(a, author(r))
	if err := s.durable(r); err != nil {
		return nil, err
	}
	s.log.Info("acknowledgement removed", "target", a.Target(), "author", author(r), "remote", r.RemoteAddr)
	return map[string]event.Ack{"Removed": a}, nil
}

// durable waits until the change just published is committed.
func (s *server) durable(r *http.Request) error {
	if s.flush == nil {
		return nil
	}
	if err := s.flush(r.Context()); err != nil {
		return errorf(http.StatusServiceUnavailable, "the change is made but not yet stored: %v", err)
	}
	return nil
}
