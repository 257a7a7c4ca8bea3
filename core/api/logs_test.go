package api

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wigo-project/wigo/core/model"
)

// logMessages decodes a logs answer into its messages, in answer order.
func logMessages(t *testing.T, v any) []string {
	t.Helper()
	rows, ok := v.([]any)
	if !ok {
		t.Fatalf("logs answer %v is not an array", v)
	}
	out := []string{}
	for _, r := range rows {
		out = append(out, r.(map[string]any)["Message"].(string))
	}
	return out
}

func TestLogRoutesAnswerRealRows(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	msg := func(i int) string { return fixtureLogs[i].Message }
	for _, tc := range []struct {
		route string
		want  []string // newest first
	}{
		{"/api/logs", []string{msg(3), msg(2), msg(1), msg(0)}},
		{"/api/logs?host=leaf-1", []string{msg(3), msg(2), msg(0)}},
		{"/api/logs?hostname=leaf-1&probe=warn", []string{msg(2)}},
		{"/api/logs?host=leaf-1&hostname=leaf-1", []string{msg(3), msg(2), msg(0)}},
		{"/api/logs?group=infra", []string{msg(1)}},
		{"/api/logs?probe=nope", []string{}},
		{"/api/logs?host=nope", []string{}}, // a filter, not a lookup
		{"/api/logs?limit=2&offset=1", []string{msg(2), msg(1)}},
		{"/api/logs?limit=&offset=", []string{msg(3), msg(2), msg(1), msg(0)}},
		{"/api/groups/web/logs", []string{msg(3), msg(2), msg(0)}},
		{"/api/groups/web/probes/load/logs", []string{msg(0)}},
		{"/api/hosts/leaf-1/logs", []string{msg(3), msg(2), msg(0)}},
		{"/api/hosts/leaf-1/logs?limit=1&offset=1", []string{msg(2)}},
		{"/api/hosts/leaf-1/logs?offset=50", []string{}}, // past the end is not a 404
		{"/api/hosts/master-1/logs", []string{msg(1)}},
		{"/api/hosts/leaf-1/probes/warn/logs", []string{msg(2)}},
		{"/api/probes/crit/logs", []string{msg(1)}},
	} {
		t.Run(tc.route, func(t *testing.T) {
			w := serve(h, get(tc.route))
			if got := logMessages(t, mustJSON(t, w, 200)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
			if strings.TrimSpace(w.Body.String()) == "null" {
				t.Error("answered null")
			}
		})
	}

	// A full row, as the README documents it.
	got := mustJSON(t, serve(h, get("/api/hosts/leaf-1/probes/warn/logs")), 200).([]any)[0]
	want := decodeAny(t, []byte(readmeLogEntry))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("row = %v\nwant %v", got, want)
	}
}

func TestLogRoutesNotFound(t *testing.T) {
	st, _ := newFixtureState(t)
	// gone-1 was removed from the state but its history stays readable.
	rows := append(slices.Clone(fixtureLogs), model.LogEntry{Timestamp: 1795602000, Level: model.LogCritical,
		Message: "Probe disk switched from 100 to 300 : full", Host: "gone-1", Probe: "disk", Group: "old"})
	h := New(Options{State: st, Logs: newStore(t, rows...)})

	for route, sentence := range map[string]string{
		"/api/hosts/nope/logs":                      `host "nope" not found`,
		"/api/hosts/nope/probes/warn/logs":          `host "nope" not found`,
		"/api/hosts/leaf-1/probes/nope/logs":        `probe "nope" not found on host "leaf-1"`,
		"/api/hosts/master-1/probes/warn/logs":      `probe "warn" not found on host "master-1"`,
		"/api/groups/nope/logs":                     `group "nope" not found`,
		"/api/groups/nope/probes/warn/logs":         `group "nope" not found`,
		"/api/groups/infra/probes/warn/logs":        `probe "warn" not found in group "infra"`,
		"/api/probes/nope/logs":                     `probe "nope" not found`,
		"/api/hosts/gone-1/logs?offset=5&limit=abc": "limit must be an integer between 1 and 1000", // validation first
	} {
		status := 404
		if strings.Contains(route, "limit=abc") {
			status = 400
		}
		if msg := wantError(t, serve(h, get(route)), status); !strings.Contains(msg, sentence) {
			t.Errorf("%s: error %q, want it to contain %q", route, msg, sentence)
		}
	}
	for _, route := range []string{"/api/hosts/gone-1/logs", "/api/hosts/gone-1/probes/disk/logs",
		"/api/groups/old/logs", "/api/groups/old/probes/disk/logs", "/api/probes/disk/logs"} {
		if got := logMessages(t, mustJSON(t, serve(h, get(route)), 200)); len(got) != 1 {
			t.Errorf("%s: %q, want gone-1's row", route, got)
		}
	}
	if got := logMessages(t, mustJSON(t, serve(h, get("/api/hosts/gone-1/logs?offset=1")), 200)); len(got) != 0 {
		t.Errorf("past the end of a removed host's log: %q, want []", got)
	}
}

