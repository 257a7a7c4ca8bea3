package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// schedule reads GET /api/hosts/e2e-host/schedule for probe.
func schedule(t *testing.T, base, probe string) map[string]any {
	t.Helper()
	var l struct{ Probes []map[string]any }
	getJSON(t, base+"/api/hosts/e2e-host/schedule", &l)
	for _, p := range l.Probes {
		if p["name"] == probe {
			return p
		}
	}
	t.Fatalf("no %s in the schedule: %v", probe, l.Probes)
	return nil
}

// runs counts the runs of the "counted" probe, as its message says.
func runsOf(w *model.Wigo) string {
	if w == nil || w.LocalHost == nil || w.LocalHost.Probes["counted"] == nil {
		return ""
	}
	return w.LocalHost.Probes["counted"].Message
}

// From wigocli, an operator runs a local probe now (the result shows
// within 2 s, out of its hourly schedule), disables it for a minute on the
// daemon's clock (not run meanwhile, shown in the schedule with who and
// why), the disabling survives a kill -9, and at the end of the minute the
// probe runs again by itself; disabled without end, enable brings it back
// at once.
func TestProbeControl(t *testing.T) {
	env := newEnv(t, "")
	clk := useClock(t, &env, time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	writeFile(t, filepath.Join(env.dir, "probes", "3600", "counted"),
		"#!/bin/sh\nn=$(cat \"$0.n\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$0.n\"; echo \"{\\\"Status\\\":100,\\\"Message\\\":\\\"run $n\\\"}\"\n", 0o755)
	r := start(t, env)
	cli := func(args ...string) string { t.Helper(); return wigocli(t, env.url, args...) }
	waitFor(t, env.url, 15*time.Second, func(w *model.Wigo) bool { return runsOf(w) == "run 1" })

	if out := cli("run", "e2e-host", "counted"); out != "e2e-host/counted: running\n" {
		t.Errorf("wigocli run: %q", out)
	}
	waitFor(t, env.url, 2*time.Second, func(w *model.Wigo) bool { return runsOf(w) == "run 2" })

	out := cli("disable", "e2e-host", "counted", "-comment", "replacing the disk", "-for", "1m")
	if !strings.HasPrefix(out, "e2e-host/counted: disabled by local until 2026-12-04T09:01:") || !strings.HasSuffix(out, ": replacing the disk\n") {
		t.Errorf("wigocli disable: %q", out)
	}
	if d, _ := schedule(t, env.url, "counted")["disabled"].(map[string]any); d == nil || d["reason"] != "replacing the disk" || d["by"] != "local" {
		t.Errorf("schedule while disabled: %v", schedule(t, env.url, "counted"))
	}
	// Who did it, and from where, is in the log.
	awaitLogRows(t, env.url, "probe=counted", "Probe counted run on request by local (from 127.0.0.1)", 1)
	awaitLogRows(t, env.url, "probe=counted", "Probe counted disabled until 2026-12-04T09:01:", 1)
	if code, body := change(t, http.MethodPost, env.url+"/api/hosts/e2e-host/probes/counted/run", nil); code != http.StatusConflict || !strings.Contains(body, "disabled") {
		t.Errorf("run now while disabled: %d %s", code, body)
	}
	for _, bad := range []url.Values{{}, {"reason": {"x"}, "for": {"10s"}}, {"reason": {"x"}, "for": {"soon"}}, {"reason": {"x"}, "for": {"1h"}, "until": {"2027-01-01T00:00:00Z"}}} {
		if code, body := change(t, http.MethodPost, env.url+"/api/hosts/e2e-host/probes/counted/disable", bad); code != http.StatusBadRequest {
			t.Errorf("disable %v: %d %s, want 400", bad, code, body)
		}
	}
	if code, _ := change(t, http.MethodPost, env.url+"/api/hosts/e2e-host/probes/nope/disable", url.Values{"reason": {"x"}}); code != http.StatusNotFound {
		t.Errorf("disable of an unknown probe: %d, want 404", code)
	}

	// An interval override on the disabled probe: shown, not run (the
	// run count below proves it), and not kept by a restart.
	if out := cli("interval", "e2e-host", "counted", "1"); out != "e2e-host/counted: every 1s (set by local)\n" {
		t.Errorf("wigocli interval 1: %q", out)
	}
	if p := schedule(t, env.url, "counted"); p["interval"] != 1.0 || p["interval_override"] == nil {
		t.Errorf("schedule with the override: %v", p)
	}

	// kill -9: still disabled after the restart, the probe not run.
	r.kill9()
	r = start(t, env)
	defer r.stop(t)
	// Its last status is restored (the store keeps statuses, not every
	// run's message).
	waitFor(t, env.url, 15*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "counted") == 100 })
	if d, _ := schedule(t, env.url, "counted")["disabled"].(map[string]any); d == nil {
		t.Fatalf("not disabled after a kill -9: %v", schedule(t, env.url, "counted"))
	}
	if p := schedule(t, env.url, "counted"); p["interval"] != 3600.0 || p["interval_override"] != nil {
		t.Errorf("the interval override outlived a restart: %v", p)
	}

	clk.add(t, time.Minute)
	waitFor(t, env.url, 2*time.Second, func(w *model.Wigo) bool { return runsOf(w) == "run 3" })
	if d := schedule(t, env.url, "counted")["disabled"]; d != nil {
		t.Errorf("still disabled after its minute: %v", d)
	}

	cli("disable", "e2e-host", "counted", "-comment", "noisy")
	if out := cli("enable", "e2e-host", "counted"); out != "e2e-host/counted: enabled, running\n" {
		t.Errorf("wigocli enable: %q", out)
	}
	waitFor(t, env.url, 2*time.Second, func(w *model.Wigo) bool { return runsOf(w) == "run 4" })

	// Every second until cleared, given as JSON.
	req, err := http.NewRequest(http.MethodPost, env.url+"/api/hosts/e2e-host/probes/counted/interval", strings.NewReader(`{"interval": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Wigo-Request", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"directory_interval":3600`) {
		t.Fatalf("interval 1 as JSON: %d %s", resp.StatusCode, body)
	}
	waitFor(t, env.url, 5*time.Second, func(w *model.Wigo) bool { return runsOf(w) == "run 6" })
	if out := cli("interval", "e2e-host", "counted", "clear"); out != "e2e-host/counted: every 3600s (its directory's)\n" {
		t.Errorf("wigocli interval clear: %q", out)
	}
	awaitLogRows(t, env.url, "probe=counted", "Probe counted interval set to 1s by local (from 127.0.0.1)", 1)
}
