package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// pushDaemon is a daemon env named hostname with a transport "push" block.
func pushDaemon(t *testing.T, hostname, block string) daemonEnv {
	t.Helper()
	env := newEnv(t, "")
	b, err := os.ReadFile(env.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), `hostname = "e2e-host"`, fmt.Sprintf("hostname = %q", hostname), 1)
	writeFile(t, env.config, cfg+"\nalive_timeout = 5\n"+block, 0o644)
	return env
}

func pushServerBlock(dir string, port int, autoAccept bool) string {
	return fmt.Sprintf(`
transport "push" {
  server {
    address              = "127.0.0.1"
    port                 = %d
    tls_cert             = %q
    tls_key              = %q
    ca                   = %q
    allowed_clients_file = %q
    auto_accept          = %t
  }
}
`, port, filepath.Join(dir, "ssl", "wigo.crt"), filepath.Join(dir, "ssl", "wigo.key"), filepath.Join(dir, "ssl", "ca"),
		filepath.Join(dir, "data", "allowed_clients"), autoAccept)
}

func pushClientBlock(dir string, port int) string {
	return fmt.Sprintf(`
transport "push" {
  client {
    address       = "127.0.0.1"
    port          = %d
    master_cert   = %q
    uuid_sig      = %q
    push_interval = 1
  }
}
`, port, filepath.Join(dir, "data", "master.crt"), filepath.Join(dir, "data", "uuid.sig"))
}

// remoteProbe returns the status of probe on the remote host named host in
// w, 0 when absent.
func remoteProbe(w *model.Wigo, host, probe string) int {
	for _, r := range w.RemoteWigos {
		if r.Hostname == host || (r.LocalHost != nil && r.LocalHost.Name == host) {
			return probeStatus(r, probe)
		}
	}
	return 0
}

