package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/model"
)

// allRoutes is one concrete request per route of the table.
var allRoutes = []request{
	get("/api"), get("/api/status"), get("/api/logs"), get("/api/logs/indexes"), get("/api/groups"),
	get("/api/groups/web"), get("/api/groups/web/logs"), get("/api/groups/web/probes/warn/logs"),
	get("/api/hosts"), get("/api/hosts/leaf-1"), get("/api/hosts/leaf-1/status"), get("/api/hosts/leaf-1/logs"),
	get("/api/hosts/leaf-1/probes"), get("/api/hosts/leaf-1/probes/warn"), get("/api/hosts/leaf-1/probes/warn/status"),
	get("/api/hosts/leaf-1/probes/warn/logs"), get("/api/probes/warn/logs"), get("/api/authority/hosts"),
	{method: http.MethodPost, target: "/api/authority/hosts/" + leafUUID + "/allow"},
	{method: http.MethodPost, target: "/api/authority/hosts/" + leafUUID + "/revoke"},
	{method: http.MethodPost, target: "/api/authority/hosts/" + otherUUID + "/relay"},
}

// otherUUID is the fake authority's allowed client.
const otherUUID = "0b7f6c2e-1111-4c38-8965-532bf22cd66a"

// fakeAuthority is a test double of the push server plugin, which does not
// exist yet: it records calls and answers from its maps.
type fakeAuthority struct {
	mu      sync.Mutex
	waiting map[string]string
	allowed map[string]string
	calls   []string
	fail    error
	panics  bool
}

func newFakeAuthority() *fakeAuthority {
	return &fakeAuthority{
		waiting: map[string]string{leafUUID: "leaf-1"},
		allowed: map[string]string{"0b7f6c2e-1111-4c38-8965-532bf22cd66a": "leaf-2"},
	}
}

func (a *fakeAuthority) List(context.Context) (map[string]string, map[string]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.panics {
		panic("authority exploded")
	}
	a.calls = append(a.calls, "list")
	// Copies: the caller encodes them after the lock is released, as it
	// may with a real authority, whose answers are its own.
	return maps.Clone(a.waiting), maps.Clone(a.allowed), a.fail
}

func (a *fakeAuthority) Allow(_ context.Context, uuid string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "allow "+uuid)
	if a.fail != nil {
		return a.fail
	}
	name, ok := a.waiting[uuid]
	if !ok {
		return fmt.Errorf("client %s: %w", uuid, ErrUnknownClient)
	}
	delete(a.waiting, uuid)
	a.allowed[uuid] = name
	return nil
}

func (a *fakeAuthority) Revoke(_ context.Context, uuid string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "revoke "+uuid)
	if a.fail != nil {
		return a.fail
	}
	if _, ok := a.allowed[uuid]; !ok {
		return fmt.Errorf("client %s: %w", uuid, ErrUnknownClient)
	}
	delete(a.allowed, uuid)
	return nil
}

func (a *fakeAuthority) Relay(_ context.Context, uuid string, relay bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, fmt.Sprintf("relay %s %t", uuid, relay))
	if a.fail != nil {
		return a.fail
	}
	if _, ok := a.allowed[uuid]; !ok {
		return fmt.Errorf("client %s: %w", uuid, ErrUnknownClient)
	}
	return nil
}

func (a *fakeAuthority) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

func TestEveryRouteAnswersJSON(t *testing.T) {
	st, _ := newFixtureState(t)
	h := New(Options{State: st, Logs: newStore(t, fixtureLogs...), Authority: newFakeAuthority(), Version: "1.2.3"})
	for _, q := range allRoutes {
		w := serve(h, q)
		if w.Code != 200 {
			t.Errorf("%s %s: status %d: %s", q.method, q.target, w.Code, w.Body)
		}
		if v := w.Header().Get("X-Wigo-Version"); v != "1.2.3" {
			t.Errorf("%s %s: X-Wigo-Version %q", q.method, q.target, v)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", q.method, q.target, ct)
		}
	}
}

