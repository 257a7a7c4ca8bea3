package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type tokens map[string]Token

func (t tokens) TokenByHash(_ context.Context, hash string, _ time.Time) (Token, error) {
	if tok, ok := t[hash]; ok {
		return tok, nil
	}
	return Token{}, ErrNoToken
}

func deny(w http.ResponseWriter, status int, msg string) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPasswordHashes(t *testing.T) {
	h := mustHash(t, "correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || CheckHash(h) != nil {
		t.Fatalf("hash %q (%v)", h, CheckHash(h))
	}
	if !VerifyPassword(h, "correct horse") || VerifyPassword(h, "correct horse ") || VerifyPassword(h, "") {
		t.Error("argon2id: the right password refused or a wrong one accepted")
	}
	if h2 := mustHash(t, "correct horse"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	// A bcrypt hash, as htpasswd -B makes them.
	raw, err := bcrypt.GenerateFromPassword([]byte("secret"), 4)
	if err != nil {
		t.Fatal(err)
	}
	if bc := string(raw); CheckHash(bc) != nil || !VerifyPassword(bc, "secret") || VerifyPassword(bc, "Secret") {
		t.Errorf("bcrypt %q: check %v, the right password or a wrong one misjudged", bc, CheckHash(bc))
	}
	for _, bad := range []string{"", "secret", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaA", "$2a$99$xx"} {
		if CheckHash(bad) == nil {
			t.Errorf("CheckHash(%q) = nil, want an error", bad)
		}
		if VerifyPassword(bad, "secret") {
			t.Errorf("VerifyPassword(%q) accepted", bad)
		}
	}
}

func request(remote string, set func(*http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api", nil)
	r.RemoteAddr = remote
	if set != nil {
		set(r)
	}
	return r
}

// Each way in gives its identity; wrong credentials are refused whatever
// the way; the proxy's header is believed from its addresses only.
func TestIdentify(t *testing.T) {
	a := New(Options{
		Users: []User{{Name: "alice", PasswordHash: mustHash(t, "pw-a"), Role: RoleOperator}},
		Login: "admin", Password: "legacy",
		Tokens:    tokens{HashToken("wigo_ci"): {ID: "1", Name: "ci", Role: RoleViewer}},
		Proxy:     &Proxy{Header: "X-Forwarded-User", RoleHeader: "X-Forwarded-Role", DefaultRole: RoleViewer, From: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}},
		Anonymous: RoleNone, Local: RoleViewer, Deny: deny,
	})
	for _, c := range []struct {
		name, remote string
		set          func(*http.Request)
		want         string // name/role/via, or "error"
	}{
		{"user", "192.0.2.1:1", func(r *http.Request) { r.SetBasicAuth("alice", "pw-a") }, "alice/operator/basic"},
		{"user, wrong password", "192.0.2.1:1", func(r *http.Request) { r.SetBasicAuth("alice", "pw-b") }, "error"},
		{"unknown user", "192.0.2.1:1", func(r *http.Request) { r.SetBasicAuth("bob", "pw-a") }, "error"},
		{"the original's login", "192.0.2.1:1", func(r *http.Request) { r.SetBasicAuth("admin", "legacy") }, "admin/admin/basic"},
		{"token", "192.0.2.1:1", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wigo_ci") }, "token:ci/viewer/token"},
		{"unknown token", "192.0.2.1:1", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wigo_cj") }, "error"},
		{"proxy", "10.9.1.2:1", func(r *http.Request) { r.Header.Set("X-Forwarded-User", "carol") }, "carol/viewer/proxy"},
		{"proxy with a role", "10.9.1.2:1", func(r *http.Request) {
			r.Header.Set("X-Forwarded-User", "carol")
			r.Header.Set("X-Forwarded-Role", "admin")
		}, "carol/admin/proxy"},
		{"proxy with a bad role", "10.9.1.2:1", func(r *http.Request) {
			r.Header.Set("X-Forwarded-User", "carol")
			r.Header.Set("X-Forwarded-Role", "root")
		}, "error"},
		{"proxy header from elsewhere", "192.0.2.1:1", func(r *http.Request) {
			r.Header.Set("X-Forwarded-User", "carol")
			r.Header.Set("X-Forwarded-Role", "admin")
		}, "anonymous/none/anonymous"},
		{"loopback", "127.0.0.1:1", nil, "local/viewer/local"},
		{"loopback v6", "[::1]:1", nil, "local/viewer/local"},
		{"anonymous", "192.0.2.1:1", nil, "anonymous/none/anonymous"},
	} {
		id, err := a.Identify(request(c.remote, c.set))
		got := id.Name + "/" + id.Role.String() + "/" + id.Via
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%s: %s (%v), want %s", c.name, got, err, c.want)
		}
	}
}

// Below the role a route needs: 401 without credentials, 403 naming the
// role with them; ten wrong passwords in a minute block the address (429)
// even for a right one, until the minute is over.
func TestMiddlewareAndRequire(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	a := New(Options{Users: []User{{Name: "vic", PasswordHash: mustHash(t, "pw"), Role: RoleViewer}},
		Anonymous: RoleNone, Local: RoleAdmin, Deny: deny, Now: func() time.Time { return now }})
	h := a.Middleware(a.Require(RoleOperator, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := FromRequest(r)
		w.Write([]byte(id.Name))
	})))
	do := func(remote, user, pw string) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request(remote, func(r *http.Request) {
			if user != "" {
				r.SetBasicAuth(user, pw)
			}
		}))
		return w.Code, w.Body.String()
	}
	if code, body := do("192.0.2.7:1", "", ""); code != 401 || !strings.Contains(body, "needs the operator role") {
		t.Errorf("anonymous: %d %s", code, body)
	}
	if code, body := do("192.0.2.7:1", "vic", "pw"); code != 403 || !strings.Contains(body, "vic has the viewer role; this needs operator") {
		t.Errorf("viewer: %d %s", code, body)
	}
	if code, body := do("127.0.0.1:9", "", ""); code != 200 || body != "local" {
		t.Errorf("loopback: %d %s", code, body)
	}
	for i := range 10 {
		if code, _ := do("192.0.2.8:1", "vic", "wrong"); code != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, code)
		}
	}
	if code, body := do("192.0.2.8:1", "vic", "pw"); code != 429 || !strings.Contains(body, "too many failed logins from 192.0.2.8") {
		t.Errorf("after 10 failures: %d %s, want 429", code, body)
	}
	if code, _ := do("192.0.2.7:1", "vic", "pw"); code != 403 {
		t.Errorf("another address is not blocked: %d", code)
	}
	now = now.Add(61 * time.Second)
	if code, _ := do("192.0.2.8:1", "vic", "pw"); code != 403 {
		t.Errorf("a minute later: %d, want the viewer's 403 again", code)
	}
}
