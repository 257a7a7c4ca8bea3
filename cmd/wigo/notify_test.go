package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/wigo-project/wigo/core/model"
)

// notification is the part of the payload these tests look at.
type notification struct {
	EventId   string
	Kind      string
	Hostname  string
	Probe     string
	OldStatus int
	NewStatus int
	Message   string
	Flapping  string
	Delivery  string
}

// sink is a local HTTP receiver for notify-http. While failing is set it
// answers 500, like a receiver that is down.
type sink struct {
	mu       sync.Mutex
	failing  bool
	requests int
	got      []notification
	arrived  chan notification
}

func newSink(t *testing.T) (*sink, *httptest.Server) {
	s := &sink{arrived: make(chan notification, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		failing := s.failing
		s.mu.Unlock()
		if failing {
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		var n notification
		if err := json.Unmarshal([]byte(r.FormValue("Notification")), &n); err != nil {
			t.Errorf("form field Notification is not the JSON payload: %v (%q)", err, r.FormValue("Notification"))
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, n)
		s.mu.Unlock()
		s.arrived <- n
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

// awaitUnique waits until n distinct events (by EventId) have arrived:
// counting arrivals would mistake a retried duplicate for a new event.
func (s *sink) awaitUnique(t *testing.T, n int, d time.Duration, what string) {
	t.Helper()
	deadline := time.After(d)
	for {
		s.mu.Lock()
		seen := map[string]bool{}
		for _, g := range s.got {
			seen[g.EventId] = true
		}
		s.mu.Unlock()
		if len(seen) >= n {
			return
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("%d distinct notifications, want %d: %s", len(seen), n, what)
		}
	}
}

func (s *sink) setFailing(v bool) {
	s.mu.Lock()
	s.failing = v
	s.mu.Unlock()
}

// await returns the next notification, failing the test after d.
func await[T any](t *testing.T, c <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(d):
		t.Fatalf("no %s within %s", what, d)
	}
	var zero T
	return zero
}

type mailBackend struct{ got chan string }

func (b mailBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{b: b}, nil }

type mailSession struct{ b mailBackend }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.b.got <- string(b)
	return err
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

func smtpServer(t *testing.T) (string, chan string) {
	got := make(chan string, 10)
	srv := smtp.NewServer(mailBackend{got: got})
	srv.Domain = "127.0.0.1"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), got
}

// setProbe rewrites the flip probe's output and waits until the daemon
// reports the new status.
func setProbe(t *testing.T, env daemonEnv, status int) {
	t.Helper()
	writeFile(t, filepath.Join(env.dir, "conf.d", "flip.json"), fmt.Sprintf(`{"Status":%d,"Message":"now %d"}`, status, status), 0o644)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == status })
}

// A probe flipping on disk reaches a local HTTP receiver, a real SMTP
// server and, through Debian's apprise, a local JSON endpoint: each through
// its real plugin binary started by the daemon.
func TestNotifiersEndToEnd(t *testing.T) {
	hook, hookSrv := newSink(t)
	mailAddr, mails := smtpServer(t)
	extra := fmt.Sprintf(`
notify "http" {
  url = "%s/hook"
}
notify "ops" {
  plugin       = "notify-email"
  smtp_server  = %q
  tls          = "none"
  from_address = "wigo@example.org"
  to           = ["ops@example.org"]
}
`, hookSrv.URL, mailAddr)
	apprised := make(chan map[string]any, 10)
	if _, err := exec.LookPath("apprise"); err == nil {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var m map[string]any
			json.NewDecoder(r.Body).Decode(&m)
			apprised <- m
		}))
		t.Cleanup(srv.Close)
		extra += fmt.Sprintf("notify \"apprise\" {\n  urls = [\"json://%s/\"]\n}\n", strings.TrimPrefix(srv.URL, "http://"))
	} else if os.Getenv("CI") != "" {
		t.Fatal("apprise is not installed (scripts/test-deps installs it)")
	} else {
		t.Log("apprise not installed: its part of the test is skipped")
		apprised = nil
	}
	env := newEnv(t, extra)
	r := start(t, env)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	setProbe(t, env, 300)

	n := await(t, hook.arrived, 20*time.Second, "HTTP notification")
	if n.Kind != "probe_changed" || n.Hostname != "e2e-host" || n.Probe != "flip" || n.OldStatus != 100 || n.NewStatus != 300 {
		t.Errorf("HTTP notification = %+v", n)
	}
	mail := await(t, mails, 20*time.Second, "mail")
	if !strings.Contains(mail, "Subject: Probe flip status changed from 100 to 300 on host e2e-host") || !strings.Contains(mail, "To: <ops@example.org>") {
		t.Errorf("mail:\n%s", mail)
	}
	if apprised != nil {
		m := await(t, apprised, 30*time.Second, "apprise notification")
		if title, _ := m["title"].(string); !strings.Contains(title, "Probe flip status changed from 100 to 300") {
			t.Errorf("apprise payload = %v", m)
		}
	}
	// Plugin health is visible in the API.
	resp, err := http.Get(env.url + "/api/plugins")
	if err != nil {
		t.Fatal(err)
	}
	var health []struct{ Instance, State string }
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if len(health) < 2 {
		t.Errorf("/api/plugins = %+v", health)
	}
	for _, h := range health {
		if h.State != "running" {
			t.Errorf("plugin %s is %s", h.Instance, h.State)
		}
	}
	r.stop(t)
}

