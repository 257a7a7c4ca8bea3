package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// remoteWigo is a stand-in for a remote instance: it answers GET /api with
// a one-host document and counts the polls.
type remoteWigo struct {
	mu    sync.Mutex
	polls int
	srv   *httptest.Server
}

func newRemote(t *testing.T, uuid, name string) *remoteWigo {
	r := &remoteWigo{}
	doc := model.Wigo{Uuid: uuid, IsAlive: true, Hostname: name, GlobalStatus: 100, GlobalMessage: "OK",
		LocalHost: &model.Host{Name: name, Group: "remote", Status: 100, Probes: map[string]*model.ProbeResult{
			"p": {Name: "p", Status: 100, Message: "fine"}}},
		RemoteWigos: map[string]*model.Wigo{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.polls++
		r.mu.Unlock()
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *remoteWigo) hostPort() (string, string) {
	h, p, _ := net.SplitHostPort(strings.TrimPrefix(r.srv.URL, "http://"))
	return h, p
}

// A daemon started on a converted original configuration does what that
// configuration said: it polls the same remotes (simple and advanced list)
// and notifies with the same threshold.
func TestConvertedConfigBehavesLikeTheOriginal(t *testing.T) {
	simple := newRemote(t, "00000000-0000-0000-0000-0000000000a1", "simple-remote")
	advanced := newRemote(t, "00000000-0000-0000-0000-0000000000a2", "advanced-remote")
	var mu sync.Mutex
	var sent []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct{ OldStatus, NewStatus int }
		json.Unmarshal([]byte(r.FormValue("Notification")), &n)
		mu.Lock()
		sent = append(sent, fmt.Sprintf("%d->%d", n.OldStatus, n.NewStatus))
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)

	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	sh, sp := simple.hostPort()
	ah, ap := advanced.hostPort()
	original := fmt.Sprintf(`[Global]
Hostname = "converted"
Group = "conv"
ProbesDirectory = %[1]q
ProbesConfigDirectory = %[2]q
UuidFile = %[3]q
Database = %[4]q
AliveTimeout = 60

[Http]
Enabled = true
Address = "127.0.0.1"
Port = %[5]d

[RemoteWigos]
CheckInterval = 1
List = ["%[6]s:%[7]s"]

[[AdvancedList]]
Hostname = %[8]q
Port = %[9]s
CheckInterval = 1

[Notifications]
MinLevelToSend = 300
OnProbeChange = true
HttpEnabled = 1
HttpUrl = %[10]q
`, filepath.Join(dir, "probes"), filepath.Join(dir, "conf.d"), filepath.Join(dir, "uuid"), filepath.Join(dir, "wigo.db"),
		port, sh, sp, ah, ap, hook.URL)
	confPath := filepath.Join(dir, "wigo.conf")
	if err := os.WriteFile(confPath, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, path := convertFile(t, confPath)
	wigoCheck(t, path) // builds the binaries and points plugins_dir at them
	for _, f := range []struct{ path, content string }{
		{filepath.Join(dir, "probes", "1", "flip"), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/flip.json\"\n"},
		{filepath.Join(dir, "conf.d", "flip.json"), `{"Status":100,"Message":"fine"}`},
	} {
		os.MkdirAll(filepath.Dir(f.path), 0o755)
		if err := os.WriteFile(f.path, []byte(f.content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	cmd := exec.Command(wigoBin(t), "-c", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	}()
	api := fmt.Sprintf("http://127.0.0.1:%d/api", port)
	// waitDoc polls the daemon's API, the only view of a separate process.
	waitDoc := func(what string, cond func(*model.Wigo) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := http.Get(api); err == nil {
				var w model.Wigo
				err = json.NewDecoder(resp.Body).Decode(&w)
				resp.Body.Close()
				if err == nil && cond(&w) {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("daemon never showed %s", what)
	}
	status := func(w *model.Wigo) int {
		if p := w.LocalHost.Probes["flip"]; p != nil {
			return p.Status
		}
		return 0
	}
	waitDoc("both remotes", func(w *model.Wigo) bool {
		return w.RemoteWigos["00000000-0000-0000-0000-0000000000a1"] != nil && w.RemoteWigos["00000000-0000-0000-0000-0000000000a2"] != nil
	})
	for _, r := range []*remoteWigo{simple, advanced} {
		r.mu.Lock()
		if r.polls == 0 {
			t.Errorf("remote %s never polled", r.srv.URL)
		}
		r.mu.Unlock()
	}
	// MinLevelToSend = 300: 250 is not sent, 300 is, and so is the recovery.
	for _, st := range []int{250, 300, 100} {
		if err := os.WriteFile(filepath.Join(dir, "conf.d", "flip.json"), fmt.Appendf(nil, `{"Status":%d}`, st), 0o644); err != nil {
			t.Fatal(err)
		}
		waitDoc(fmt.Sprintf("flip at %d", st), func(w *model.Wigo) bool { return status(w) == st })
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(sent, " ")
		mu.Unlock()
		if got == "250->300 300->100" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications sent: %q, want \"250->300 300->100\"", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
