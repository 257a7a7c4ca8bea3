package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// A pull master that sends back the ETag of its last answer is answered
// 304 with no body until the state changes; then it gets the new document
// and a new tag.
func TestDocumentETag(t *testing.T) {
	st, clk := newFixtureState(t)
	h := New(Options{State: st, Gzip: true})
	for _, path := range []string{"/api", "/api/hosts/leaf-1"} {
		first := serve(h, get(path))
		tag := first.Header().Get("ETag")
		if first.Code != http.StatusOK || !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || strings.HasPrefix(tag, "W/") {
			t.Fatalf("%s: status %d, ETag %q: want 200 and a strong tag", path, first.Code, tag)
		}
		again := serve(h, get(path).with("If-None-Match", tag))
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Fatalf("%s unchanged, If-None-Match %s: status %d, %d bytes; want 304, no body", path, tag, again.Code, again.Body.Len())
		}
		if got := again.Header().Get("ETag"); got != tag {
			t.Errorf("%s: 304 carries ETag %q, want %q", path, got, tag)
		}
		if again.Header().Get("Vary") != "Accept-Encoding" || again.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: 304 Vary %q Content-Encoding %q", path, again.Header().Get("Vary"), again.Header().Get("Content-Encoding"))
		}
		// Among others, weak, or for the gzipped representation: same
		// revision, still 304.
		gz := serve(h, get(path).with("Accept-Encoding", "gzip"))
		gzTag := gz.Header().Get("ETag")
		if gzTag == tag || gz.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: gzipped answer tagged %q like the plain one %q", path, gzTag, tag)
		}
		for _, inm := range []string{`"x", ` + tag, "W/" + tag, gzTag, "*"} {
			if w := serve(h, get(path).with("If-None-Match", inm)); w.Code != http.StatusNotModified {
				t.Errorf("%s: If-None-Match %s: status %d, want 304", path, inm, w.Code)
			}
		}
		if w := serve(h, request{method: http.MethodHead, target: path}.with("If-None-Match", tag)); w.Code != http.StatusNotModified {
			t.Errorf("%s: HEAD with the tag: status %d, want 304", path, w.Code)
		}
		for _, inm := range []string{`"other"`, strings.Trim(tag, `"`), `""`} {
			if w := serve(h, get(path).with("If-None-Match", inm)); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), first.Body.Bytes()) {
				t.Errorf("%s: If-None-Match %s: status %d, want 200 with the document", path, inm, w.Code)
			}
		}

		// A probe runs: the document changed, so must the tag.
		clk.Advance(time.Second)
		st.ProbeResult(&model.ProbeResult{Name: "crit", Status: 300, Message: "still down", Timestamp: clk.Now().Unix()})
		changed := serve(h, get(path).with("If-None-Match", tag))
		if changed.Code != http.StatusOK || changed.Header().Get("ETag") == tag {
			t.Fatalf("%s after a change, old tag sent: status %d, ETag %q; want 200 and a new tag", path, changed.Code, changed.Header().Get("ETag"))
		}
	}
}

// A client that sends no If-None-Match (an original master, wigocli) gets
// the document it always got, byte for byte; a route not built from the
// documents carries no tag; a 404 carries none either.
func TestETagChangesNothingElse(t *testing.T) {
	st, _ := newFixtureState(t)
	h := New(Options{State: st})
	w := serve(h, get("/api"))
	if w.Code != http.StatusOK || w.Header().Get("ETag") == "" {
		t.Fatalf("status %d ETag %q", w.Code, w.Header().Get("ETag"))
	}
	if !bytes.Equal(w.Body.Bytes(), serve(New(Options{State: st}), get("/api")).Body.Bytes()) {
		t.Error("two answers of the same state differ")
	}
	for _, path := range []string{"/api/status", "/api/hosts", "/api/hosts/nope"} {
		if tag := serve(h, get(path)).Header().Get("ETag"); tag != "" {
			t.Errorf("%s carries ETag %q", path, tag)
		}
	}
	// Another process (a restart) never takes this one's tag for its own.
	if other := serve(New(Options{State: st}), get("/api")).Header().Get("ETag"); other == w.Header().Get("ETag") {
		t.Errorf("two API instances answer the same tag %q", other)
	}
}
