package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store"
)

// Handlers of the logs routes. They answer real rows, newest first, in the
// original's Log shape (the original always answered [] because its date
// scan failed).

// getLogs answers GET /api/logs, filtered by the host (or, as the original
// named it, hostname), group and probe query parameters, and by level and
// free text (see searchQuery). Unknown values are not an error here: they
// simply match nothing.
func (s *server) getLogs(r *http.Request) (any, error) {
	q, err := searchQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	v := r.URL.Query()
	host, hostname := v.Get("host"), v.Get("hostname")
	if host != "" && hostname != "" && host != hostname {
		return nil, errorf(http.StatusBadRequest, "host %q and hostname %q disagree; give one of them", host, hostname)
	}
	if host == "" {
		host = hostname
	}
	q.Host, q.Group, q.Probe = host, v.Get("group"), v.Get("probe")
	return s.searchLogs(r, q, nil)
}

// getHeld answers GET /api/held: the changes the core's decisions held
// back across the fleet, newest first, each with its reason (HeldBack);
// narrowed by reason (acknowledged, silenced, …), host, group and probe.
func (s *server) getHeld(r *http.Request) (any, error) {
	q, err := searchQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	v := r.URL.Query()
	q.Held, q.HeldBack = true, v.Get("reason")
	q.Host, q.Group, q.Probe = v.Get("host"), v.Get("group"), v.Get("probe")
	return s.searchLogs(r, q, nil)
}

// The scoped logs routes take their host, group and probe from the path
// (plus limit, offset, level and q). A host, group or probe the state does not know is still valid
// while the log has rows for it (a removed host keeps its history); with
// neither, the answer is a 404 naming it.

func (s *server) getGroupLogs(r *http.Request) (any, error) {
	group := r.PathValue("group")
	return s.scopedLogs(r, store.Query{Group: group}, func() bool {
		return slices.Contains(s.state.Groups(), group)
	}, func() *Error { return groupNotFound(group) })
}

func (s *server) getGroupProbeLogs(r *http.Request) (any, error) {
	group, probe := r.PathValue("group"), r.PathValue("probe")
	return s.scopedLogs(r, store.Query{Group: group, Probe: probe}, func() bool {
		for _, h := range s.state.Hosts() {
			if h.Group == group && h.Probes[probe] != nil {
				return true
			}
		}
		return false
	}, func() *Error {
		if !slices.Contains(s.state.Groups(), group) {
			return groupNotFound(group)
		}
		return errorf(http.StatusNotFound, "probe %q not found in group %q", probe, group)
	})
}

func (s *server) getHostLogs(r *http.Request) (any, error) {
	host := r.PathValue("hostname")
	return s.scopedLogs(r, store.Query{Host: host}, func() bool {
		_, ok := s.state.FindHost(host)
		return ok
	}, func() *Error { return hostNotFound(host) })
}

func (s *server) getHostProbeLogs(r *http.Request) (any, error) {
	host, probe := r.PathValue("hostname"), r.PathValue("probe")
	return s.scopedLogs(r, store.Query{Host: host, Probe: probe}, func() bool {
		h, ok := s.state.FindHost(host)
		return ok && h.Probes[probe] != nil
	}, func() *Error {
		if _, ok := s.state.FindHost(host); !ok {
			return hostNotFound(host)
		}
		return probeNotFound(probe, host)
	})
}

func (s *server) getProbeLogs(r *http.Request) (any, error) {
	probe := r.PathValue("probe")
	return s.scopedLogs(r, store.Query{Probe: probe}, func() bool {
		for _, h := range s.state.Hosts() {
			if h.Probes[probe] != nil {
				return true
			}
		}
		return false
	}, func() *Error { return probeNotFound(probe, "") })
}

// scopedLogs runs a scoped query; known says whether the state knows the
// scope, notFound describes it when neither the state nor the log does.
func (s *server) scopedLogs(r *http.Request, scope store.Query, known func() bool, notFound func() *Error) (any, error) {
	q, err := searchQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	q.Host, q.Group, q.Probe = scope.Host, scope.Group, scope.Probe
	if known() {
		return s.searchLogs(r, q, nil)
	}
	return s.searchLogs(r, q, notFound)
}

// searchLogs queries the log. With notFound set, an empty answer means the
// scope may not exist: the log is asked again for any row of it (the page
// may just be past the end) and, if there is none, notFound is answered.
func (s *server) searchLogs(r *http.Request, q store.Query, notFound func() *Error) (any, error) {
	if s.logs == nil {
		return nil, errLogsDisabled
	}
	rows, err := s.logs.Search(r.Context(), q)
	if err != nil {
		return nil, logStoreError("searching the log", err)
	}
	if len(rows) == 0 && notFound != nil {
		if q.Offset > 0 {
			first := q
			first.Limit, first.Offset = 1, 0
			some, err := s.logs.Search(r.Context(), first)
			if err != nil {
				return nil, logStoreError("searching the log", err)
			}
			if len(some) > 0 {
				return []model.LogEntry{}, nil
			}
		}
		return nil, notFound()
	}
	return nonNil(rows), nil
}

