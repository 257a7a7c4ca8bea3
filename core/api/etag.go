package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/wigo-project/wigo/core/edge"
)

// Conditional GET of the documents. A pull master polls GET /api every few
// seconds, and most polls find what it already has: probes run every 60 to
// 300 s, masters poll every 10 s. The answer carries a strong ETag made of
// the state's revision (core/state: it moves with every change of what the
// documents render), so a master that sends it back in If-None-Match is
// answered 304 with no body, and neither side builds, compresses, sends or
// decodes the document. A client that sends no If-None-Match (an original
// Wigo master, wigocli, a browser) gets exactly the answer it always got,
// with one more header.
//
// The tag is "<epoch>-<revision>" in hexadecimal, with "-gzip" appended to
// the gzipped answer's: each representation has its own strong tag, as
// RFC 9110 wants of a content coding, yet either one names the same
// revision, so a client that changes its Accept-Encoding still gets 304.

// gzipSuffix marks the tag of the gzipped representation.
const gzipSuffix = "-gzip"

// etag is the tag of r's answer from the current revision.
func (s *server) etag(r *http.Request) string {
	tag := `"` + s.etagBase()
	if s.gzipFor(r) {
		tag += gzipSuffix
	}
	return tag + `"`
}

// etagBase is the tag's revision part, without quotes nor coding.
func (s *server) etagBase() string {
	b := strconv.AppendUint(make([]byte, 0, 40), s.epoch, 16)
	b = append(b, '-')
	return string(strconv.AppendUint(b, s.state.Revision(), 16))
}

// gzipFor reports whether r's answer is gzipped (writeJSON's choice).
func (s *server) gzipFor(r *http.Request) bool {
	return s.gzip && edge.AcceptsGzip(r.Header.Get("Accept-Encoding"))
}

// notModified reports whether the If-None-Match header values name the
// revision of tag: "*", or one listed tag equal to it by weak comparison
// (W/ ignored, as RFC 9110 says for If-None-Match) whatever its coding.
func notModified(header []string, tag string) bool {
	want := strings.TrimSuffix(strings.Trim(tag, `"`), gzipSuffix)
	for _, h := range header {
		for t := range strings.SplitSeq(h, ",") {
			t = strings.TrimSpace(t)
			if t == "*" {
				return true
			}
			t = strings.TrimPrefix(t, "W/")
			if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
				continue
			}
			if strings.TrimSuffix(t[1:len(t)-1], gzipSuffix) == want {
				return true
			}
		}
	}
	return false
}

// writeNotModified answers 304 with the headers the 200 would have carried
// that a cache needs (RFC 9110: ETag, Vary, Cache-Control), and no body.
func (s *server) writeNotModified(w http.ResponseWriter, tag string) {
	h := w.Header()
	h.Set("ETag", tag)
	h.Set("Cache-Control", "no-store")
	if s.gzip {
		h.Add("Vary", "Accept-Encoding")
	}
	w.WriteHeader(http.StatusNotModified)
}
