package ui_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

// The daemon puts its basic auth in front of the UI and the websocket, as
// in front of the API, and the websocket checks Origin behind it.
func TestDaemonAuthCoversUIAndWebsocket(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.Login, cfg.HTTP.Password = "admin", "s3cret"
	r := startDaemon(t, cfg)
	base := r.d.URL()
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/ws"
	creds := http.Header{}
	req, _ := http.NewRequest("GET", base, nil)
	req.SetBasicAuth("admin", "s3cret")
	creds.Set("Authorization", req.Header.Get("Authorization"))

	for _, path := range []string{"/api", "/api/ws", "/index.html"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without credentials: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	// A browser opening the dashboard is sent to the login page.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "login" {
		t.Errorf("GET / without credentials: %d to %q, want 303 to login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upgrade without credentials: %v %+v", err, resp)
	}
	cross := creds.Clone()
	cross.Set("Origin", "https://evil.example")
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, cross); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade with credentials: %v %+v", err, resp)
	}
	same := creds.Clone()
	same.Set("Origin", base)
	c, _, err := websocket.DefaultDialer.Dial(wsURL, same)
	if err != nil {
		t.Fatalf("same-origin upgrade with credentials: %v", err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m struct {
		Type string `json:"type"`
	}
	if err := c.ReadJSON(&m); err != nil || m.Type != "snapshot" {
		t.Fatalf("first message: %v %+v", err, m)
	}
	req, _ = http.NewRequest("GET", base+"/", nil)
	req.SetBasicAuth("admin", "s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET / with credentials: %d %v", resp.StatusCode, resp.Header)
	}
}

// A browser opening the dashboard of an instance with a login gets the
// login page; a wrong password is refused there, the right one opens the
// page it asked for, live (the session cookie lets the websocket in).
func TestBrowserBehindLogin(t *testing.T) {
	ctx := browser(t)
	cfg := testConfig(t)
	cfg.HTTP.Login, cfg.HTTP.Password = "admin", "s3cret"
	r := startDaemon(t, cfg)
	awaitProbe(t, r.d.State(), "flip", "all good")
	run(t, ctx, width(1400), chromedp.Navigate(r.d.URL()+"/#/hosts"))
	waitJS(t, ctx, 10*time.Second, `location.pathname === "/login" && document.querySelector("form#login") !== null`)
	screenshot(t, ctx, "login-1400-light")
	run(t, ctx, colorScheme("dark"))
	screenshot(t, ctx, "login-1400-dark")
	run(t, ctx, width(400))
	screenshot(t, ctx, "login-400-dark")
	run(t, ctx, colorScheme("light"))
	screenshot(t, ctx, "login-400-light")
	run(t, ctx, width(1400))
	run(t, ctx, chromedp.SendKeys("#user", "admin"), chromedp.SendKeys("#password", "wrong"), chromedp.Click(`button[type="submit"]`))
	waitJS(t, ctx, 10*time.Second, `document.getElementById("login-error").textContent.includes("wrong user name or password")`)
	run(t, ctx, eval(`document.getElementById("password").value = ""`), chromedp.SendKeys("#password", "s3cret"), chromedp.Click(`button[type="submit"]`),
		chromedp.WaitReady("#conn")) // the dashboard, after the navigation
	waitJS(t, ctx, 10*time.Second, `location.pathname === "/" && location.hash === "#/hosts" &&
		document.querySelector('#conn[data-conn="live"]') !== null &&
		document.querySelector('li.host[data-host="ui-host"]') !== null`)
}
