package api

import (
	"net/http"
	"runtime/debug"
	"time"
)

// recorder remembers what was answered, for the request log and for the
// panic handler (which may only write an error if nothing was sent yet).
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flush,
// deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe is the outermost layer: it turns a panicking handler into a logged
// 500 instead of a dropped connection with nothing in our log, and logs every
// request at debug level. It sits outside authentication so refused requests
// are logged too.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in API handler", "method", r.Method, "path", r.URL.Path,
					"panic", v, "stack", string(debug.Stack()))
				if rec.status != 0 {
					// Part of the answer is out; abort the connection so the
					// client cannot take the short body for a whole one.
					panic(http.ErrAbortHandler)
				}
				s.writeError(rec, r, errorf(http.StatusInternalServerError, "internal error; see the daemon's log"))
			}
			if s.log.IsDebug() {
				s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
					"status", rec.status, "bytes", rec.bytes, "duration", time.Since(start), "remote", r.RemoteAddr)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}
