package main

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// countedProbe counts its runs in its message ("run N"), so each run is
// seen where its result arrives.
const countedProbe = "#!/bin/sh\nn=$(cat \"$0.n\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$0.n\"; echo \"{\\\"Status\\\":100,\\\"Message\\\":\\\"run $n\\\"}\"\n"

// controlPassword is the password of the master's users.
const controlPassword = "a long password"

// withUsers gives a master env an operator (olga) and a viewer (vic);
// requests without credentials read, as a viewer.
func withUsers(t *testing.T, env daemonEnv) {
	t.Helper()
	hash, stderr, code := runWigo(t, controlPassword+"\n", "passwd")
	if code != 0 {
		t.Fatalf("wigo passwd: %d %s", code, stderr)
	}
	hash = strings.TrimSpace(hash)
	appendConfig(t, env, fmt.Sprintf(`
user "olga" {
  password_hash = %q
  role          = "operator"
}
user "vic" {
  password_hash = %q
  role          = "viewer"
}
`, hash, hash))
	writeFile(t, filepath.Join(env.dir, "wigo.d", "anonymous.hcl"), "http {\n  anonymous_role = \"viewer\"\n}\n", 0o644)
}

// as is base with user's credentials in it.
func as(base, user string) string {
	return strings.Replace(base, "http://", "http://"+user+":"+url.PathEscape(controlPassword)+"@", 1)
}

