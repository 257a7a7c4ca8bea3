package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/auth"
)

// Every route the daemon serves (the API's table and the daemon's own)
// asked by every kind of identity: anonymous, a user (basic auth), a token
// and a browser session of each role, the trusted proxy from its address, and the proxy's header from
// another address (not believed). Below the route's role the answer is 401
// without credentials and 403 with them; at or above it, neither.
func TestRoleMatrix(t *testing.T) {
	dir := t.TempDir()
	hashes := map[string]string{}
	var users strings.Builder
	for _, role := range []string{"viewer", "operator", "admin"} {
		h, err := auth.HashPassword("pw-" + role)
		if err != nil {
			t.Fatal(err)
		}
		hashes[role] = h
		fmt.Fprintf(&users, "user %q {\n  password_hash = %q\n  role = %q\n}\n", role+"-user", h, role)
	}
	src := users.String() + `
hostname = "roles-1"
probes_dir = "probes"
database = "wigo.db"
uuid_file = "uuid"
http {
  address = "127.0.0.1"
  port = 0
  trusted_proxy {
    header      = "X-User"
    role_header = "X-Role"
    from        = ["127.0.0.2"]
  }
}
`
	d := newDaemon(t, dir, src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	secrets := map[auth.Role]string{}
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleOperator, auth.RoleAdmin} {
		_, secret, err := d.Store().CreateToken(ctx, role.String()+"-token", role, "test", time.Time{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		secrets[role] = secret
	}

	// from makes requests from a loopback address of its own.
	from := func(ip string) *http.Client {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	type identity struct {
		name   string
		role   auth.Role
		creds  bool
		client *http.Client
		set    func(*http.Request)
	}
	ids := []identity{{name: "anonymous", client: from("127.0.0.3"), set: func(*http.Request) {}}}
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleOperator, auth.RoleAdmin} {
		user, pw, secret := role.String()+"-user", "pw-"+role.String(), secrets[role]
		ids = append(ids,
			identity{"basic " + role.String(), role, true, from("127.0.0.3"), func(r *http.Request) { r.SetBasicAuth(user, pw) }},
			identity{"bearer " + role.String(), role, true, from("127.0.0.3"), func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }})
	}
	// A browser session of each role: the cookie POST /api/login sets.
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleOperator, auth.RoleAdmin} {
		form := strings.NewReader("user=" + role.String() + "-user&password=pw-" + role.String())
		req, _ := http.NewRequest(http.MethodPost, d.URL()+"/api/login", form)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Wigo-Request", "1")
		resp, err := from("127.0.0.4").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == auth.SessionCookie {
				cookie = c
			}
		}
		if resp.StatusCode != http.StatusOK || cookie == nil {
			t.Fatalf("login as %s: %d, cookie %v", role, resp.StatusCode, cookie)
		}
		ids = append(ids, identity{"cookie " + role.String(), role, true, from("127.0.0.3"), func(r *http.Request) { r.AddCookie(cookie) }})
	}
	ids = append(ids,
		identity{"proxy operator", auth.RoleOperator, true, from("127.0.0.2"), func(r *http.Request) {
			r.Header.Set("X-User", "sso-carol")
			r.Header.Set("X-Role", "operator")
		}},
		identity{"proxy header from another address", auth.RoleNone, false, from("127.0.0.3"), func(r *http.Request) {
			r.Header.Set("X-User", "mallory")
			r.Header.Set("X-Role", "admin")
		}})

	// The policy itself: reading is a viewer's, changing an operator's at
	// least, tokens and relaying an admin's.
	policy := map[string]auth.Role{
		"GET /api": auth.RoleViewer, "GET /api/whoami": auth.RoleNone, "POST /api/hosts/{hostname}/ack": auth.RoleOperator,
		"POST /api/silences": auth.RoleOperator, "POST /api/authority/hosts/{uuid}/allow": auth.RoleOperator,
		"POST /api/authority/hosts/{uuid}/relay": auth.RoleAdmin, "GET /api/tokens": auth.RoleAdmin,
		"POST /api/tokens": auth.RoleAdmin, "DELETE /api/tokens/{id}": auth.RoleAdmin,
	}
	for _, rt := range api.Routes() {
		if want, ok := policy[rt.Method+" "+rt.Pattern]; ok && rt.Role != want {
			t.Errorf("%s %s needs %s, want %s", rt.Method, rt.Pattern, rt.Role, want)
		}
		if rt.Method != http.MethodGet && rt.Role < auth.RoleOperator && rt.Pattern != "/api/login" && rt.Pattern != "/api/logout" {
			t.Errorf("%s %s changes something but needs only %s", rt.Method, rt.Pattern, rt.Role)
		}
		delete(policy, rt.Method+" "+rt.Pattern)
	}
	if len(policy) > 0 {
		t.Errorf("routes missing from the table: %v", policy)
	}

	// The daemon's own routes are in the OpenAPI document too, with their
	// roles.
	doc, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Extensions["x-daemon"] != true {
				continue
			}
			found := false
			for _, rt := range d.routes {
				pm, pp, ok := strings.Cut(rt.pattern, " ")
				if !ok {
					pm, pp = "", pm
				}
				role := rt.read
				if method != http.MethodGet {
					role = rt.write
				}
				if (pp == path || (strings.HasSuffix(pp, "/") && strings.HasPrefix(path, pp) && pp != "/")) && (pm == "" || pm == method) {
					found = true
					if op.Extensions["x-role"] != role.String() {
						t.Errorf("%s %s: documented role %v, served %s", method, path, op.Extensions["x-role"], role)
					}
				}
			}
			if !found {
				t.Errorf("%s %s is documented but the daemon does not serve it", method, path)
			}
		}
	}

	type target struct {
		method, path string
		role         auth.Role
	}
	var targets []target
	for _, rt := range api.Routes() {
		if rt.Pattern == "/api/login" || rt.Pattern == "/api/logout" {
			// Login answers the pair in its form (401 when wrong); logout
			// would end the sessions this test uses. TestLoginSession.
			continue
		}
		path := strings.NewReplacer("{hostname}", "nobody", "{group}", "g", "{probe}", "p", "{id}", "x", "{uuid}", "u").Replace(rt.Pattern)
		targets = append(targets, target{rt.Method, path, rt.Role})
	}
	for _, rt := range d.routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if path == "" {
			method, path = "", method
		}
		if method == "" || method == http.MethodGet {
			targets = append(targets, target{http.MethodGet, path, rt.read})
		}
		if method == "" {
			post := path
			if strings.HasSuffix(path, "/") {
				post += "x" // a path under the subtree
			}
			targets = append(targets, target{http.MethodPost, post, rt.write})
		}
	}
	if len(targets) < 40 {
		t.Fatalf("%d routes: the tables were not read", len(targets))
	}
	for _, tg := range targets {
		for _, id := range ids {
			req, err := http.NewRequest(tg.method, d.URL()+tg.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Wigo-Request", "1")
			id.set(req)
			resp, err := id.client.Do(req)
			if err != nil {
				t.Fatalf("%s %s as %s: %v", tg.method, tg.path, id.name, err)
			}
			resp.Body.Close()
			switch {
			case id.role >= tg.role:
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					t.Errorf("%s %s (needs %s) as %s: %d, want it let through", tg.method, tg.path, tg.role, id.name, resp.StatusCode)
				}
			case !id.creds && tg.path == "/" && tg.method == http.MethodGet:
				// A browser is sent to the login page instead.
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "login" {
					t.Errorf("GET / as %s: %d to %q, want 303 to login", id.name, resp.StatusCode, resp.Header.Get("Location"))
				}
			case !id.creds:
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s (needs %s) as %s: %d, want 401", tg.method, tg.path, tg.role, id.name, resp.StatusCode)
				}
			default:
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s (needs %s) as %s: %d, want 403", tg.method, tg.path, tg.role, id.name, resp.StatusCode)
				}
			}
		}
	}
}
