package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// since returns what the sink received after the first n notifications,
// as "kind host/probe old->new" lines.
func (s *sink) since(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, g := range s.got[n:] {
		out = append(out, fmt.Sprintf("%s %s/%s %d->%d", g.Kind, g.Hostname, g.Probe, g.OldStatus, g.NewStatus))
	}
	return out
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// awaitKind waits for a notification of kind about host that arrived after
// the first n.
func (s *sink) awaitKind(t *testing.T, n int, kind, host string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		s.mu.Lock()
		for _, g := range s.got[n:] {
			if g.Kind == kind && g.Hostname == host {
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("no %s notification for %s within %s; since: %v", kind, host, d, s.since(n))
		}
	}
}

// awaitOutboxEmpty waits until the daemon's outbox holds no pending row:
// everything it decided to notify has been delivered.
func awaitOutboxEmpty(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for pendingNotifications(t, url) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the outbox did not empty within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logRows returns the log rows matching the query string.
func logRows(t *testing.T, url, query string) []model.LogEntry {
	t.Helper()
	resp, err := http.Get(url + "/api/logs?" + query)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var rows []model.LogEntry
	json.NewDecoder(resp.Body).Decode(&rows)
	return rows
}

// awaitLogRows waits until n log rows match query and contain text.
func awaitLogRows(t *testing.T, url, query, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := 0
		for _, r := range logRows(t, url, query) {
			if strings.Contains(r.Message, text) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log rows %q (%s), want %d", got, text, query, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func remoteDoc(w *model.Wigo, name string) *model.Wigo {
	for _, sub := range w.RemoteWigos {
		if sub.Hostname == name {
			return sub
		}
	}
	return nil
}

// A master pulling two remotes (real daemons), one of which stops and is
// DOWN, is restarted: the stopped one is listed DOWN from the first answer,
// the open problems (a CRIT probe on the master and one on the remote that
// still runs) are not sent again, nor is the DOWN, and UP goes out when the
// stopped remote returns. A real HTTP receiver on 127.0.0.1 counts what
// arrives.
func TestMasterRestartKeepsWhatWasNotified(t *testing.T) {
	hook, hookSrv := newSink(t)
	aEnv, bEnv, mEnv := pullEnv(t, "remote-a"), pullEnv(t, "remote-b"), pullEnv(t, "master")
	appendConfig(t, mEnv, fmt.Sprintf(`
notify "http" {
  url = "%s/hook"
}
transport "pull" {
  check_interval = 1
  remotes = [%q, %q]
}
`, hookSrv.URL, aEnv.addr(), bEnv.addr()))
	m, b := restartScenario(t, hook, mEnv, aEnv, bEnv)

	// remote-b goes away for good: an operator removes it. It is gone from
	// /api/hosts and the global status, the log says who removed it, and
	// another restart does not bring it back.
	b.stop(t)
	waitFor(t, mEnv.url, 20*time.Second, func(w *model.Wigo) bool {
		rb := remoteDoc(w, "remote-b")
		return rb != nil && !rb.IsAlive
	})
	if code, body := del(t, mEnv.url+"/api/hosts/remote-b"); code != 200 || !strings.Contains(body, `"Removed":["remote-b"]`) {
		t.Fatalf("DELETE /api/hosts/remote-b: %d %s", code, body)
	}
	if code, _ := del(t, mEnv.url+"/api/hosts/remote-b"); code != 404 {
		t.Errorf("second DELETE: %d, want 404", code)
	}
	awaitLogRows(t, mEnv.url, "host=remote-b", "removed by an operator", 1)
	m.stop(t)
	m3 := start(t, mEnv)
	w := waitFor(t, mEnv.url, 20*time.Second, func(w *model.Wigo) bool { return remoteDoc(w, "remote-a") != nil })
	if remoteDoc(w, "remote-b") != nil || w.GlobalStatus == model.StatusDown {
		t.Errorf("after removal and restart: remote-b %+v, global status %d", remoteDoc(w, "remote-b"), w.GlobalStatus)
	}
	m3.stop(t)
}

// del sends DELETE to url and returns the status and body.
func del(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A change from a script proves it is not a forged browser request.
	req.Header.Set("X-Wigo-Request", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The same with two push clients of a master's push server: the client
// that stopped is listed DOWN after the master's restart, nothing already
// notified is sent again, and UP goes out when it pushes again.
func TestPushMasterRestartKeepsWhatWasNotified(t *testing.T) {
	hook, hookSrv := newSink(t)
	port := freePort(t)
	mEnv := pushDaemon(t, "master", "")
	appendFile(t, mEnv.config, pushServerBlock(mEnv.dir, port, true)+fmt.Sprintf("notify \"http\" {\n  url = \"%s/hook\"\n}\n", hookSrv.URL))
	aEnv, bEnv := pushDaemon(t, "remote-a", ""), pushDaemon(t, "remote-b", "")
	appendFile(t, aEnv.config, pushClientBlock(aEnv.dir, port))
	appendFile(t, bEnv.config, pushClientBlock(bEnv.dir, port))
	m, _ := restartScenario(t, hook, mEnv, aEnv, bEnv)
	m.stop(t)
}

// restartScenario runs the master mEnv and its two remotes aEnv and bEnv
// (pulled or pushing): a CRIT probe on the master and on remote-a, then
// remote-b stops and goes DOWN, then the master restarts, then remote-b
// returns. It checks what the master shows and what the receiver gets, and
// returns the running master and remote-b.
func restartScenario(t *testing.T, hook *sink, mEnv, aEnv, bEnv daemonEnv) (master, remoteB *running) {
	t.Helper()
	for _, env := range []daemonEnv{aEnv, mEnv} {
		writeFile(t, filepath.Join(env.dir, "conf.d", "flip.json"), `{"Status":300,"Message":"broken"}`, 0o644)
	}
	start(t, aEnv)
	b := start(t, bEnv)
	m := start(t, mEnv)

	both := func(w *model.Wigo) bool {
		a, b := remoteDoc(w, "remote-a"), remoteDoc(w, "remote-b")
		return probeStatus(w, "flip") == 300 && a != nil && probeStatus(a, "flip") == 300 && b != nil && b.IsAlive
	}
	waitFor(t, mEnv.url, 30*time.Second, both)
	hook.awaitUnique(t, 2, 30*time.Second, "the two CRIT probes")

	b.stop(t)
	hook.awaitKind(t, 0, "host_down", "remote-b", 30*time.Second)
	awaitOutboxEmpty(t, mEnv.url)
	before := hook.count()
	if got := strings.Join(hook.since(0), "\n"); !strings.Contains(got, "probe_appeared master/flip 0->300") ||
		!strings.Contains(got, "probe_appeared remote-a/flip 0->300") {
		t.Fatalf("before the restart the receiver got:\n%s", got)
	}

	m.stop(t)
	restarted := time.Now()
	m2 := start(t, mEnv)
	// The first answer of the new master already lists remote-b, DOWN.
	first := waitFor(t, mEnv.url, 20*time.Second, func(*model.Wigo) bool { return true })
	rb := remoteDoc(first, "remote-b")
	if rb == nil || rb.IsAlive || rb.GlobalStatus != model.StatusDown {
		t.Fatalf("remote-b right after the restart: %+v", rb)
	}
	if since, err := time.Parse(time.RFC3339, rb.NotHeardSince); err != nil || since.After(restarted) || since.Unix() != rb.LastUpdate {
		t.Errorf("remote-b NotHeardSince = %q (LastUpdate %d), want its last-heard time before the restart", rb.NotHeardSince, rb.LastUpdate)
	}
	if first.GlobalStatus != model.StatusDown {
		t.Errorf("global status right after the restart = %d, want 999", first.GlobalStatus)
	}
	// Let the new master hear everything again: its own probe has run and
	// remote-a has reported since the restart; remote-b is still DOWN.
	waitFor(t, mEnv.url, 30*time.Second, func(w *model.Wigo) bool {
		a, rb := remoteDoc(w, "remote-a"), remoteDoc(w, "remote-b")
		return w.LocalHost.Probes["flip"] != nil && w.LocalHost.Probes["flip"].Timestamp >= restarted.Unix() &&
			a != nil && a.LastUpdate >= restarted.Unix() && probeStatus(a, "flip") == 300 &&
			rb != nil && !rb.IsAlive
	})
	// remote-b returns: UP is sent. Events reach the pipeline in order, so
	// once UP is delivered and the outbox is empty, anything the restart
	// had re-sent would have arrived too.
	b2 := start(t, bEnv)
	hook.awaitKind(t, before, "host_up", "remote-b", 30*time.Second)
	awaitOutboxEmpty(t, mEnv.url)
	if got := hook.since(before); len(got) != 1 || got[0] != "host_up remote-b/ 999->100" {
		t.Errorf("after the restart the receiver got %v, want only [host_up remote-b/ 999->100]", got)
	}
	// Nor is anything logged again for the master's unchanged probe.
	if rows := logRows(t, mEnv.url, "host=master&probe=flip"); len(rows) != 1 {
		t.Errorf("log rows of master/flip: %+v, want the one from before the restart", rows)
	}
	return m2, b2
}

// Eight probes CRIT before a restart and OK after it are each notified and
// logged as a recovery, after a clean stop and after kill -9; a ninth, CRIT
// and deleted while the daemon was stopped, is removed (and that notified)
// rather than kept CRIT forever.
func TestRecoveryAcrossRestart(t *testing.T) {
	for _, how := range []string{"clean stop", "kill -9"} {
		t.Run(how, func(t *testing.T) {
			hook, hookSrv := newSink(t)
			env := newEnv(t, fmt.Sprintf("notify \"http\" {\n  url = \"%s/hook\"\n}\n", hookSrv.URL))
			set := func(status int) {
				for i := range 8 {
					writeFile(t, filepath.Join(env.dir, "conf.d", fmt.Sprintf("p%d.json", i)),
						fmt.Sprintf(`{"Status":%d,"Message":"now %d"}`, status, status), 0o644)
				}
			}
			set(300)
			for i := range 8 {
				writeFile(t, filepath.Join(env.dir, "probes", "1", fmt.Sprintf("p%d", i)),
					fmt.Sprintf("#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/p%d.json\"\n", i), 0o755)
			}
			gone := filepath.Join(env.dir, "probes", "1", "gone")
			writeFile(t, gone, "#!/bin/sh\necho '{\"Status\":300,\"Message\":\"broken\"}'\n", 0o755)
			r := start(t, env)
			hook.awaitUnique(t, 9, 30*time.Second, "the nine CRIT probes")
			// The log rows are committed with the record of the statuses,
			// in the same transaction: once they show, a kill loses neither.
			awaitLogRows(t, env.url, "host=e2e-host", "with status 300", 8)
			if how == "kill -9" {
				r.cmd.Process.Kill()
				<-r.done
			} else {
				r.stop(t)
			}
			set(100)
			if err := os.Remove(gone); err != nil {
				t.Fatal(err)
			}
			before := hook.count()
			r2 := start(t, env)
			hook.awaitUnique(t, 18, 30*time.Second, "the eight recoveries and the removal")
			awaitLogRows(t, env.url, "host=e2e-host", "switched from 300 to 100", 8)
			got := hook.since(before)
			recovered := map[string]bool{}
			for _, g := range got {
				var probe string
				if _, err := fmt.Sscanf(g, "probe_changed e2e-host/%s 300->100", &probe); err == nil {
					recovered[probe] = true
				}
			}
			if len(recovered) != 8 || !slices.Contains(got, "probe_disappeared e2e-host/gone 300->100") {
				t.Errorf("recoveries notified for %d of 8 probes, and the removal of gone; received %v", len(recovered), got)
			}
			waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool {
				return w.LocalHost.Status == model.StatusOK && w.LocalHost.Probes["gone"] == nil
			})
			r2.stop(t)
		})
	}
}
