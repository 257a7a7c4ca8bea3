package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// restart starts env's daemon again and waits until it answers.
func restart(t *testing.T, env daemonEnv) *running {
	t.Helper()
	r := start(t, env)
	waitFor(t, env.url, 15*time.Second, func(*model.Wigo) bool { return true })
	return r
}

// awaitSilences waits until GET /api/silences lists n silences and returns
// them.
func awaitSilences(t *testing.T, base string, n int) []event.Silence {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := silences(t, base)
		if len(s) == n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("silences: %+v, want %d", s, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loggedAt returns the times of the log rows matching query that contain
// text, oldest first.
func loggedAt(t *testing.T, base, query, text string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, r := range logRows(t, base, query) {
		if strings.Contains(r.Message, text) {
			out = append([]time.Time{time.Unix(r.Timestamp, 0)}, out...)
		}
	}
	return out
}

// onTime fails unless each of got is at its want (to the second the log
// keeps, and a few seconds late at most: the clock runs on while the
// daemon wakes).
func onTime(t *testing.T, what string, got, want []time.Time) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		d := got[i].Sub(want[i].Truncate(time.Second))
		ok = d >= 0 && d <= 5*time.Second
	}
	if !ok {
		t.Errorf("%s at %v, want at %v", what, got, want)
	}
}

// keepLogs keeps the log rows forever: they are dated by the daemon's
// clock, which these tests set months away from the system's, and pruned
// by the system's.
const keepLogs = "logs {\n  retention_days = 0\n}\n"

// A maintenance window in HCL, on the night the clocks go forward in
// Paris: "Sun 02:00-04:00" opens when the clock jumps to 03:00 CEST and
// closes at 04:00 CEST, one hour; what changed inside reaches the receiver
// once, as it is at the end. A kill -9 inside the window neither loses its
// silence nor sets it twice; one after its end does not reopen it; and a
// window expired early by a person stays expired after a kill -9 inside it.
func TestMaintenanceWindowAtTheSink(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, keepLogs+fmt.Sprintf(`notify "http" {
  url = "%s/hook"
}
maintenance "backups" {
  hosts     = ["e2e-host"]
  schedule  = "Sun 02:00-04:00"
  time_zone = "Europe/Paris"
}
`, hookSrv.URL))
	clk := useClock(t, &env, time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC))
	r := start(t, env)
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	logs := "host=e2e-host&probe=flip"
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	if s := silences(t, env.url); len(s) != 0 {
		t.Fatalf("silences before the window: %+v", s)
	}

	// 02:00 CET never shows: the window opens at 03:00 CEST (01:00 UTC)
	// and closes at 04:00 CEST (02:00 UTC).
	open, closeAt := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC)
	id := "backups.20260329T0100Z.1"
	clk.set(t, open)
	s := awaitSilences(t, env.url, 1)
	if s[0].ID != id || !s[0].Start.Equal(open) || !s[0].End.Equal(closeAt) || s[0].Author != "maintenance" {
		t.Fatalf("maintenance silence %+v, want %s from %s to %s", s[0], id, open, closeAt)
	}
	opened := "silence " + id + " opened by maintenance"
	awaitLogRows(t, env.url, "host=", opened, 1)
	onTime(t, "opened", loggedAt(t, env.url, "host=", opened), []time.Time{open})
	setProbe(t, env, 300)
	held := "not notified: silence " + id
	awaitLogRows(t, env.url, logs, held, 1)
	sent(0, "a change inside the window")

	r.kill9()
	clk.add(t, 20*time.Minute)
	r = restart(t, env)
	if s := silences(t, env.url); len(s) != 1 || s[0].ID != id || !s[0].End.Equal(closeAt) {
		t.Fatalf("silences after a kill -9 inside the window: %+v, want %s alone", s, id)
	}
	setProbe(t, env, 400)
	awaitLogRows(t, env.url, logs, held, 2)
	sent(0, "a change inside the window after the restart")

	clk.set(t, closeAt)
	sent(1, "the end of the window")
	hook.mu.Lock()
	if n := hook.got[0]; n.Kind != string(event.CurrentState) || n.OldStatus != 100 || n.NewStatus != 400 || n.Probe != "flip" {
		t.Errorf("end of the window notified as %+v, want current_state of flip 100 -> 400", n)
	}
	hook.mu.Unlock()
	awaitSilences(t, env.url, 0)
	ended := "silence " + id + " (host=e2e-host) ended"
	awaitLogRows(t, env.url, "host=", ended, 1)
	onTime(t, "ended", loggedAt(t, env.url, "host=", ended), []time.Time{closeAt})

	// A kill -9 after the end: the window is not reopened.
	r.kill9()
	clk.add(t, 10*time.Minute)
	r = restart(t, env)
	setProbe(t, env, 200)
	sent(2, "a change after the window and a restart")
	if s := silences(t, env.url); len(s) != 0 {
		t.Errorf("silences after the window and a restart: %+v", s)
	}
	if n := len(loggedAt(t, env.url, "host=", opened)); n != 1 {
		t.Errorf("the window was opened %d times, want once", n)
	}

	// A week later, in CEST (00:00-02:00 UTC): a person ends the window
	// early; a kill -9 inside it does not reopen it.
	next := time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)
	id = "backups.20260405T0000Z.1"
	clk.set(t, next)
	if s := awaitSilences(t, env.url, 1); s[0].ID != id || !s[0].End.Equal(next.Add(2*time.Hour)) {
		t.Fatalf("next week's window %+v, want %s for 2 h", s[0], id)
	}
	setProbe(t, env, 300)
	awaitLogRows(t, env.url, logs, "not notified: silence "+id, 1)
	if code, body := change(t, http.MethodDelete, env.url+"/api/silences/"+id, nil); code != http.StatusOK {
		t.Fatalf("expire the window early: %d %s", code, body)
	}
	sent(3, "the window expired early")
	r.kill9()
	clk.add(t, 10*time.Minute)
	r = restart(t, env)
	defer r.stop(t)
	setProbe(t, env, 500)
	sent(4, "a change in a window expired early, after a restart")
	if s := silences(t, env.url); len(s) != 0 {
		t.Errorf("a window expired early is open again after a restart: %+v", s)
	}
	hook.mu.Lock()
	if n := hook.got[3]; n.Kind != string(event.ProbeChanged) || n.NewStatus != 500 {
		t.Errorf("change after the window expired early: %+v, want probe_changed to 500", n)
	}
	hook.mu.Unlock()
}

