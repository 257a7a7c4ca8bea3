package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// The plugin forwards probe control of a remote's host to the remote's own
// API: the route of the action for that host, the token of the remote's
// block as a bearer (read from its file), who asked in
// X-Wigo-Forwarded-By, the cross-site header, the disabling's reason and
// duration in the form; the remote's answer comes back as it is, its
// refusals with their code and sentence (401: the token refused). A remote
// without a token is refused here, a source that is no remote is not this
// transport's, and the token is in no log line.
func TestControlForwardsToTheRemoteAPI(t *testing.T) {
	var mu sync.Mutex
	var got []string
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %s auth=%q by=%q xreq=%q reason=%q for=%q", r.Method, r.URL.Path, r.Header.Get("Authorization"),
			r.Header.Get("X-Wigo-Forwarded-By"), r.Header.Get("X-Wigo-Request"), r.Form.Get("reason"), r.Form.Get("for")))
		mu.Unlock()
		switch {
		case r.URL.Path == "/api":
			http.Error(w, "not now", http.StatusServiceUnavailable)
		case strings.HasSuffix(r.URL.Path, "/run"):
			fmt.Fprintln(w, `{"running":"cpu"}`)
		case strings.HasSuffix(r.URL.Path, "/disable"):
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintln(w, `{"error":"this instance (leaf) does not accept probe control forwarded by a master"}`)
		case strings.HasSuffix(r.URL.Path, "/enable"):
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"error":"token expired"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer remote.Close()
	tokenFile := filepath.Join(t.TempDir(), "leaf.token")
	if err := os.WriteFile(tokenFile, []byte("wigo_secret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	p := &puller{log: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace})}
	c := sdktest.Transport(t, p)
	if err := c.Configure(fmt.Sprintf("check_interval = 60\nremote %q {\n  control_token_file = %q\n}\nremote \"127.0.0.1:1\" {}\n", addr(remote), tokenFile)); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(newTestHost()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	control := func(source string, action sdk.ControlAction) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return c.Client.Control(ctx, sdk.ControlRequest{Host: "leaf", HostUUID: "u-leaf", Source: source, Probe: "cpu", Action: action,
			Reason: "disk swap", For: 90 * time.Minute, By: "olga"})
	}
	code := func(err error) sdk.ControlCode {
		var ce *sdk.ControlError
		if errors.As(err, &ce) {
			return ce.Code
		}
		return 0
	}

	if out, err := control(addr(remote), sdk.ControlRun); err != nil || string(out) != "{\"running\":\"cpu\"}\n" {
		t.Errorf("run: %q, %v", out, err)
	}
	_, err := control(addr(remote), sdk.ControlDisable)
	if code(err) != sdk.ControlRefused || !strings.Contains(err.Error(), "answered 403: this instance (leaf) does not accept") {
		t.Errorf("disable refused by the remote: %v (code %d)", err, code(err))
	}
	if _, err := control(addr(remote), sdk.ControlEnable); code(err) != sdk.ControlRefused || !strings.Contains(err.Error(), "it refused the credentials (token expired)") {
		t.Errorf("enable with a refused token: %v (code %d)", err, code(err))
	}
	if _, err := control(addr(remote), sdk.ControlSchedule); code(err) != sdk.ControlNotFound {
		t.Errorf("a route the remote does not have (an original Wigo): %v (code %d), want not found", err, code(err))
	}
	if _, err := control("127.0.0.1:1", sdk.ControlRun); code(err) != sdk.ControlRefused || !strings.Contains(err.Error(), "holds no control token for remote 127.0.0.1:1") {
		t.Errorf("a remote without a token: %v (code %d)", err, code(err))
	}
	if _, err := control("10.9.9.9:4000", sdk.ControlRun); code(err) != sdk.ControlNotMine {
		t.Errorf("a source that is no remote: %v (code %d), want not mine", err, code(err))
	}

	mu.Lock()
	defer mu.Unlock()
	want := []string{
		`POST /api/hosts/leaf/probes/cpu/run auth="Bearer wigo_secret-token" by="olga" xreq="1" reason="" for=""`,
		`POST /api/hosts/leaf/probes/cpu/disable auth="Bearer wigo_secret-token" by="olga" xreq="1" reason="disk swap" for="1h30m0s"`,
		`POST /api/hosts/leaf/probes/cpu/enable auth="Bearer wigo_secret-token" by="olga" xreq="1" reason="" for=""`,
		`GET /api/hosts/leaf/schedule auth="Bearer wigo_secret-token" by="olga" xreq="1" reason="" for=""`,
	}
	var control4 []string
	for _, g := range got {
		if !strings.HasPrefix(g, "GET /api ") {
			control4 = append(control4, g)
		}
	}
	if strings.Join(control4, "\n") != strings.Join(want, "\n") {
		t.Errorf("the remote got:\n%s\nwant:\n%s", strings.Join(control4, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(logs.String(), "secret-token") {
		t.Errorf("the token is in the log:\n%s", logs.String())
	}
}
