package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/model"
)

// logIn fills the login page of base with user and password and waits for
// the dashboard at fragment.
func logIn(t *testing.T, ctx context.Context, base, fragment, user, password string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+"/"+fragment))
	waitJS(t, ctx, 10*time.Second, `location.pathname === "/login" && document.querySelector("form#login") !== null`)
	run(t, ctx, chromedp.SendKeys("#user", user), chromedp.SendKeys("#password", password), chromedp.Click(`button[type="submit"]`),
		chromedp.WaitReady("#conn"))
	waitJS(t, ctx, 10*time.Second, `location.pathname === "/" && document.querySelector('#conn[data-conn="live"]') !== null`)
}

// An operator logs in, sees their name and role, acknowledges a problem
// and logs out; a viewer logging in then sees no Acknowledge button, and
// the request the button would make is refused (403) naming the role.
func TestBrowserRoles(t *testing.T) {
	ctx := browser(t)
	cfg := testConfig(t)
	for _, u := range []struct {
		name string
		role auth.Role
	}{{"olga", auth.RoleOperator}, {"vic", auth.RoleViewer}} {
		h, err := auth.HashPassword("pw-" + u.name)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Users = append(cfg.Users, config.User{Name: u.name, PasswordHash: h, Role: u.role})
	}
	r := startDaemon(t, cfg)
	now := time.Now().Unix()
	doc := &model.Wigo{Uuid: "web-9-uuid", Version: "0.73", IsAlive: true, Hostname: "web-9", LastUpdate: now,
		LocalHost: &model.Host{Name: "web-9", Group: "web", Status: 300, Probes: map[string]*model.ProbeResult{
			"disk": {Name: "disk", Status: 300, Message: "/var 97% full", Timestamp: now},
		}}}
	if err := r.d.State().Ingest("web-9:4000", doc); err != nil {
		t.Fatal(err)
	}

	run(t, ctx, width(1400))
	logIn(t, ctx, r.d.URL(), "#/host/web-9", "olga", "pw-olga")
	waitJS(t, ctx, 10*time.Second, `document.getElementById("me-name").textContent === "olga (operator)" &&
		!document.getElementById("logout").hidden &&
		document.querySelector('button[data-key="web-9-uuid/disk/ack"]') !== null`)
	run(t, ctx, eval(`window.prompt = () => "on it"; document.querySelector('button[data-key="web-9-uuid/disk/ack"]').click()`))
	waitJS(t, ctx, 10*time.Second, `document.querySelector('tr.probe[data-probe="disk"]')?.textContent.includes("ACK") === true &&
		document.querySelector('tr.probe[data-probe="disk"] + tr.extra .ack-note')?.textContent.includes("Acknowledged by olga") === true`)
	screenshot(t, ctx, "51-operator")

	run(t, ctx, eval(`document.getElementById("logout").click()`), chromedp.WaitReady("form#login"))
	waitJS(t, ctx, 10*time.Second, `location.pathname === "/login"`)

	logIn(t, ctx, r.d.URL(), "#/host/web-9", "vic", "pw-vic")
	waitJS(t, ctx, 10*time.Second, `document.getElementById("me-name").textContent === "vic (viewer)" &&
		document.querySelector('tr.probe[data-probe="disk"]') !== null &&
		document.querySelector('button[data-key$="/ack"], button[data-key$="/silence"], button[data-key$="/unack"]') === null`)
	screenshot(t, ctx, "52-viewer")
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("api/hosts/web-9/ack", {method: "POST", headers: {"X-Wigo-Request": "1"},
		body: new URLSearchParams({probe: "disk"})}).then(async r => r.status + " " + (await r.json()).error)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if res != "403 vic has the viewer role; this needs operator" {
		t.Errorf("a viewer's acknowledgement: %q, want 403 naming the role", res)
	}
}
