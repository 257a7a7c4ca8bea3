package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// change sends method to the daemon's path as a script would (with the
// header that proves it is no forged browser request) and returns the
// status and body.
func change(t *testing.T, method, u string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Wigo-Request", "1")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// getJSON decodes the answer of GET url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func acks(t *testing.T, base string) []event.Ack {
	t.Helper()
	var l struct{ Acks []event.Ack }
	getJSON(t, base+"/api/acks", &l)
	return l.Acks
}

// wigocli runs the built wigocli against base and returns its output,
// failing the test when it exits with an error.
func wigocli(t *testing.T, base string, args ...string) string {
	t.Helper()
	out, err := exec.Command(cliBin, append([]string{"-H", base}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("wigocli %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// metricsHave fails the test for each line GET /metrics lacks.
func metricsHave(t *testing.T, base string, lines ...string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range lines {
		if !strings.Contains(string(m), line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// exactly waits until the receiver got n distinct notifications and the
// outbox is empty, then fails unless it got exactly n.
func (s *sink) exactly(t *testing.T, url string, n int, what string) {
	t.Helper()
	s.awaitUnique(t, n, 40*time.Second, what)
	awaitOutboxEmpty(t, url)
	if c := s.count(); c != n {
		t.Fatalf("%s: the receiver got %d notifications, want %d: %v", what, c, n, s.since(0))
	}
}

// An acknowledged probe's notifications are held back while it does not
// get worse, and the log says so; the acknowledgement survives a restart; a
// worse status gets through and ends it; a recovery is notified and ends
// it; removing it lets the next change through. Each step counts exactly
// what the receiver got.
func TestAcknowledgement(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, "notify \"http\" {\n  url = \""+hookSrv.URL+"/hook\"\n}\n")
	r := start(t, env)
	ackURL := env.url + "/api/hosts/e2e-host/ack"
	logs := "host=e2e-host&probe=flip"
	held := "not notified: acknowledged by local: on it"
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }

	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	if code, body := change(t, http.MethodPost, ackURL, url.Values{"probe": {"flip"}}); code != http.StatusConflict {
		t.Errorf("ack of an OK probe: %d %s, want 409", code, body)
	}
	setProbe(t, env, 300)
	sent(1, "the problem")

	for _, bad := range []struct {
		u    string
		form url.Values
		code int
	}{
		{env.url + "/api/hosts/nobody/ack", url.Values{"probe": {"flip"}}, 404},
		{ackURL, url.Values{"probe": {"nothing"}}, 404},
		{ackURL, url.Values{"probe": {"flip"}, "sticky": {"maybe"}}, 400},
		{ackURL, url.Values{"probe": {"flip"}, "comment": {strings.Repeat("x", 1001)}}, 400},
		{ackURL, url.Values{"probe": {"flip"}, "expires": {"30s"}}, 400},
		{ackURL, url.Values{"probe": {"flip"}, "expires": {"2y"}}, 400},
		{ackURL, url.Values{"probe": {"flip"}, "expires": {"2000-01-01T00:00:00Z"}}, 400},
	} {
		if code, body := change(t, http.MethodPost, bad.u, bad.form); code != bad.code || !strings.Contains(body, `"error"`) {
			t.Errorf("POST %s %v: %d %s, want %d with a sentence", bad.u, bad.form, code, truncateForLog(body), bad.code)
		}
	}
	if len(acks(t, env.url)) != 0 {
		t.Fatal("a refused ack was stored")
	}
	code, body := change(t, http.MethodPost, ackURL, url.Values{"probe": {"flip"}, "comment": {"on it"}, "expires": {"2h"}})
	if code != 200 || !strings.Contains(body, `"Status":300`) || !strings.Contains(body, `"Author":"local"`) || !strings.Contains(body, `"Expires":`) {
		t.Fatalf("ack: %d %s", code, body)
	}
	awaitLogRows(t, env.url, logs, "acknowledged by local: on it", 1)
	// Whoever was told of the problem is told who took it.
	sent(2, "the acknowledgement")
	hook.mu.Lock()
	if n := hook.got[1]; n.Kind != "acknowledged" || n.Message != "e2e-host/flip acknowledged by local: on it" {
		t.Errorf("acknowledgement notified as %+v", n)
	}
	hook.mu.Unlock()

	setProbe(t, env, 200) // better, still a problem: held back
	awaitLogRows(t, env.url, logs, held, 1)
	setProbe(t, env, 300) // back to what was acknowledged: held back
	awaitLogRows(t, env.url, logs, held, 2)
	sent(2, "changes of an acknowledged probe")

	// A kill -9 keeps the acknowledgement, and sends nothing again.
	r.kill9()
	r = start(t, env)
	defer func() { r.stop(t) }()
	waitFor(t, env.url, 15*time.Second, func(*model.Wigo) bool { return true })
	if a := acks(t, env.url); len(a) != 1 || a[0].Probe != "flip" || a[0].Comment != "on it" ||
		a[0].Expires.Before(time.Now().Add(119*time.Minute)) || a[0].Expires.After(time.Now().Add(2*time.Hour)) {
		t.Fatalf("acks after a restart: %+v, want flip's, expiring in 2 h", a)
	}
	sent(2, "the restart")
	setProbe(t, env, 200)
	awaitLogRows(t, env.url, logs, held, 3)
	sent(2, "a change after the restart")
	metricsHave(t, env.url, "wigo_acknowledgements 1\n", "wigo_notifications_held_back_total{reason=\"acknowledged\"} 1\n")

	// Worse gets through and ends the acknowledgement.
	setProbe(t, env, 400)
	sent(3, "a worse status")
	awaitLogRows(t, env.url, logs, "acknowledgement by local ended", 1)
	if a := acks(t, env.url); len(a) != 0 {
		t.Fatalf("acks after a worse status: %+v", a)
	}
	// Ended, it stays ended through a kill -9: the next change is heard.
	r.kill9()
	r = start(t, env)
	waitFor(t, env.url, 15*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 400 })
	if a := acks(t, env.url); len(a) != 0 {
		t.Fatalf("acks after a worse status and a kill -9: %+v", a)
	}
	sent(3, "the restart after the worse status")
	setProbe(t, env, 300)
	sent(4, "a change once the acknowledgement ended")

	// A recovery is notified and ends it.
	if code, body := change(t, http.MethodPost, ackURL, url.Values{"probe": {"flip"}}); code != 200 {
		t.Fatalf("second ack: %d %s", code, body)
	}
	sent(5, "the second acknowledgement")
	setProbe(t, env, 100)
	sent(6, "the recovery")
	if a := acks(t, env.url); len(a) != 0 {
		t.Fatalf("acks after the recovery: %+v", a)
	}

	// Removed by hand, the next change is notified again.
	setProbe(t, env, 300)
	sent(7, "a new problem")
	// This time from wigocli.
	cli := func(args ...string) string { t.Helper(); return wigocli(t, env.url, args...) }
	if out := cli("ack", "e2e-host", "flip", "-comment", "disk swap"); out != "acknowledged e2e-host/flip (CRIT) as local\n" {
		t.Errorf("wigocli ack: %q", out)
	}
	sent(8, "the acknowledgement from wigocli")
	if out := cli("acks"); !strings.HasPrefix(out, "e2e-host/flip  CRIT  by local since ") || !strings.HasSuffix(out, ": disk swap\n") {
		t.Errorf("wigocli acks: %q", out)
	}
	if out := cli("unack", "e2e-host", "flip"); out != "acknowledgement of e2e-host/flip by local removed\n" {
		t.Errorf("wigocli unack: %q", out)
	}
	awaitLogRows(t, env.url, logs, "acknowledgement of e2e-host/flip removed by local", 1)
	if code, _ := change(t, http.MethodDelete, ackURL+"?probe=flip", nil); code != 404 {
		t.Errorf("second DELETE: %d, want 404", code)
	}
	setProbe(t, env, 200)
	sent(9, "a change once the ack is removed")
}

func truncateForLog(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