// operatorToken creates an operator's API token in env's store.
func operatorToken(t *testing.T, env daemonEnv, name string) string {
	t.Helper()
	out, errOut, code := runWigo(t, "", "-c", env.config, "token", "create", "-name", name, "-role", "operator")
	if code != 0 || !strings.HasPrefix(out, "wigo_") {
		t.Fatalf("wigo token create: %d %q %s", code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// remoteRuns is the message of the probe "counted" of host as the master
// at base shows it.
func remoteRuns(w *model.Wigo, host string) string {
	sub, _ := find(w, host)
	return runsOf(sub)
}

// controlRemote drives the probe "counted" of the remote host through the
// master's API, as its operator: run now (with wigocli), disable for a
// minute (on the remote's clock clk: it ends by itself) and disable then
// enable again; each result is on the master within 2 s of the answer;
// then its interval is overridden to a second (runs follow) and cleared.
// A viewer is refused, an unknown probe is a 404, the disabling shows in
// the master's schedule of the host, and the master's log says who did
// what.
func controlRemote(t *testing.T, master daemonEnv, host, by string, clk *testClock) {
	t.Helper()
	op := as(master.url, "olga")
	probeURL := op + "/api/hosts/" + host + "/probes/counted/"
	waitFor(t, master.url, 30*time.Second, func(w *model.Wigo) bool { return remoteRuns(w, host) == "run 1" })

	out, code := cliAs(t, master.url, nil, "-u", "olga", "-p", controlPassword, "run", host, "counted")
	if code != 0 || out != host+"/counted: running\n" {
		t.Fatalf("wigocli run %s counted on the master: %d %q", host, code, out)
	}
	waitFor(t, master.url, 2*time.Second, func(w *model.Wigo) bool { return remoteRuns(w, host) == "run 2" })

	code, body := change(t, http.MethodPost, probeURL+"disable", url.Values{"reason": {"disk swap"}, "for": {"1m"}})
	if code != http.StatusOK || !strings.Contains(body, `"by":"`+by+`"`) || !strings.Contains(body, `"reason":"disk swap"`) {
		t.Fatalf("disable for 1m: %d %s, want 200 by %q", code, body, by)
	}
	var sched struct {
		Probes []struct {
			Name     string
			Disabled *struct{ Reason, By string }
		}
	}
	getJSON(t, master.url+"/api/hosts/"+host+"/schedule", &sched)
	disabled := false
	for _, p := range sched.Probes {
		disabled = disabled || (p.Name == "counted" && p.Disabled != nil && p.Disabled.Reason == "disk swap" && p.Disabled.By == by)
	}
	if !disabled {
		t.Errorf("the master's schedule of %s while disabled: %+v", host, sched)
	}
	if code, body := change(t, http.MethodPost, probeURL+"run", nil); code != http.StatusConflict || !strings.Contains(body, "disabled") {
		t.Errorf("run now while disabled: %d %s, want 409", code, body)
	}
	clk.add(t, time.Minute)
	waitFor(t, master.url, 2*time.Second, func(w *model.Wigo) bool { return remoteRuns(w, host) == "run 3" })

	if code, body := change(t, http.MethodPost, probeURL+"disable", url.Values{"reason": {"noisy"}}); code != http.StatusOK {
		t.Fatalf("disable until enabled: %d %s", code, body)
	}
	if code, body := change(t, http.MethodPost, probeURL+"enable", nil); code != http.StatusOK || body != "{\"enabled\":\"counted\"}\n" {
		t.Fatalf("enable: %d %q", code, body)
	}
	waitFor(t, master.url, 2*time.Second, func(w *model.Wigo) bool { return remoteRuns(w, host) == "run 4" })

	if code, body := change(t, http.MethodPost, as(master.url, "vic")+"/api/hosts/"+host+"/probes/counted/run", nil); code != http.StatusForbidden ||
		!strings.Contains(body, "vic has the viewer role; this needs operator") {
		t.Errorf("a viewer running the remote probe: %d %s, want 403", code, body)
	}
	if code, body := change(t, http.MethodPost, op+"/api/hosts/"+host+"/probes/nope/run", nil); code != http.StatusNotFound || !strings.Contains(body, host) {
		t.Errorf("run of an unknown remote probe: %d %s, want 404", code, body)
	}
	awaitLogRows(t, master.url, "host="+host+"&probe=counted", "Probe counted of "+host+" disabled for 1m0s: disk swap by olga", 1)
	awaitLogRows(t, master.url, "host="+host+"&probe=counted", "Probe counted of "+host+" enabled by olga", 1)
	if got := remoteRuns(waitFor(t, master.url, time.Second, func(*model.Wigo) bool { return true }), host); got != "run 4" {
		t.Errorf("the viewer's and the unknown probe's refusals ran something: %s", got)
	}

	// Every second instead of every hour, until cleared: two more runs
	// reach the master, the master's schedule of the host shows it.
	code, body = change(t, http.MethodPost, probeURL+"interval", url.Values{"interval": {"1"}})
	if code != http.StatusOK || !strings.Contains(body, `"interval":1,`) || !strings.Contains(body, `"by":"`+by+`"`) {
		t.Fatalf("interval 1: %d %s, want 200 by %q", code, body, by)
	}
	waitFor(t, master.url, 5*time.Second, func(w *model.Wigo) bool { return remoteRuns(w, host) == "run 6" })
	var every struct {
		Probes []struct {
			Name             string
			Interval         float64
			IntervalOverride *struct{ By string } `json:"interval_override"`
		}
	}
	getJSON(t, master.url+"/api/hosts/"+host+"/schedule", &every)
	overridden := false
	for _, p := range every.Probes {
		overridden = overridden || (p.Name == "counted" && p.Interval == 1 && p.IntervalOverride != nil && p.IntervalOverride.By == by)
	}
	if !overridden {
		t.Errorf("the master's schedule of %s with the override: %+v", host, every)
	}
	if code, body := change(t, http.MethodPost, probeURL+"interval", url.Values{"clear": {"true"}}); code != http.StatusOK ||
		!strings.Contains(body, `"interval":3600,`) || strings.Contains(body, "interval_override") {
		t.Errorf("clear the interval: %d %s", code, body)
	}
	awaitLogRows(t, master.url, "host="+host+"&probe=counted", "Probe counted of "+host+" interval set to 1s by olga", 1)
	awaitLogRows(t, master.url, "host="+host+"&probe=counted", "Probe counted of "+host+" interval override cleared by olga", 1)
}

// A master pulling two remotes (and running a push server, which the core
// asks first) runs, disables for a minute and enables again a probe of
// the one that allows it (http.remote_control, the
// master holding an operator's token of it), each result on the master
// within 2 s; the other, which does not allow it, refuses with 403 and
// says how to allow it.
func TestRemoteProbeControlPull(t *testing.T) {
	leaf, closed, master := pullEnv(t, "leaf"), pullEnv(t, "closed"), pullEnv(t, "top")
	clk := useClock(t, &leaf, time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	remotes := ""
	for _, rm := range []daemonEnv{leaf, closed} {
		writeFile(t, filepath.Join(rm.dir, "probes", "3600", "counted"), countedProbe, 0o755)
		allow := rm.dir == leaf.dir
		writeFile(t, filepath.Join(rm.dir, "wigo.d", "control.hcl"), fmt.Sprintf("http {\n  login = \"root\"\n  password = \"root-pw\"\n  remote_control = %t\n}\n", allow), 0o600)
		tokenFile := filepath.Join(master.dir, filepath.Base(rm.dir)+".token")
		writeFile(t, tokenFile, operatorToken(t, rm, "master")+"\n", 0o600)
		remotes += fmt.Sprintf("  remote %q {\n    login = \"root\"\n    password = \"root-pw\"\n    control_token_file = %q\n  }\n", rm.addr(), tokenFile)
	}
	// A push server too, asked first: the core goes on to the transport
	// that learned the host.
	appendConfig(t, master, pushServerBlock(master.dir, freePort(t), true))
	appendConfig(t, master, "transport \"pull\" {\n  check_interval = 1\n"+remotes+"}\n")
	withUsers(t, master)
	for _, e := range []daemonEnv{leaf, closed, master} {
		defer start(t, e).stop(t)
	}

	controlRemote(t, master, "leaf", "olga through token:master", clk)
	waitFor(t, master.url, 30*time.Second, func(w *model.Wigo) bool { return remoteRuns(w, "closed") == "run 1" })
	code, body := change(t, http.MethodPost, as(master.url, "olga")+"/api/hosts/closed/probes/counted/run", nil)
	if code != http.StatusForbidden || !strings.Contains(body, `remote host \"closed\"`) || !strings.Contains(body, "set remote_control = true in its http block") {
		t.Errorf("run on a remote that does not allow it: %d %s, want 403 saying how to allow it", code, body)
	}
}

// A push master runs, disables for a minute and enables again a probe of
// a client that allows it (allow_remote_control in its client block, its
// HTTP server off), over the client's own connection, each result on the master within 2 s; a
// client that does not allow it is refused with 403 at once.
func TestRemoteProbeControlPush(t *testing.T) {
	port := freePort(t)
	master := pushDaemon(t, "pm", pushServerBlock(t.TempDir(), port, true))
	withUsers(t, master)
	open, closed := pushDaemon(t, "open", ""), pushDaemon(t, "closed", "")
	clk := useClock(t, &open, time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	for _, c := range []daemonEnv{open, closed} {
		writeFile(t, filepath.Join(c.dir, "probes", "3600", "counted"), countedProbe, 0o755)
		block := pushClientBlock(c.dir, port)
		if c.dir == open.dir {
			block = regexp.MustCompile(`push_interval = 1\n`).ReplaceAllString(block, "push_interval = 1\n    allow_remote_control = true\n")
			// A client nobody reaches: no HTTP server, its API still
			// carries out what the master asks.
			writeFile(t, filepath.Join(c.dir, "wigo.d", "nohttp.hcl"), "http {\n  enabled = false\n}\n", 0o644)
		}
		appendFile(t, c.config, block)
	}
	for _, e := range []daemonEnv{master, open, closed} {
		defer start(t, e).stop(t)
	}

	controlRemote(t, master, "open", "olga through the push master", clk)
	waitFor(t, master.url, 30*time.Second, func(w *model.Wigo) bool { return remoteRuns(w, "closed") == "run 1" })
	code, body := change(t, http.MethodPost, as(master.url, "olga")+"/api/hosts/closed/probes/counted/run", nil)
	if code != http.StatusForbidden || !strings.Contains(body, "does not allow remote control: set allow_remote_control = true in its client block") {
		t.Errorf("run on a client that does not allow it: %d %s, want 403 saying how to allow it", code, body)
	}
}
