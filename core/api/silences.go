package api

import (
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/wigo-project/wigo/core/event"
)

// Bounds of a silence: long enough to be deliberate, short enough that a
// forgotten one does not mute a host for ever.
const (
	minSilence     = time.Minute
	maxSilence     = 366 * 24 * time.Hour
	maxMatcherSize = 200
)

// silenceList answers GET /api/silences.
type silenceList struct {
	Silences []event.Silence `json:"Silences"`
}

func (s *server) getSilences(r *http.Request) (any, error) {
	if s.decider == nil {
		return nil, errNoDecisions
	}
	return silenceList{Silences: s.decider.Silences()}, nil
}

// postSilence answers POST /api/silences (form or query: host, group, probe
// — patterns with * — start, end or duration, comment): everything that
// matches is held back from start (default now) until end.
func (s *server) postSilence(r *http.Request) (any, error) {
	if s.decider == nil || s.endSilence == nil {
		return nil, errNoDecisions
	}
	if err := r.ParseForm(); err != nil {
		return nil, errorf(http.StatusBadRequest, "cannot read the form: %v", err)
	}
	now := s.state.Now()
	si := event.Silence{ID: uuid.NewString(), Host: r.Form.Get("host"), Group: r.Form.Get("group"),
		Probe: r.Form.Get("probe"), Comment: r.Form.Get("comment"), Author: author(r), Created: now}
	for _, m := range [][2]string{{"host", si.Host}, {"group", si.Group}, {"probe", si.Probe}} {
		if err := checkMatcher(m[0], m[1]); err != nil {
			return nil, err
		}
	}
	if si.Host == "" && si.Group == "" && si.Probe == "" {
		return nil, errorf(http.StatusBadRequest, "a silence needs a host, group or probe to match (host=* silences every host)")
	}
	if !utf8.ValidString(si.Comment) || len(si.Comment) > maxAckComment {
		return nil, errorf(http.StatusBadRequest, "comment: at most %d bytes of UTF-8 text", maxAckComment)
	}
	si.Start = now
	if v := r.Form.Get("start"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "start=%q: want an RFC 3339 time such as 2026-12-24T22:00:00+01:00", truncate(v, 40))
		}
		if t.After(now) {
			// A start in the past is now: a silence does not rewrite what was
			// already notified.
			si.Start = t
		}
	}
	end, err := silenceEnd(r.Form.Get("end"), r.Form.Get("duration"), si.Start)
	if err != nil {
		return nil, err
	}
	si.End = end
	s.state.SetSilence(si, "set")
	if err := s.durable(r); err != nil {
		return nil, err
	}
	s.log.Info("silence set", "id", si.ID, "host", si.Host, "group", si.Group, "probe", si.Probe,
		"end", si.End, "author", si.Author, "remote", r.RemoteAddr)
	return si, nil
}

// postSilenceEnd answers POST /api/silences/:id (form or query: end or
// duration, from now): the silence ends then instead, sooner or later.
func (s *server) postSilenceEnd(r *http.Request) (any, error) {
	si, err := s.silenceOf(r)
	if err != nil {
		return nil, err
	}
	if err := r.ParseForm(); err != nil {
		return nil, errorf(http.StatusBadRequest, "cannot read the form: %v", err)
	}
	now := s.state.Now()
	from := si.Start
	if from.Before(now) {
		from = now
	}
	end, err := silenceEnd(r.Form.Get("end"), r.Form.Get("duration"), from)
	if err != nil {
		return nil, err
	}
	si.End, si.Created, si.Author = end, now, author(r)
	s.state.SetSilence(si, "extended")
	if err := s.durable(r); err != nil {
		return nil, err
	}
	s.log.Info("silence extended", "id", si.ID, "end", si.End, "author", si.Author, "remote", r.RemoteAddr)
	return si, nil
}

// deleteSilence answers DELETE /api/silences/:id: the silence ends now, and
// what it held back that is not as people last heard is notified.
func (s *server) deleteSilence(r *http.Request) (any, error) {
	si, err := s.silenceOf(r)
	if err != nil {
		return nil, err
	}
	who := author(r)
	s.endSilence(si, "expired by "+who)
	if err := s.durable(r); err != nil {
		return nil, err
	}
	s.log.Info("silence expired", "id", si.ID, "author", who, "remote", r.RemoteAddr)
	return map[string]event.Silence{"Expired": si}, nil
}

func (s *server) silenceOf(r *http.Request) (event.Silence, error) {
	if s.decider == nil || s.endSilence == nil {
		return event.Silence{}, errNoDecisions
	}
	id := r.PathValue("id")
	si, ok := s.decider.Silence(id)
	if !ok {
		return si, errorf(http.StatusNotFound, "silence %q not found (ended, or never set)", truncate(id, 40))
	}
	return si, nil
}

// silenceEnd reads end (RFC 3339) or duration ("2h", "90m", "7d" is not
// Go's: use 168h) counted from start, and checks the length.
func silenceEnd(endV, durV string, start time.Time) (time.Time, error) {
	var end time.Time
	switch {
	case endV != "" && durV != "":
		return end, errorf(http.StatusBadRequest, "give end or duration, not both")
	case endV != "":
		t, err := time.Parse(time.RFC3339, endV)
		if err != nil {
			return end, errorf(http.StatusBadRequest, "end=%q: want an RFC 3339 time such as 2026-12-24T23:00:00+01:00", truncate(endV, 40))
		}
		end = t
	case durV != "":
		d, err := time.ParseDuration(durV)
		if err != nil {
			return end, errorf(http.StatusBadRequest, "duration=%q: want a duration such as 2h or 90m", truncate(durV, 40))
		}
		end = start.Add(d)
	default:
		return end, errorf(http.StatusBadRequest, "a silence needs an end or a duration")
	}
	if !end.After(start) {
		return end, errorf(http.StatusBadRequest, "the silence would end (%s) before it starts (%s)",
			end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	if l := end.Sub(start); l < minSilence || l > maxSilence {
		return end, errorf(http.StatusBadRequest, "a silence lasts between a minute and a year, not %s", l.Round(time.Second))
	}
	return end, nil
}

// checkMatcher refuses a matcher that no host, group or probe name could
// be: too long, not text, or with control characters.
func checkMatcher(name, v string) error {
	if len(v) > maxMatcherSize || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return errorf(http.StatusBadRequest, "%s=%q: at most %d bytes of printable text, * for any run of characters",
			name, truncate(v, 40), maxMatcherSize)
	}
	return nil
}