func TestNotFound(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	for route, sentence := range map[string]string{
		"/api/hosts/nope":                      `host "nope" not found`,
		"/api/hosts/nope/status":               `host "nope" not found`,
		"/api/hosts/nope/probes":               `host "nope" not found`,
		"/api/hosts/nope/probes/warn":          `host "nope" not found`,
		"/api/hosts/leaf-1/probes/nope":        `probe "nope" not found on host "leaf-1"`,
		"/api/hosts/leaf-1/probes/nope/status": `probe "nope" not found on host "leaf-1"`,
		"/api/groups/nope":                     `group "nope" not found`,
		"/api/nope":                            "no such route: GET /api/nope",
		"/api/hosts/leaf-1/nope":               "no such route",
		"/api/hosts/":                          "no such route",
		"/elsewhere":                           "no such route",
	} {
		if msg := wantError(t, serve(h, get(route)), 404); !strings.Contains(msg, sentence) {
			t.Errorf("%s: %q, want %q", route, msg, sentence)
		}
	}
}

func TestMethods(t *testing.T) {
	st, _ := newFixtureState(t)
	auth := newFakeAuthority()
	h := New(Options{State: st, Authority: auth})
	for _, target := range []string{"/api/authority/hosts/" + leafUUID + "/allow", "/api/authority/hosts/" + leafUUID + "/revoke"} {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete} {
			w := serve(h, request{method: m, target: target})
			if w.Code != 405 || w.Header().Get("Allow") != "POST" {
				t.Errorf("%s %s: %d Allow=%q, want 405 Allow=POST", m, target, w.Code, w.Header().Get("Allow"))
			}
			if m != http.MethodHead {
				wantError(t, w, 405)
			}
		}
	}
	if len(auth.Calls()) != 0 {
		t.Errorf("a refused method reached the push server: %v", auth.Calls())
	}
	for _, target := range []string{"/api", "/api/hosts/leaf-1", "/api/logs", "/api/authority/hosts"} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			if m == http.MethodDelete && target == "/api/hosts/leaf-1" {
				continue // removes the host: TestDeleteHost
			}
			w := serve(h, request{method: m, target: target})
			if msg := wantError(t, w, 405); !strings.Contains(msg, "use GET") {
				t.Errorf("%s %s: %q", m, target, msg)
			}
			// The Allow header names every method of the path.
			allow := "GET, HEAD"
			if target == "/api/hosts/leaf-1" {
				allow = "GET, HEAD, DELETE"
			}
			if w.Header().Get("Allow") != allow {
				t.Errorf("%s %s: Allow %q, want %q", m, target, w.Header().Get("Allow"), allow)
			}
		}
	}
	w := serve(h, request{method: http.MethodHead, target: "/api"})
	if w.Code != 200 || w.Body.Len() != 0 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("HEAD /api: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

func TestBasicAuth(t *testing.T) {
	st, _ := newFixtureState(t)
	auth := newFakeAuthority()
	logs := newStore(t)
	h := New(Options{State: st, Logs: logs, Authority: auth, Auth: withLogin("admin", "s3cret"), Version: "1.2.3"})
	routes := append(allRoutes, get("/api/nope"), get("/elsewhere"),
		request{method: http.MethodGet, target: "/api/authority/hosts/" + leafUUID + "/allow"})
	for _, q := range routes {
		for name, deny := range map[string]request{
			"no credentials": q,
			"wrong password": q.auth("admin", "s3cret!"),
			"wrong login":    q.auth("root", "s3cret"),
			"both wrong":     q.auth("root", "x"),
			"swapped":        q.auth("s3cret", "admin"),
			"empty":          q.auth("", ""),
			"bearer":         q.with("Authorization", "Bearer s3cret"),
		} {
			// A handler each: ten failures from one address block it.
			w := serve(New(Options{State: st, Logs: logs, Authority: auth, Auth: withLogin("admin", "s3cret"), Version: "1.2.3"}), deny)
			if msg := wantError(t, w, 401); !strings.HasPrefix(msg, "authentication required: this needs the ") && msg != "the credentials are not valid" {
				t.Errorf("%s %s, %s: %q", q.method, q.target, name, msg)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != `Basic realm="wigo"` {
				t.Errorf("%s %s, %s: WWW-Authenticate %q", q.method, q.target, name, got)
			}
			if v := w.Header().Get("X-Wigo-Version"); v != "" {
				t.Errorf("%s %s, %s: version %q told to an unauthenticated client", q.method, q.target, name, v)
			}
		}
	}
	if len(auth.Calls()) != 0 {
		t.Fatalf("unauthenticated requests reached the push server: %v", auth.Calls())
	}
	for _, q := range allRoutes {
		if w := serve(h, q.auth("admin", "s3cret")); w.Code != 200 {
			t.Errorf("%s %s with credentials: %d %s", q.method, q.target, w.Code, w.Body)
		}
	}
	if got := auth.Calls(); !reflect.DeepEqual(got, []string{"list", "allow " + leafUUID, "revoke " + leafUUID, "relay " + otherUUID + " true"}) {
		t.Errorf("push server calls %v", got)
	}
}

func TestGzip(t *testing.T) {
	st, _ := newFixtureState(t)
	plain := serve(New(Options{State: st}), get("/api"))
	h := New(Options{State: st, Gzip: true})

	for _, ae := range []string{"gzip", "deflate, gzip;q=0.5", "br;q=1.0, GZIP", "*"} {
		w := serve(h, get("/api").with("Accept-Encoding", ae))
		if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q Vary %q", ae, w.Header().Get("Content-Encoding"), w.Header().Get("Vary"))
		}
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Errorf("gzipped Content-Type %q", w.Header().Get("Content-Type"))
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, plain.Body.Bytes()) {
			t.Errorf("gunzipped answer differs from the plain one")
		}
	}
	for _, ae := range []string{"", "deflate", "gzip;q=0", "identity", "*;q=0", "gzip;q=0, *"} {
		w := serve(h, get("/api").with("Accept-Encoding", ae))
		if w.Header().Get("Content-Encoding") != "" || !bytes.Equal(w.Body.Bytes(), plain.Body.Bytes()) {
			t.Errorf("Accept-Encoding %q: compressed although not accepted", ae)
		}
		if w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary %q (caches must key on it whenever gzip is on)", ae, w.Header().Get("Vary"))
		}
	}
	// Errors are JSON, gzipped or not.
	w := serve(h, get("/api/hosts/nope").with("Accept-Encoding", "gzip"))
	zr, err := gzip.NewReader(w.Body)
	if err != nil || w.Code != 404 {
		t.Fatalf("gzipped 404: %d %v", w.Code, err)
	}
	if body, _ := io.ReadAll(zr); !strings.Contains(string(body), `"error":"host \"nope\" not found"`) {
		t.Errorf("gzipped 404 body %s", body)
	}

	// Off: never compressed, no Vary.
	w = serve(New(Options{State: st}), get("/api").with("Accept-Encoding", "gzip"))
	if w.Header().Get("Content-Encoding") != "" || w.Header().Get("Vary") != "" {
		t.Errorf("gzip off: Content-Encoding %q Vary %q", w.Header().Get("Content-Encoding"), w.Header().Get("Vary"))
	}
}