// logIndexes is the answer of GET /api/logs/indexes; the lists are never
// null.
type logIndexes struct {
	Groups []string `json:"groups"`
	Hosts  []string `json:"hosts"`
	Probes []string `json:"probes"`
}

func (s *server) getLogIndexes(r *http.Request) (any, error) {
	if s.logs == nil {
		return nil, errLogsDisabled
	}
	groups, hosts, probes, err := s.logs.Indexes(r.Context())
	if err != nil {
		return nil, logStoreError("reading the log's indexes", err)
	}
	return logIndexes{Groups: nonNil(groups), Hosts: nonNil(hosts), Probes: nonNil(probes)}, nil
}

// logStoreError answers a query the store refused as 400 (pageQuery
// validates first, so that means the two packages' rules drifted apart: still
// the caller's input) and any other failure as a 500 whose details go to the
// log only.
func logStoreError(doing string, err error) error {
	if errors.Is(err, store.ErrInvalidQuery) {
		return &Error{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Message: doing + " failed; see the daemon's log", Err: err}
}

var errLogsDisabled = errorf(http.StatusServiceUnavailable, "the log store is not available on this instance")

// pageQuery validates limit and offset. Unlike the original, which silently
// used its defaults for garbage, a bad value is a 400 naming the rule: a
// client asking for 100000 rows should learn it gets at most MaxLimit. An
// empty value (an unfilled form field) means the default.
func pageQuery(v url.Values) (store.Query, error) {
	q := store.Query{Limit: DefaultLimit}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return q, errorf(http.StatusBadRequest, "limit must be an integer between 1 and %d, got %q", MaxLimit, truncate(s, 40))
		}
		q.Limit = n
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, errorf(http.StatusBadRequest, "offset must be a non-negative integer, got %q", truncate(s, 40))
		}
		q.Offset = n
	}
	return q, nil
}

// MaxSearchText caps the q parameter: a search is a few words, and the
// index is asked for every one of them.
const MaxSearchText = 200

// searchQuery is pageQuery plus the log's own filters:
//
//   - level: a status word of the host views (ok, info, warn, crit, error,
//     down, any case) or the original's log level word (notice, warning,
//     critical, emergency); the rows at that level or worse, or only at
//     that level with level_exact=1 (or true);
//   - q: free text searched in the message, host and probe (store.Query.Text);
//   - since, until: RFC 3339 times, the rows dated at or after since and
//     before until.
//
// A word the API does not know is a 400 that lists the ones it does.
func searchQuery(v url.Values) (store.Query, error) {
	q, err := pageQuery(v)
	if err != nil {
		return q, err
	}
	exact := false
	switch s := v.Get("level_exact"); s {
	case "", "0", "false":
	case "1", "true":
		exact = true
	default:
		return q, errorf(http.StatusBadRequest, "level_exact must be 1, true, 0 or false, got %q", truncate(s, 40))
	}
	if word := v.Get("level"); word != "" {
		if q.Levels = logLevels(word, exact); q.Levels == nil {
			return q, errorf(http.StatusBadRequest, "level must be one of ok, info, warn, crit, error, down (or notice, warning, critical, emergency), got %q", truncate(word, 40))
		}
	} else if exact {
		return q, errorf(http.StatusBadRequest, "level_exact needs a level")
	}
	for _, b := range []struct {
		name string
		to   *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(b.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, errorf(http.StatusBadRequest, "%s must be an RFC 3339 time such as 2026-12-04T18:00:00Z, got %q", b.name, truncate(s, 40))
			}
			*b.to = t
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return q, errorf(http.StatusBadRequest, "until (%s) must be after since (%s)", q.Until.Format(time.RFC3339), q.Since.Format(time.RFC3339))
	}
	text := v.Get("q")
	if len(text) > MaxSearchText {
		return q, errorf(http.StatusBadRequest, "q is %d bytes long; a search is at most %d", len(text), MaxSearchText)
	}
	q.Text = strings.TrimSpace(text)
	return q, nil
}

// logLevels lists the log levels the word stands for: the level itself
// with exact, else every level whose status is as bad or worse. nil for a
// word that names no level.
func logLevels(word string, exact bool) []int {
	threshold := 0
	for l := model.LogDebug; l <= model.LogEmergency; l++ {
		st := model.StatusForLogLevel(l)
		if strings.EqualFold(word, model.StatusName(st)) || strings.EqualFold(word, model.LogLevelName(l)) {
			threshold = st
			break
		}
	}
	if threshold == 0 {
		return nil
	}
	var out []int
	for l := model.LogDebug; l <= model.LogEmergency; l++ {
		st := model.StatusForLogLevel(l)
		if exact && model.StatusName(st) == model.StatusName(threshold) || !exact && st >= threshold {
			out = append(out, l)
		}
	}
	return out
}

// truncate keeps echoed input short in error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