func TestLogPagingValidation(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	for _, route := range []string{"/api/logs", "/api/hosts/leaf-1/logs", "/api/groups/web/logs",
		"/api/probes/warn/logs", "/api/hosts/leaf-1/probes/warn/logs", "/api/groups/web/probes/warn/logs"} {
		for _, bad := range []string{"limit=abc", "limit=-1", "limit=0", "limit=100000", "limit=1001",
			"limit=1.5", "limit=99999999999999999999", "offset=abc", "offset=-1", "offset=1e3"} {
			msg := wantError(t, serve(h, get(route+"?"+bad)), 400)
			field, _, _ := strings.Cut(bad, "=")
			if !strings.HasPrefix(msg, field+" must be") {
				t.Errorf("%s?%s: error %q should say what %s must be", route, bad, msg, field)
			}
		}
	}
	if msg := wantError(t, serve(h, get("/api/logs?host=a&hostname=b")), 400); !strings.Contains(msg, "disagree") {
		t.Errorf("host vs hostname: %q", msg)
	}
	for _, ok := range []string{"limit=1", "limit=1000", "offset=0", "offset=1000000"} {
		mustJSON(t, serve(h, get("/api/logs?"+ok)), 200)
	}
}

func TestLogPaging(t *testing.T) {
	st, _ := newFixtureState(t)
	var rows []model.LogEntry
	for i := range 250 {
		rows = append(rows, model.LogEntry{Timestamp: 1795600000 + int64(i), Level: model.LogWarning,
			Message: fmt.Sprintf("row %03d", i), Host: "leaf-1", Probe: "warn", Group: "web"})
	}
	h := New(Options{State: st, Logs: newStore(t, rows...)})
	want := func(from, n int) []string {
		var out []string
		for i := from; i > from-n && i >= 0; i-- {
			out = append(out, fmt.Sprintf("row %03d", i))
		}
		return out
	}
	for route, w := range map[string][]string{
		"/api/logs":                       want(249, 100), // default limit
		"/api/logs?limit=10":              want(249, 10),
		"/api/logs?limit=10&offset=10":    want(239, 10),
		"/api/logs?limit=1000&offset=245": want(4, 5),
		"/api/hosts/leaf-1/probes/warn/logs?limit=3&offset=100": want(149, 3),
	} {
		if got := logMessages(t, mustJSON(t, serve(h, get(route)), 200)); !slices.Equal(got, w) {
			t.Errorf("%s: got %q\nwant %q", route, got, w)
		}
	}
	if got := logMessages(t, mustJSON(t, serve(h, get("/api/logs?offset=250")), 200)); len(got) != 0 {
		t.Errorf("past the end: %q", got)
	}
}

// TestLogFiltersBoundSafely sends SQL- and LIKE-looking values: they must
// match nothing (filters are exact) and leave the table intact.
func TestLogFiltersBoundSafely(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	for _, v := range []string{"leaf-1' OR '1'='1", `leaf-1" OR 1=1 --`, "%", "_eaf-1", "*",
		"leaf-1'; DROP TABLE logs; --", "leaf-1\x00"} {
		for _, key := range []string{"host", "hostname", "group", "probe"} {
			route := "/api/logs?" + key + "=" + url.QueryEscape(v)
			if got := logMessages(t, mustJSON(t, serve(h, get(route)), 200)); len(got) != 0 {
				t.Errorf("%s matched %q", route, got)
			}
		}
		wantError(t, serve(h, get("/api/hosts/"+url.PathEscape(v)+"/logs")), 404)
		wantError(t, serve(h, get("/api/probes/"+url.PathEscape(v)+"/logs")), 404)
	}
	if got := logMessages(t, mustJSON(t, serve(h, get("/api/logs")), 200)); len(got) != len(fixtureLogs) {
		t.Errorf("after injection attempts the log holds %d rows, want %d", len(got), len(fixtureLogs))
	}
}

func TestLogsWithoutStore(t *testing.T) {
	st, _ := newFixtureState(t)
	h := New(Options{State: st})
	for _, route := range []string{"/api/logs", "/api/logs/indexes", "/api/hosts/leaf-1/logs"} {
		if msg := wantError(t, serve(h, get(route)), 503); !strings.Contains(msg, "log store") {
			t.Errorf("%s: %q", route, msg)
		}
	}
}

func TestLogIndexesNeverNull(t *testing.T) {
	st, _ := newFixtureState(t)
	h := New(Options{State: st, Logs: newStore(t)})
	w := serve(h, get("/api/logs/indexes"))
	mustJSON(t, w, 200)
	if got := strings.TrimSpace(w.Body.String()); got != `{"groups":[],"hosts":[],"probes":[]}` {
		t.Errorf("empty indexes = %s", got)
	}
	w = serve(h, get("/api/logs"))
	if got := strings.TrimSpace(w.Body.String()); got != `[]` {
		t.Errorf("empty log = %s", got)
	}
}
