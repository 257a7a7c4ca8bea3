package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzQuery: any path and query string on the API's routes is answered
// with a JSON body (or a redirect to the clean path) and a status a client can act on — never a panic, never
// a 500 (which would mean an input reached a failure the API did not
// describe).
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"/api/logs?limit=10&offset=5", "/api/logs?limit=0", "/api/logs?limit=-1&offset=1e9",
		"/api/logs?host=web-1&group=web&probe=load", "/api/hosts/leaf-1/probes/warn/logs?limit=1001",
		"/api/groups/%00/logs", "/api/hosts/..%2f..%2fetc/status", "/api/logs?limit=9223372036854775808",
		"/api/logs?host=%27%20OR%201=1--", "/api/probes/x/logs?offset=%20", "/api?x=%zz",
		"/api/logs?level=crit&level_exact=1", "/api/logs?q=oom-killer%20%22*&level=warn", "/api/logs?q=NEAR(a%20-b)",
	} {
		f.Add(s)
	}
	h, _, _ := fixtureHandler(f)
	f.Fuzz(func(t *testing.T, target string) {
		if len(target) == 0 || target[0] != '/' {
			target = "/api/logs?" + target
		}
		req, err := http.NewRequest(http.MethodGet, "http://wigo"+target, nil)
		if err != nil {
			return // not a URL a client could send
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
		}
		// (A non-canonical path, "/api/../x", is redirected by net/http
		// to its clean form before any route: that answer is its own.)
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" && (w.Code < 300 || w.Code > 308) {
			t.Fatalf("GET %s: %d, Content-Type %q", target, w.Code, ct)
		}
	})
}
