package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

func silences(t *testing.T, base string) []event.Silence {
	t.Helper()
	var l struct{ Silences []event.Silence }
	getJSON(t, base+"/api/silences", &l)
	return l.Silences
}

// A silence set from wigocli holds back every change of what it matches,
// and the log says which silence; it survives a kill -9; when it is
// expired, what changed meanwhile is notified once, as it is then. A
// problem that came and went within a silence is not replayed. Each step
// counts exactly what the receiver got.
func TestSilence(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, "notify \"http\" {\n  url = \""+hookSrv.URL+"/hook\"\n}\n")
	r := start(t, env)
	logs := "host=e2e-host&probe=flip"
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	cli := func(args ...string) string { t.Helper(); return wigocli(t, env.url, args...) }

	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	setProbe(t, env, 300)
	sent(1, "the problem")

	silencesURL := env.url + "/api/silences"
	soon := time.Now().Add(time.Hour).Format(time.RFC3339)
	for _, bad := range []url.Values{
		{"duration": {"2h"}}, // no matcher
		{"host": {"e2e-*"}},  // no end
		{"host": {"e2e-*"}, "duration": {"30s"}},
		{"host": {"e2e-*"}, "duration": {"9000h"}},
		{"host": {"e2e-*"}, "duration": {"two hours"}},
		{"host": {"e2e-*"}, "duration": {"2h"}, "end": {soon}},
		{"host": {"e2e-*"}, "start": {time.Now().Add(2 * time.Hour).Format(time.RFC3339)}, "end": {soon}},
		{"host": {"e2e-*"}, "start": {"tomorrow"}, "duration": {"2h"}},
		{"host": {"e2e\x01"}, "duration": {"2h"}},
		{"host": {strings.Repeat("x", 201)}, "duration": {"2h"}},
		{"host": {"e2e-*"}, "duration": {"2h"}, "comment": {strings.Repeat("x", 1001)}},
	} {
		if code, body := change(t, http.MethodPost, silencesURL, bad); code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("POST /api/silences %v: %d %s, want 400 with a sentence", bad, code, truncateForLog(body))
		}
	}
	if code, _ := change(t, http.MethodDelete, silencesURL+"/nope", nil); code != http.StatusNotFound {
		t.Errorf("DELETE of an unknown silence: %d, want 404", code)
	}
	if s := silences(t, env.url); len(s) != 0 {
		t.Fatalf("refused silences were stored: %+v", s)
	}

	out := cli("silence", "-host", "e2e-*", "-probe", "fl*", "-for", "2h", "-comment", "disk swap")
	m := regexp.MustCompile(`^silence ([0-9a-f-]{36}) \(host=e2e-\* probe=fl\*\) until `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("wigocli silence: %q", out)
	}
	id := m[1]
	held := "not notified: silence " + id + " by local: disk swap"
	awaitLogRows(t, env.url, "host=", "silence "+id+" set by local", 1)
	setProbe(t, env, 400)
	awaitLogRows(t, env.url, logs, held, 1)
	setProbe(t, env, 500)
	awaitLogRows(t, env.url, logs, held, 2)
	sent(1, "changes under a silence")

	// A kill -9 forgets neither the silence nor what it held back.
	r.kill9()
	r = start(t, env)
	defer r.stop(t)
	waitFor(t, env.url, 15*time.Second, func(*model.Wigo) bool { return true })
	if s := silences(t, env.url); len(s) != 1 || s[0].ID != id || s[0].Comment != "disk swap" ||
		s[0].End.Before(time.Now().Add(119*time.Minute)) {
		t.Fatalf("silences after a kill -9: %+v, want %s for 2 h", s, id)
	}
	if out := cli("silences"); !strings.HasPrefix(out, id+"  host=e2e-* probe=fl*  ") || !strings.HasSuffix(out, "by local: disk swap\n") {
		t.Errorf("wigocli silences: %q", out)
	}
	setProbe(t, env, 200)
	awaitLogRows(t, env.url, logs, held, 3)
	sent(1, "a change under the silence after the restart")
	metricsHave(t, env.url, "wigo_silences 1\n", "wigo_notifications_held_back_total{reason=\"silenced\"} 1\n")

	// The held-back view lists them across the fleet, with the reason.
	var heldRows []model.LogEntry
	getJSON(t, env.url+"/api/held?reason=silenced", &heldRows)
	if len(heldRows) != 3 {
		t.Errorf("GET /api/held?reason=silenced: %d rows, want the 3 held-back changes: %+v", len(heldRows), heldRows)
	}
	for _, row := range heldRows {
		if row.HeldBack != "silenced" || row.Probe != "flip" || !strings.Contains(row.Message, held) {
			t.Errorf("held-back row %+v, want flip's, silenced by %s", row, id)
		}
	}
	if rows := logRows(t, env.url, "host=e2e-host&probe=flip"); len(rows) < 4 || rows[len(rows)-1].HeldBack != "" {
		t.Errorf("the log's first row (the notified problem) carries HeldBack %q", rows[len(rows)-1].HeldBack)
	}

	// Expired: one notification of how it is now, against what was
	// notified before the silence.
	if out := cli("unsilence", id); out != "silence "+id+" (host=e2e-* probe=fl*) expired\n" {
		t.Errorf("wigocli unsilence: %q", out)
	}
	sent(2, "the end of the silence")
	hook.mu.Lock()
	if n := hook.got[1]; n.Kind != "current_state" || n.OldStatus != 300 || n.NewStatus != 200 || n.Probe != "flip" {
		t.Errorf("end of the silence notified as %+v, want current_state of flip 300 -> 200", n)
	}
	hook.mu.Unlock()
	awaitLogRows(t, env.url, logs, "is WARN (200) after silence "+id, 1)
	if s := silences(t, env.url); len(s) != 0 {
		t.Fatalf("silences after unsilence: %+v", s)
	}

	// A problem that comes and goes within a silence is not replayed.
	code, body := change(t, http.MethodPost, silencesURL, url.Values{"host": {"e2e-host"}, "duration": {"1h"}})
	if code != 200 {
		t.Fatalf("second silence: %d %s", code, body)
	}
	var second event.Silence
	if err := json.Unmarshal([]byte(body), &second); err != nil {
		t.Fatal(err)
	}
	setProbe(t, env, 500)
	setProbe(t, env, 200)
	awaitLogRows(t, env.url, logs, "not notified: silence "+second.ID, 2)
	// Extended, then expired.
	if out := cli("silence", "extend", second.ID, "-for", "3h"); !strings.HasPrefix(out, "silence "+second.ID+" (host=e2e-host) until ") {
		t.Errorf("wigocli silence extend: %q", out)
	}
	if s := silences(t, env.url); len(s) != 1 || s[0].End.Before(time.Now().Add(179*time.Minute)) {
		t.Errorf("after extend: %+v, want it to end in 3 h", s)
	}
	if code, body := change(t, http.MethodDelete, silencesURL+"/"+second.ID, nil); code != 200 {
		t.Fatalf("expire: %d %s", code, body)
	}
	awaitLogRows(t, env.url, "host=", "silence "+second.ID+" (host=e2e-host) expired by local", 1)
	sent(2, "the end of a silence under which the problem came and went")
	// After it, changes are notified again.
	setProbe(t, env, 300)
	sent(3, "a change after the silences")
}