// renotify_every = 3600: a CRIT probe reaches the receiver again as kind
// renotify every hour on the daemon's clock; a kill -9 in between neither
// sends one at once nor loses the rhythm (the next comes an hour after the
// last); once acknowledged, no more.
func TestRenotifyAtTheSink(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, keepLogs+"notify \"http\" {\n  url = \""+hookSrv.URL+"/hook\"\n  renotify_every = 3600\n}\n")
	clk := useClock(t, &env, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	r := start(t, env)
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	logs := "host=e2e-host&probe=flip"
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	setProbe(t, env, 300)
	sent(1, "the problem")
	changed := loggedAt(t, env.url, logs, "switched from 100 to 300")
	if len(changed) != 1 {
		t.Fatalf("the problem logged at %v, want once", changed)
	}
	since := changed[0]
	kinds := func(want ...string) {
		t.Helper()
		hook.mu.Lock()
		defer hook.mu.Unlock()
		for i, k := range want {
			if n := hook.got[i]; n.Kind != k || n.Probe != "flip" {
				t.Errorf("notification %d: %+v, want %s of flip", i+1, n, k)
			}
		}
	}

	clk.set(t, since.Add(time.Hour+time.Second))
	sent(2, "an hour later")
	clk.add(t, time.Hour)
	sent(3, "two hours later")
	kinds("probe_changed", "renotify", "renotify")

	r.kill9()
	clk.add(t, 30*time.Minute)
	r = restart(t, env)
	defer r.stop(t)
	sent(3, "the restart")
	clk.set(t, since.Add(3*time.Hour+time.Second))
	sent(4, "an hour after the last renotify, across the restart")
	kinds("probe_changed", "renotify", "renotify", "renotify")
	still := "is CRIT (300) and still unresolved"
	onTime(t, "renotified", loggedAt(t, env.url, logs, still),
		[]time.Time{since.Add(time.Hour), since.Add(2 * time.Hour), since.Add(3 * time.Hour)})

	if code, body := change(t, http.MethodPost, env.url+"/api/hosts/e2e-host/ack", url.Values{"probe": {"flip"}}); code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, body)
	}
	sent(5, "the acknowledgement")
	clk.add(t, 2*time.Hour)
	// A worse status gets through the acknowledgement: the one
	// notification after it, with no renotify between.
	setProbe(t, env, 500)
	sent(6, "two hours after the ack, then worse")
	kinds("probe_changed", "renotify", "renotify", "renotify", "acknowledged", "probe_changed")
	if n := len(loggedAt(t, env.url, logs, "still unresolved")); n != 3 {
		t.Errorf("%d renotifies logged, want 3 (none once acknowledged)", n)
	}
}