// TestPushLeafToMid: a leaf daemon pushes to a mid daemon over TLS through
// the real transport-push binaries; the leaf's probe and its changes show
// in the mid's /api; a mid stopped for a while and restarted receives the
// changes made meanwhile.
func TestPushLeafToMid(t *testing.T) {
	port := freePort(t)
	mid := pushDaemon(t, "mid", "")
	appendFile(t, mid.config, pushServerBlock(mid.dir, port, true))
	leaf := pushDaemon(t, "leaf", "")
	appendFile(t, leaf.config, pushClientBlock(leaf.dir, port))

	lr := start(t, leaf) // before its master: it must connect once the master is up
	mr := start(t, mid)
	waitFor(t, mid.url, 30*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") == 100 })
	setProbe(t, leaf, 300)
	waitFor(t, mid.url, 15*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") == 300 })

	// While the master is away the leaf changes three times; each change
	// reaches the master once it is back, in order (its log has a row for
	// each), not only the last state.
	mr.stop(t)
	for _, st := range []int{250, 200, 400} {
		setProbe(t, leaf, st)
		waitFor(t, leaf.url, 15*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == st })
	}
	mr2 := start(t, mid)
	waitFor(t, mid.url, 30*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") == 400 })
	// The log is written in batches: wait for the last row.
	want := "switched from 100 to 300, switched from 300 to 250, switched from 250 to 200, switched from 200 to 400"
	var changes []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var rows []model.LogEntry
		if resp, err := http.Get(mid.url + "/api/logs?host=leaf"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&rows)
			resp.Body.Close()
		}
		changes = nil
		for i := len(rows) - 1; i >= 0; i-- { // newest first in the API
			m := rows[i].Message
			if at, end := strings.Index(m, "switched from"), strings.Index(m, " :"); at >= 0 && end > at {
				changes = append(changes, m[at:end])
			}
		}
		if strings.Join(changes, ", ") == want {
			break
		}
	}
	if got := strings.Join(changes, ", "); got != want {
		t.Fatalf("changes logged by the master:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(lr.logs.String(), "master certificate pinned on first contact") {
		t.Error("the leaf did not log pinning the master certificate")
	}
	mr2.stop(t)
	lr.stop(t)
}

// TestPushApprovalThroughTheAPI: an unknown leaf waits until approved with
// POST /api/authority/hosts/{uuid}/allow; once revoked it is refused; the
// allowed list survives a restart of the master.
func TestPushApprovalThroughTheAPI(t *testing.T) {
	port := freePort(t)
	hook, hookSrv := newSink(t)
	mid := pushDaemon(t, "mid", "")
	appendFile(t, mid.config, pushServerBlock(mid.dir, port, false)+fmt.Sprintf(`
notify "http" {
  url = "%s/hook"
}
`, hookSrv.URL))
	leaf := pushDaemon(t, "leaf", "")
	appendFile(t, leaf.config, pushClientBlock(leaf.dir, port))
	mr := start(t, mid)
	waitFor(t, mid.url, 15*time.Second, func(*model.Wigo) bool { return true })
	if code := awaitAuthority(t, mid.url); code != http.StatusOK {
		mr.stop(t) // gracefully: a killed daemon leaves its plugins behind
		t.Fatalf("mid's authority answered %d", code)
	}
	lr := start(t, leaf)

	var uuid string
	deadline := time.Now().Add(20 * time.Second)
	for uuid == "" && time.Now().Before(deadline) {
		_, list := authority(t, mid.url, http.MethodGet, "")
		for id, host := range list.Waiting {
			if host == "leaf" {
				uuid = id
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if uuid == "" {
		t.Fatal("the leaf never showed in the waiting list")
	}
	// The core raised client_waiting: the master's log table has a row
	// naming the waiting client.
	var logs []model.LogEntry
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		logs = nil
		if resp, err := http.Get(mid.url + "/api/logs"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&logs)
			resp.Body.Close()
		}
		if waitingRow(logs, uuid) {
			break
		}
	}
	if !waitingRow(logs, uuid) {
		t.Fatalf("no log row for the waiting client %s: %+v", uuid, logs)
	}
	// ...and notified it (on_host_change is on by default) through the
	// real notify-http plugin.
	for deadline := time.After(20 * time.Second); ; {
		select {
		case n := <-hook.arrived:
			if !strings.Contains(n.Message, "waiting for approval") || !strings.Contains(n.Message, uuid) {
				continue // another notification (the master's own probe)
			}
		case <-deadline:
			t.Fatalf("no notification for the waiting client; received %+v", hook.got)
		}
		break
	}
	if code, _ := authority(t, mid.url, http.MethodPost, "/"+uuid+"/allow"); code != http.StatusOK {
		t.Fatalf("allow answered %d", code)
	}
	waitFor(t, mid.url, 20*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") == 100 })

	mr.stop(t)
	mr = start(t, mid)
	waitFor(t, mid.url, 15*time.Second, func(*model.Wigo) bool { return true })
	awaitAuthority(t, mid.url)
	if _, list := authority(t, mid.url, http.MethodGet, ""); list.Allowed[uuid] != "leaf" {
		t.Fatalf("allowed list after restart: %+v", list)
	}
	setProbe(t, leaf, 300)
	waitFor(t, mid.url, 20*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") == 300 })

	if code, _ := authority(t, mid.url, http.MethodPost, "/"+uuid+"/revoke"); code != http.StatusOK {
		t.Fatalf("revoke answered %d", code)
	}
	setProbe(t, leaf, 200)
	time.Sleep(3 * time.Second)
	waitFor(t, mid.url, time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") != 200 })
	if !strings.Contains(mr.logs.String(), "push client refused") {
		t.Error("no refusal in the master's log after revocation")
	}
	lr.stop(t)
	mr.stop(t)
}

type authorityList struct {
	Waiting map[string]string `json:"waiting"`
	Allowed map[string]string `json:"allowed"`
}

// awaitAuthority waits for the push server's authority to answer: plugins
// start beside the daemon's API, which says 503 until then.
func awaitAuthority(t *testing.T, base string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _ := authority(t, base, http.MethodGet, "")
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return code
		}
		time.Sleep(50 * time.Millisecond) // another process: its API is the only window
	}
}

func authority(t *testing.T, base, method, suffix string) (int, authorityList) {
	t.Helper()
	req, err := http.NewRequest(method, base+"/api/authority/hosts"+suffix, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What a script sends with a change (see SECURITY.md).
	req.Header.Set("X-Wigo-Request", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var l authorityList
	_ = json.Unmarshal(b, &l)
	return resp.StatusCode, l
}

func appendFile(t *testing.T, path, extra string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
}

// waitingRow reports whether logs has the client_waiting row of the push
// client uuid (host "leaf").
func waitingRow(logs []model.LogEntry, uuid string) bool {
	for _, l := range logs {
		if l.Host == "leaf" && strings.Contains(l.Message, uuid) && strings.Contains(l.Message, "waiting for approval") {
			return true
		}
	}
	return false
}

// The push plugin's paths are relative to the file that sets them, not to
// the daemon's working directory: a client whose master_cert and uuid_sig
// are relative, started from "/", pins the master's certificate, keeps its
// key and stores its signature next to its configuration. (They landed
// under "/" before.)
func TestPushRelativePaths(t *testing.T) {
	port := freePort(t)
	master := pushDaemon(t, "master", "")
	appendFile(t, master.config, pushServerBlock(master.dir, port, true))
	leaf := pushDaemon(t, "leaf", "")
	// A name of its own, so that a build resolving against the working
	// directory writes where this test can clean up.
	rel := fmt.Sprintf("push-state-%d", port)
	t.Cleanup(func() { os.RemoveAll(filepath.Join("/", rel)) })
	appendFile(t, leaf.config, fmt.Sprintf(`
transport "push" {
  client {
    address       = "127.0.0.1"
    port          = %d
    master_cert   = "%s/master.crt"
    uuid_sig      = "%s/uuid.sig"
    push_interval = 1
  }
}
`, port, rel, rel))

	start(t, master)
	startIn(t, leaf, "/")
	waitFor(t, master.url, 30*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") == 100 })
	for _, f := range []string{"master.crt", "uuid.sig", "push_client.key"} {
		if _, err := os.Stat(filepath.Join(leaf.dir, rel, f)); err != nil {
			t.Errorf("%s is not next to the configuration: %v", f, err)
		}
		if _, err := os.Stat(filepath.Join("/", rel, f)); err == nil {
			t.Errorf("%s was written under the working directory /", f)
		}
	}
}

// With a login configured, the waiting list (UUIDs a thief would race for)
// is refused without credentials, like every route; with them it lists the
// waiting client.
func TestWaitingListNeedsCredentials(t *testing.T) {
	port := freePort(t)
	mid := pushDaemon(t, "mid", "")
	b, err := os.ReadFile(mid.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "http {\n", "http {\n  login = \"admin\"\n  password = \"s3cret\"\n", 1)
	writeFile(t, mid.config, cfg+pushServerBlock(mid.dir, port, false), 0o644)
	leaf := pushDaemon(t, "leaf", "")
	appendFile(t, leaf.config, pushClientBlock(leaf.dir, port))
	start(t, mid)
	start(t, leaf)

	get := func(auth bool) (int, string) {
		req, err := http.NewRequest(http.MethodGet, mid.url+"/api/authority/hosts", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth {
			req.SetBasicAuth("admin", "s3cret")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var code int
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, body = get(true); code == http.StatusOK && strings.Contains(body, `"leaf"`) {
			break
		}
	}
	if code != http.StatusOK || !strings.Contains(body, `"leaf"`) {
		t.Fatalf("with credentials: %d %s, want the waiting leaf", code, body)
	}
	if code, body := get(false); code != http.StatusUnauthorized || strings.Contains(body, "leaf") {
		t.Fatalf("without credentials: %d %s, want 401 and no client", code, body)
	}
}
