package ui

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestIndexRevalidatedAssetsImmutable(t *testing.T) {
	h := New()
	idx := get(t, h, "/", nil)
	if idx.Code != 200 || idx.Header().Get("Cache-Control") != "no-cache" || idx.Header().Get("ETag") == "" {
		t.Fatalf("index: %d %v", idx.Code, idx.Header())
	}
	if !strings.HasPrefix(idx.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("index content type %q", idx.Header().Get("Content-Type"))
	}
	if r := get(t, h, "/", map[string]string{"If-None-Match": idx.Header().Get("ETag")}); r.Code != http.StatusNotModified {
		t.Fatalf("revalidation with the ETag: %d, want 304", r.Code)
	}
	body := idx.Body.String()
	refs := regexp.MustCompile(`"assets/([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) != 2 {
		t.Fatalf("index refers to %d assets, want app.css and app.js: %s", len(refs), body)
	}
	for _, ref := range refs {
		if !regexp.MustCompile(`^app\.[0-9a-f]{12}\.(css|js)$`).MatchString(ref[1]) {
			t.Errorf("asset %q is not content-hashed", ref[1])
		}
		r := get(t, h, "/assets/"+ref[1], nil)
		if r.Code != 200 || r.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("asset %s: %d %v", ref[1], r.Code, r.Header())
		}
		if strings.HasSuffix(ref[1], ".js") && !strings.HasPrefix(r.Header().Get("Content-Type"), "text/javascript") {
			t.Errorf("module served as %q: browsers refuse modules without a JavaScript type", r.Header().Get("Content-Type"))
		}
	}
	if r := get(t, h, "/assets/app.js", nil); r.Code != 404 || r.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("unhashed asset name: %d %v, want an uncached 404", r.Code, r.Header())
	}
	if r := get(t, h, "/nope", nil); r.Code != 404 {
		t.Errorf("unknown path: %d", r.Code)
	}
	if h.Paths["app.js"] == "" || !strings.Contains(body, strings.TrimPrefix(h.Paths["app.js"], "/")) {
		t.Errorf("Paths = %v", h.Paths)
	}
}
