package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// edgeRequest sends one request to the daemon with the given Host and extra
// headers and returns the status, the answer and its headers.
func edgeRequest(t *testing.T, method, url, host string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// A real daemon answers only to its own names (DNS rebinding), refuses
// cross-site and unmarked changes, and sets the security headers on every
// route — /metrics and /api/plugins included.
func TestDaemonEdge(t *testing.T) {
	env := newEnv(t, "")
	r := start(t, env)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })

	// A rebound name: the read, the websocket and a change are all refused
	// with a sentence naming the option.
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
	}{
		{http.MethodGet, "/api", nil},
		{http.MethodGet, "/", nil},
		{http.MethodGet, "/api/ws", map[string]string{"Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
			"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}},
		{http.MethodPost, "/api/authority/hosts/x/revoke", map[string]string{"Origin": "http://evil.example", "X-Wigo-Request": "1"}},
	} {
		code, body, _ := edgeRequest(t, c.method, env.url+c.path, "evil.example", c.hdr)
		if code != http.StatusForbidden || !strings.Contains(body, "http.allowed_hosts") {
			t.Errorf("%s %s with Host evil.example: %d %s, want 403 naming http.allowed_hosts", c.method, c.path, code, body)
		}
	}
	if !strings.Contains(r.logs.String(), "evil.example") {
		t.Error("the refused Host is not in the daemon's log")
	}
	// Its own names still work, with any port and case.
	for _, host := range []string{"", "localhost", "LOCALHOST:4000", "e2e-host"} {
		if code, body, _ := edgeRequest(t, http.MethodGet, env.url+"/api/status", host, nil); code != http.StatusOK {
			t.Errorf("GET /api/status with Host %q: %d %s", host, code, body)
		}
	}

	// Changes: a cross-site browser request and an unmarked one are
	// refused before any route; a marked one reaches the route (no push
	// server here: 503, not 403).
	for _, c := range []struct {
		hdr  map[string]string
		want int
		says string
	}{
		{map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, "cross-site"},
		{map[string]string{"Origin": "http://localhost:1"}, http.StatusForbidden, "cross-site"},
		{map[string]string{"Origin": "null"}, http.StatusForbidden, "cross-site"},
		{nil, http.StatusForbidden, "X-Wigo-Request"},
		{map[string]string{"X-Wigo-Request": "1"}, http.StatusServiceUnavailable, "push"},
		{map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusServiceUnavailable, "push"},
	} {
		for _, path := range []string{"/api/authority/hosts/x/allow", "/api/authority/hosts/x/revoke", "/api/authority/hosts/x/relay"} {
			code, body, _ := edgeRequest(t, http.MethodPost, env.url+path, "", c.hdr)
			if code != c.want || !strings.Contains(body, c.says) {
				t.Errorf("POST %s with %v: %d %s, want %d saying %q", path, c.hdr, code, body, c.want, c.says)
			}
		}
	}
	if code, body, _ := edgeRequest(t, http.MethodPost, env.url+"/api/notifications/1/retry", "", map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("cross-site retry: %d %s, want 403", code, body)
	}

	for _, path := range []string{"/", "/api", "/api/status", "/api/plugins", "/metrics", "/api/notifications", "/api/nowhere", "/assets/nowhere"} {
		_, _, h := edgeRequest(t, http.MethodGet, env.url+path, "", nil)
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s lacks a security header: %v", path, h)
		}
	}
}