// Without a push server the authority routes answer 503 with a sentence,
// and the daemon's log stays quiet: the dashboard's Authority tab asks on
// every view, and nothing is wrong.
func TestAuthorityWithoutPushServer(t *testing.T) {
	st, _ := newFixtureState(t)
	var logs strings.Builder
	h := New(Options{State: st, Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})})
	for _, q := range []request{
		get("/api/authority/hosts"),
		{method: http.MethodPost, target: "/api/authority/hosts/" + leafUUID + "/allow"},
		{method: http.MethodPost, target: "/api/authority/hosts/" + leafUUID + "/revoke"},
		{method: http.MethodPost, target: "/api/authority/hosts/" + leafUUID + "/relay"},
	} {
		if msg := wantError(t, serve(h, q), 503); msg != "push server is not enabled on this instance" {
			t.Errorf("%s %s: %q", q.method, q.target, msg)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("the daemon logged for a normal answer:\n%s", logs.String())
	}
}

func TestAuthority(t *testing.T) {
	st, _ := newFixtureState(t)
	auth := newFakeAuthority()
	h := New(Options{State: st, Authority: auth})
	post := func(target string) request { return request{method: http.MethodPost, target: target} }
	other := "0b7f6c2e-1111-4c38-8965-532bf22cd66a"

	got := mustJSON(t, serve(h, get("/api/authority/hosts")), 200)
	want := map[string]any{"waiting": map[string]any{leafUUID: "leaf-1"}, "allowed": map[string]any{other: "leaf-2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("list = %v, want %v", got, want)
	}
	if v := mustJSON(t, serve(h, post("/api/authority/hosts/"+leafUUID+"/allow")), 200); v != "OK" {
		t.Errorf("allow answered %v", v)
	}
	if v := mustJSON(t, serve(h, post("/api/authority/hosts/"+other+"/revoke")), 200); v != "OK" {
		t.Errorf("revoke answered %v", v)
	}
	got = mustJSON(t, serve(h, get("/api/authority/hosts")), 200)
	want = map[string]any{"waiting": map[string]any{}, "allowed": map[string]any{leafUUID: "leaf-1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after allow and revoke: %v, want %v", got, want)
	}

	// Unknown client: 404, not a push server failure.
	wantError(t, serve(h, post("/api/authority/hosts/"+other+"/allow")), 404)

	// Invalid UUIDs never reach the plugin.
	before := len(auth.Calls())
	for _, bad := range []string{"not_a_uuid", "a%20b", "x%27%20OR%201%3D1", strings.Repeat("a", 65), "%C3%A9t%C3%A9", "..%2F..%2Fetc"} {
		for _, action := range []string{"allow", "revoke"} {
			msg := wantError(t, serve(h, post("/api/authority/hosts/"+bad+"/"+action)), 400)
			if !strings.Contains(msg, "invalid client UUID") {
				t.Errorf("%s %s: %q", bad, action, msg)
			}
		}
	}
	if after := auth.Calls(); len(after) != before {
		t.Errorf("invalid UUIDs reached the push server: %v", after[before:])
	}

	// A failing plugin is a 502 that says what failed.
	auth.fail = errors.New("allowed-clients file is read-only")
	for _, q := range []request{get("/api/authority/hosts"), post("/api/authority/hosts/" + leafUUID + "/revoke")} {
		if msg := wantError(t, serve(h, q), 502); msg != "push server: allowed-clients file is read-only" {
			t.Errorf("%s %s: %q", q.method, q.target, msg)
		}
	}

	// Nil maps from the plugin still answer both keys as objects.
	auth = &fakeAuthority{}
	w := serve(New(Options{State: st, Authority: auth}), get("/api/authority/hosts"))
	mustJSON(t, w, 200)
	if got := strings.TrimSpace(w.Body.String()); got != `{"waiting":{},"allowed":{}}` {
		t.Errorf("empty authority = %s", got)
	}
	for _, d := range shapeDiff("$", decodeAny(t, w.Body.Bytes()), map[string]any{"waiting": map[string]any{}, "allowed": map[string]any{}}) {
		t.Error(d)
	}
}

// TestPanicRecovered: a panicking handler is a logged 500 JSON error, the
// handler keeps serving, and requests are logged at debug level.
func TestPanicRecovered(t *testing.T) {
	st, _ := newFixtureState(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: &lockedWriter{w: &buf, mu: &mu}})
	h := New(Options{State: st, Authority: &fakeAuthority{panics: true}, Logger: logger})

	if msg := wantError(t, serve(h, get("/api/authority/hosts")), 500); !strings.Contains(msg, "internal error") {
		t.Errorf("panic answered %q", msg)
	}
	mustJSON(t, serve(h, get("/api/status")), 200)
	mu.Lock()
	log := buf.String()
	mu.Unlock()
	for _, want := range []string{"panic in API handler", "authority exploded", "path=/api/authority/hosts",
		"request: method=GET path=/api/status query=\"\" status=200"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZip": true, "x-gzip": false, "gzip;q=0": false, "gzip; q=0.001": true,
		"deflate, br": false, "*": true, "*;q=0": false, "gzip;q=0, *": false, "identity, *;q=0.1": true,
		"br, gzip ; q = 0.8": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

// TestConcurrentReadsWhileIngesting serves every route from many goroutines
// while the state changes underneath (run with -race): documents are shared
// snapshots and the encoders are pooled, so nothing may race.
func TestConcurrentReadsWhileIngesting(t *testing.T) {
	st, clk := newFixtureState(t)
	h := New(Options{State: st, Logs: newStore(t, fixtureLogs...), Gzip: true, Authority: newFakeAuthority()})
	done := make(chan struct{})
	ingested := make(chan struct{})
	go func() {
		defer close(ingested)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			doc := &model.Wigo{Uuid: leafUUID, IsAlive: true, Hostname: "leaf-1", LocalHost: &model.Host{
				Name: "leaf-1", Group: "web", Probes: map[string]*model.ProbeResult{
					"warn": {Name: "warn", Status: 200 + i%200, Message: fmt.Sprint(i)},
				}}}
			if err := st.Ingest("test", doc); err != nil {
				t.Error(err)
				return
			}
			clk.Advance(time.Second)
			st.CheckAlive()
		}
	}()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				q := allRoutes[(g+i)%len(allRoutes)]
				if q.method == http.MethodGet && i%2 == 0 {
					q = q.with("Accept-Encoding", "gzip")
				}
				if w := serve(h, q); w.Code >= 500 {
					t.Errorf("%s %s: %d %s", q.method, q.target, w.Code, w.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	<-ingested
}

// detailedAuthority describes its clients in full, as the push plugin does.
type detailedAuthority struct{ *fakeAuthority }

func (a detailedAuthority) Clients(context.Context) (waiting, allowed []AuthorityClient, err error) {
	return []AuthorityClient{{UUID: leafUUID, Hostname: "leaf-1", Remote: "192.0.2.7:40112", FirstSeen: "2026-12-03T12:00:00Z", KeyFingerprint: "SHA256:abc"}},
		[]AuthorityClient{{UUID: otherUUID, Hostname: "leaf-2", KeyFingerprint: "SHA256:def", UnrelayedHosts: 3}}, nil
}

// The waiting list shows, beside the original's UUID → hostname maps, each
// client's source address, first-seen time and key fingerprint, and the
// allowed list each client's relay grant and what it carried without one;
// relay is granted and withdrawn with POST .../relay, through the push
// server, and refused with a sentence by an authority without relays.
func TestAuthorityDetailsAndRelay(t *testing.T) {
	st, _ := newFixtureState(t)
	fake := newFakeAuthority()
	h := New(Options{State: st, Authority: detailedAuthority{fake}})
	got := mustJSON(t, serve(h, get("/api/authority/hosts")), 200)
	want := map[string]any{
		"waiting": map[string]any{leafUUID: "leaf-1"}, "allowed": map[string]any{otherUUID: "leaf-2"},
		"waiting_clients": []any{map[string]any{"uuid": leafUUID, "hostname": "leaf-1", "remote": "192.0.2.7:40112",
			"first_seen": "2026-12-03T12:00:00Z", "key_fingerprint": "SHA256:abc", "relay": false}},
		"allowed_clients": []any{map[string]any{"uuid": otherUUID, "hostname": "leaf-2", "key_fingerprint": "SHA256:def",
			"relay": false, "unrelayed_hosts": float64(3)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("list = %v\nwant %v", got, want)
	}
	// Described but empty: both lists present, empty.
	empty := New(Options{State: st, Authority: emptyDetails{newFakeAuthority()}})
	if got := mustJSON(t, serve(empty, get("/api/authority/hosts")), 200).(map[string]any); !reflect.DeepEqual(got["waiting_clients"], []any{}) ||
		!reflect.DeepEqual(got["allowed_clients"], []any{}) {
		t.Errorf("empty details = %v", got)
	}
	post := func(target string) request { return request{method: http.MethodPost, target: target} }
	for _, q := range []string{"/relay", "/relay?relay=1", "/relay?relay=0"} {
		if v := mustJSON(t, serve(h, post("/api/authority/hosts/"+otherUUID+q)), 200); v != "OK" {
			t.Errorf("%s answered %v", q, v)
		}
	}
	wantError(t, serve(h, post("/api/authority/hosts/"+leafUUID+"/relay")), 404) // waiting, not allowed
	if msg := wantError(t, serve(h, post("/api/authority/hosts/"+otherUUID+"/relay?relay=maybe")), 400); !strings.Contains(msg, "invalid relay") {
		t.Errorf("relay=maybe: %q", msg)
	}
	wantError(t, serve(h, get("/api/authority/hosts/"+otherUUID+"/relay")), 405)
	if got, want := fake.Calls(), []string{"list", "relay " + otherUUID + " true", "relay " + otherUUID + " true",
		"relay " + otherUUID + " false", "relay " + leafUUID + " true"}; !reflect.DeepEqual(got, want) {
		t.Errorf("push server calls %v, want %v", got, want)
	}

	// An authority without relays: a sentence saying what to do instead.
	h = New(Options{State: st, Authority: struct{ Authority }{newFakeAuthority()}})
	if msg := wantError(t, serve(h, post("/api/authority/hosts/"+otherUUID+"/relay")), 501); !strings.Contains(msg, "allowed_clients_file") {
		t.Errorf("without relays: %q", msg)
	}
}

// emptyDetails describes no client.
type emptyDetails struct{ *fakeAuthority }

func (emptyDetails) Clients(context.Context) (waiting, allowed []AuthorityClient, err error) {
	return nil, nil, nil
}
