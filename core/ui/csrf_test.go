package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// attackerPage is what a page on another site does to a Wigo master the
// visitor's browser can reach: forms that submit themselves (plain and
// text/plain, into a hidden frame), a no-cors fetch and a fetch with the
// header the dashboard sends (which needs a preflight), to every write
// route, and last a form that navigates the whole tab: the request a
// browser sends with the basic-auth credentials it holds for the master.
var attackerPage = template.Must(template.New("").Parse(`<!doctype html>
<title>free kittens</title>
<iframe name="sink"></iframe>
<form id="f1" method="POST" action="{{.Target}}/api/authority/hosts/{{.UUID}}/{{.Action}}" target="sink"></form>
<form id="f2" method="POST" enctype="text/plain" action="{{.Target}}/api/authority/hosts/{{.UUID}}/{{.Action}}" target="sink"><input name="a" value="b"></form>
<form id="f3" method="POST" action="{{.Target}}/api/notifications/1/retry" target="sink"></form>
<form id="top" method="POST" action="{{.Target}}/api/authority/hosts/{{.UUID}}/{{.Action}}"></form>
<script>
(async () => {
  const url = {{.Target}} + "/api/authority/hosts/" + {{.UUID}} + "/" + {{.Action}};
  await Promise.allSettled([
    fetch(url, { method: "POST", mode: "no-cors", credentials: "include" }),
    fetch(url, { method: "POST", credentials: "include", headers: { "X-Wigo-Request": "1" } }),
    fetch({{.Target}} + "/api/notifications/1/retry", { method: "POST", mode: "no-cors", credentials: "include" }),
  ]);
  const sink = document.querySelector("iframe");
  for (const f of [...document.forms].filter((f) => f.target === "sink")) {
    await new Promise((done) => { sink.onload = done; f.submit(); });
  }
  document.getElementById("top").submit();
})();
</script>`))

// serveAttacker serves the attacker's page on another site: "localhost"
// rather than the master's 127.0.0.1, so the browser treats it as
// cross-site, as it would evil.example.
func serveAttacker(t *testing.T, target, uuid, action string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		attackerPage.Execute(w, map[string]string{"Target": target, "UUID": uuid, "Action": action})
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// authorityLists reads the master's waiting and allowed clients as a
// script would.
func authorityLists(t *testing.T, base, login string) (waiting, allowed map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/authority/hosts", nil)
	if u, p, ok := strings.Cut(login, ":"); ok {
		req.SetBasicAuth(u, p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct{ Waiting, Allowed map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/authority/hosts: %d %v", resp.StatusCode, err)
	}
	return l.Waiting, l.Allowed
}

// A page on another site cannot approve or revoke a push client, nor
// retry a notification, through the visitor's browser — neither on an
// instance without a login (the browser is on loopback) nor with one (the
// browser replays the credentials it holds) — while the dashboard's own
// Approve button keeps working in both.
func TestBrowserCrossSiteWritesRefused(t *testing.T) {
	for _, login := range []string{"", "admin:s3cret"} {
		name := "no login"
		if login != "" {
			name = "login"
		}
		t.Run(name, func(t *testing.T) {
			ctx := browser(t)
			p := startPushPair(t, login)
			base := p.master.d.URL()
			row := func(table string) string {
				return fmt.Sprintf(`document.querySelector('#auth-%s tr[data-uuid="%s"]')`, table, p.uuid)
			}
			// The operator has the dashboard open (with a login, logged in:
			// the browser now holds the session cookie).
			if user, pw, ok := strings.Cut(login, ":"); ok {
				logIn(t, ctx, base, "#/authority", user, pw)
			} else {
				run(t, ctx, chromedp.Navigate(base+"/#/authority"))
			}
			waitJS(t, ctx, 20*time.Second, row("waiting")+` !== null`)

			attack := func(action string) {
				t.Helper()
				// The last form takes the tab to the master's answer: the
				// navigation commits once that answer has arrived.
				final := base + "/api/authority/hosts/" + p.uuid + "/" + action
				arrived := make(chan struct{})
				lctx, stop := context.WithCancel(ctx)
				defer stop()
				events := chromedp.Events(lctx, page.FrameNavigated)
				go func() {
					for e, err := range events {
						if err != nil {
							return
						}
						if e.Frame.ParentID == "" && e.Frame.URL == final {
							close(arrived)
							return
						}
					}
				}()
				run(t, ctx, chromedp.Navigate(serveAttacker(t, base, p.uuid, action)))
				select {
				case <-arrived:
				case <-time.After(20 * time.Second):
					t.Fatalf("the attacker page did not reach %s within 20s", final)
				}
			}
			attack("allow")
			if waiting, allowed := authorityLists(t, base, login); waiting[p.uuid] == nil || allowed[p.uuid] != nil {
				t.Fatalf("after the cross-site allow: waiting %v, allowed %v; want the leaf still waiting", waiting, allowed)
			}
			if b, _ := os.ReadFile(p.allowedFile); strings.Contains(string(b), p.uuid) {
				t.Fatalf("a cross-site page approved the leaf:\n%s", b)
			}

			// The dashboard's own button works.
			run(t, ctx, chromedp.Navigate(base+"/#/authority"))
			run(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#auth-waiting tr[data-uuid="%s"] button`, p.uuid))))
			waitJS(t, ctx, 10*time.Second, row("allowed")+` !== null && `+row("waiting")+` === null`)

			attack("revoke")
			if _, allowed := authorityLists(t, base, login); allowed[p.uuid] == nil {
				t.Fatalf("a cross-site page revoked the leaf: allowed %v", allowed)
			}
			if b, _ := os.ReadFile(p.allowedFile); !strings.Contains(string(b), p.uuid) {
				t.Fatalf("the leaf left the allowed-clients file after the cross-site revoke:\n%s", b)
			}
		})
	}
}