// childPID finds the daemon's child process running the named binary.
func childPID(t *testing.T, parent int, name string) int {
	t.Helper()
	if pid := findChild(parent, name, 0); pid != 0 {
		return pid
	}
	t.Fatalf("no child %q of %d", name, parent)
	return 0
}

func pendingNotifications(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url + "/api/notifications")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var page struct{ Total int }
	json.NewDecoder(resp.Body).Decode(&page)
	return page.Total
}

// Delivery survives a failing receiver, a plugin killed with SIGKILL and a
// daemon killed with SIGKILL: every status change arrives, in order, and
// duplicates stay within what the kills explain.
func TestNotificationFaults(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, fmt.Sprintf("notify \"http\" {\n  url = \"%s/hook\"\n}\n", hookSrv.URL))
	r := start(t, env)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })

	var want []string // the transitions, in the order they happened
	flip := func(from, to int) {
		setProbe(t, env, to)
		want = append(want, fmt.Sprintf("%d->%d", from, to))
	}

	// The receiver answers 500 for a while, then 200 again.
	hook.setFailing(true)
	flip(100, 300)
	deadline := time.Now().Add(20 * time.Second)
	for {
		hook.mu.Lock()
		failed := hook.requests
		hook.mu.Unlock()
		if failed >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the plugin never retried against the failing receiver")
		}
		time.Sleep(50 * time.Millisecond)
	}
	hook.setFailing(false)
	hook.awaitUnique(t, 1, 30*time.Second, "notification after the receiver recovered")

	// The plugin process is killed while events flow.
	syscall.Kill(childPID(t, r.cmd.Process.Pid, "notify-http"), syscall.SIGKILL)
	flip(300, 100)
	flip(100, 300)
	hook.awaitUnique(t, 3, 60*time.Second, "notifications after the plugin was killed")

	// The daemon is killed with notifications still in its outbox.
	hook.setFailing(true)
	flip(300, 100)
	deadline = time.Now().Add(20 * time.Second)
	for pendingNotifications(t, env.url) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no pending notification in the outbox")
		}
		time.Sleep(50 * time.Millisecond)
	}
	plugin := childPID(t, r.cmd.Process.Pid, "notify-http")
	r.kill9()
	// The plugin dies with the daemon: no orphan keeps delivering.
	deadline = time.Now().Add(10 * time.Second)
	for syscall.Kill(plugin, 0) != syscall.ESRCH {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d outlived the killed daemon", plugin)
		}
		time.Sleep(20 * time.Millisecond)
	}
	hook.setFailing(false)
	r2 := start(t, env)
	// Up before it is stopped: a SIGTERM before its handlers are set would
	// kill it with the default action.
	waitFor(t, env.url, 15*time.Second, func(*model.Wigo) bool { return true })
	hook.awaitUnique(t, 4, 30*time.Second, "notification left in the outbox by the killed daemon")
	r2.stop(t)

	hook.mu.Lock()
	defer hook.mu.Unlock()
	seen := map[string]bool{}
	var got []string
	duplicates := 0
	for _, n := range hook.got {
		if seen[n.EventId] {
			duplicates++
			continue
		}
		seen[n.EventId] = true
		got = append(got, fmt.Sprintf("%d->%d", n.OldStatus, n.NewStatus))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("delivered %v, want %v in this order", got, want)
	}
	if duplicates > 2 {
		t.Errorf("%d duplicate deliveries; two kills explain at most 2", duplicates)
	}
}