// escalate_after / escalate_to: a problem nobody acknowledged in time
// reaches the second notify-http instance's receiver once, as kind
// escalation, at its time even across a kill -9 before it, and not again
// after another; a problem acknowledged in time never escalates; one
// silenced when its time comes escalates when the silence ends.
func TestEscalationAtTheSink(t *testing.T) {
	first, firstSrv := newSink(t)
	pager, pagerSrv := newSink(t)
	env := newEnv(t, keepLogs+fmt.Sprintf(`notify "http" {
  url            = "%s/hook"
  escalate_after = 1800
  escalate_to    = "pager"
}
notify "pager" {
  plugin    = "notify-http"
  url       = "%s/hook"
  min_level = 600
}
`, firstSrv.URL, pagerSrv.URL))
	clk := useClock(t, &env, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	r := start(t, env)
	sent := func(n, paged int, what string) {
		t.Helper()
		first.exactly(t, env.url, n, what)
		pager.exactly(t, env.url, paged, what)
	}
	logs := "host=e2e-host&probe=flip"
	escalated := "and nobody acknowledged it"
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	setProbe(t, env, 300)
	sent(1, 0, "the problem")
	since := loggedAt(t, env.url, logs, "switched from 100 to 300")[0]

	r.kill9()
	clk.add(t, 10*time.Minute)
	r = restart(t, env)
	sent(1, 0, "a restart before the escalation")
	clk.set(t, since.Add(30*time.Minute+time.Second))
	sent(1, 1, "the escalation")
	pager.mu.Lock()
	if n := pager.got[0]; n.Kind != string(event.Escalation) || n.Probe != "flip" || n.NewStatus != 300 {
		t.Errorf("escalation: %+v, want escalation of flip at 300", n)
	}
	pager.mu.Unlock()
	onTime(t, "escalated", loggedAt(t, env.url, logs, escalated), []time.Time{since.Add(30 * time.Minute)})

	// Once only, across another kill -9.
	r.kill9()
	clk.add(t, time.Hour)
	r = restart(t, env)
	defer r.stop(t)
	setProbe(t, env, 100)
	sent(2, 1, "the recovery, after a restart past the escalation")

	// Acknowledged in time: never escalated.
	setProbe(t, env, 300)
	sent(3, 1, "a second problem")
	if code, body := change(t, http.MethodPost, env.url+"/api/hosts/e2e-host/ack", url.Values{"probe": {"flip"}}); code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, body)
	}
	sent(4, 1, "the acknowledgement")
	clk.add(t, time.Hour)
	setProbe(t, env, 100)
	sent(5, 1, "the recovery of a problem acknowledged in time")

	// Silenced when its time comes: escalated when the silence ends.
	setProbe(t, env, 300)
	sent(6, 1, "a third problem")
	if code, body := change(t, http.MethodPost, env.url+"/api/silences", url.Values{"host": {"e2e-host"}, "duration": {"1h"}}); code != http.StatusOK {
		t.Fatalf("silence: %d %s", code, body)
	}
	si := awaitSilences(t, env.url, 1)[0]
	end := si.End
	clk.add(t, 40*time.Minute)
	awaitLogRows(t, env.url, logs, escalated+" (not notified: silence "+si.ID, 1)
	sent(6, 1, "the escalation's time under a silence")
	clk.set(t, end.Add(time.Second))
	sent(6, 2, "the end of the silence")
	pager.mu.Lock()
	if n := pager.got[1]; n.Kind != string(event.Escalation) || n.NewStatus != 300 {
		t.Errorf("escalation at the silence's end: %+v, want escalation of flip at 300", n)
	}
	pager.mu.Unlock()
	if at := loggedAt(t, env.url, logs, ": escalated"); len(at) != 2 {
		t.Errorf("escalations logged at %v, want 2", at)
	} else {
		onTime(t, "escalated after the silence", at[1:], []time.Time{end})
	}
}
