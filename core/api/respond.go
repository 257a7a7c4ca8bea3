package api

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync"

	"github.com/wigo-project/wigo/core/model"
)

// Error is an API failure as the client sees it: a status code and one
// sentence, answered as {"error": "..."}. Every error answer goes through it,
// so clients parse one shape. Err, when set, is the cause: logged, never sent,
// since it may name files or internals.
type Error struct {
	// Status is the HTTP status code answered.
	Status int
	// Message is the sentence answered in the "error" key.
	Message string
	// Err is the underlying cause, for the daemon's log only.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// errorf builds an *Error with a formatted message.
func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers err as JSON. Anything but an *Error is a bug or an
// unexpected failure: the client gets a generic 500 and the log gets the
// details.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Message: "internal error; see the daemon's log", Err: err}
	}
	// A 5xx is logged as an error when something failed: an internal
	// error, or a cause underneath (a plugin that did not answer). A plain
	// "not enabled here" (no push server, no log store) is a normal answer
	// to a normal page view, and only the client needs to read it.
	if e.Status == http.StatusInternalServerError || (e.Status > 500 && e.Err != nil) {
		if r.Context().Err() != nil {
			// The client went away mid-request; nothing is broken.
			s.log.Debug("request cancelled", "method", r.Method, "path", r.URL.Path, "error", err)
		} else {
			s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", e.Status, "error", err)
		}
	}
	s.writeJSON(w, r, e.Status, errorBody{Error: e.Message})
}

// gzipPool recycles compressors: a gzip.Writer allocates hundreds of KB of
// tables, and doing that per request would dominate small answers. BestSpeed,
// because the big answer (GET /api, polled by every pull master) is
// repetitive JSON that compresses well even at the fastest level.
var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// lazyHeader delays WriteHeader until the first byte of body, so a value that
// fails to encode can still be answered as a 500 (encoding/json marshals the
// whole value before its single Write).
type lazyHeader struct {
	w       http.ResponseWriter
	status  int
	started bool
}

func (l *lazyHeader) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.WriteHeader(l.status)
	}
	return l.w.Write(p)
}

// writeJSON answers v with the given status, gzipped when enabled and
// accepted. It encodes straight into the response (through the compressor
// when there is one): no intermediate string of the answer is built, and a
// whole-instance document is streamed in 32 KB pieces.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	c, isCSV := v.(*csvAnswer)
	if isCSV {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": c.filename}))
	}
	h.Set("Cache-Control", "no-store")
	if s.gzip && !slices.Contains(h.Values("Vary"), "Accept-Encoding") {
		// Whether or not this client gets gzip, a cache must key on it.
		h.Add("Vary", "Accept-Encoding")
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	lw := &lazyHeader{w: w, status: status}
	var out io.Writer = lw
	var gz *gzip.Writer
	if s.gzipFor(r) {
		h.Set("Content-Encoding", "gzip")
		gz = gzipPool.Get().(*gzip.Writer)
		gz.Reset(lw)
		out = gz
	}
	var err error
	if isCSV {
		err = c.write(out)
	} else if doc, ok := v.(*model.Wigo); ok {
		// The big one (GET /api, /api/hosts/:hostname), polled by every
		// pull master: streamed, see model.WriteDocument.
		err = model.WriteDocument(out, doc)
	} else {
		err = json.NewEncoder(out).Encode(v)
	}
	if gz != nil {
		if err == nil {
			err = gz.Close()
		}
		gzipPool.Put(gz)
	}
	if err == nil {
		return
	}
	if lw.started {
		// Headers are gone: the client will see a short body. Usually it
		// hung up.
		s.log.Debug("writing answer failed", "method", r.Method, "path", r.URL.Path, "error", err)
		return
	}
	s.log.Error("encoding answer failed", "method", r.Method, "path", r.URL.Path, "error", err)
	h.Del("Content-Encoding")
	w.WriteHeader(http.StatusInternalServerError)
	_ = json.NewEncoder(w).Encode(errorBody{Error: "internal error: the answer could not be encoded"})
}
