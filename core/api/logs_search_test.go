package api

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// The log routes filter by level (at least, or exactly) in the host views'
// words or the original's, and by free text over message, host and probe,
// alone or with the other filters; the answer keeps the original's shape.
func TestLogLevelAndTextFilters(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	msg := func(i int) string { return fixtureLogs[i].Message }
	at := func(i int) string {
		return url.QueryEscape(time.Unix(fixtureLogs[i].Timestamp, 0).UTC().Format(time.RFC3339))
	}
	for _, tc := range []struct {
		route string
		want  []string // newest first
	}{
		{"/api/logs?level=crit", []string{msg(3), msg(2), msg(1)}},
		{"/api/logs?level=CRIT&level_exact=1", []string{msg(2), msg(1)}},
		{"/api/logs?level=critical&level_exact=true", []string{msg(2), msg(1)}},
		{"/api/logs?level=down", []string{msg(3)}},
		{"/api/logs?level=emergency", []string{msg(3)}},
		{"/api/logs?level=ok", []string{msg(3), msg(2), msg(1), msg(0)}},
		{"/api/logs?level=ok&level_exact=1", []string{msg(0)}},
		{"/api/logs?level=notice&level_exact=1", []string{msg(0)}},
		{"/api/logs?level=warn&level_exact=1", []string{}},
		{"/api/logs?level=&level_exact=0", []string{msg(3), msg(2), msg(1), msg(0)}},
		{"/api/logs?q=disk", []string{msg(2)}},
		{"/api/logs?q=" + url.QueryEscape("leaf-1"), []string{msg(3), msg(2), msg(0)}},
		{"/api/logs?q=SERV", []string{msg(1)}},
		{"/api/logs?q=" + url.QueryEscape(" disk 99% "), []string{msg(2)}},
		{"/api/logs?q=" + url.QueryEscape(`" OR 1=1 --`), []string{}},
		{"/api/logs?q=load&level=crit", []string{}},
		{"/api/logs?q=leaf&level=crit&level_exact=1&limit=1", []string{msg(2)}},
		{"/api/logs?q=leaf&probe=load", []string{msg(0)}},
		{"/api/logs?since=" + at(1), []string{msg(3), msg(2), msg(1)}},
		{"/api/logs?until=" + at(2), []string{msg(1), msg(0)}},
		{"/api/logs?since=" + at(1) + "&until=" + at(2), []string{msg(1)}},
		{"/api/logs?since=" + at(1) + "&q=leaf", []string{msg(3), msg(2)}},
		{"/api/hosts/leaf-1/logs?q=disk", []string{msg(2)}},
		{"/api/hosts/leaf-1/logs?level=down", []string{msg(3)}},
		{"/api/groups/infra/logs?q=service&level=crit", []string{msg(1)}},
	} {
		t.Run(tc.route, func(t *testing.T) {
			got := mustJSON(t, serve(h, get(tc.route)), 200)
			if m := logMessages(t, got); !slices.Equal(m, tc.want) {
				t.Errorf("got %q\nwant %q", m, tc.want)
			}
			for _, d := range shapeDiff("$", got, []any{decodeAny(t, []byte(readmeLogEntry))}) {
				t.Error(d)
			}
		})
	}
}

// A level or a flag the API does not know, or a search longer than a
// search, is a 400 that says what is allowed.
func TestLogFilterValidation(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	for route, want := range map[string]string{
		"/api/logs?level=fatal":                               "level must be one of ok, info, warn, crit, error, down",
		"/api/logs?level=crit&level_exact=maybe":              "level_exact must be 1, true, 0 or false",
		"/api/logs?level_exact=1":                             "level_exact needs a level",
		"/api/logs?q=" + strings.Repeat("a", MaxSearchText+1): "a search is at most 200",
		"/api/held?level=300":                                 "level must be one of",
	} {
		w := serve(h, get(route))
		body := mustJSON(t, w, 400)
		if e, _ := body.(map[string]any)["error"].(string); !strings.Contains(e, want) {
			t.Errorf("%s: error %q, want it to say %q", route, e, want)
		}
	}
}
