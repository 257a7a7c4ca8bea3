// Package tsdbtest is a local OpenTSDB /api/put server for tests. It
// enforces the contract strictly, as OpenTSDB 2.x does, so a test that
// passes against it sends what a real OpenTSDB stores:
//
//   - POST /api/put only; the body is one JSON data point or an array of
//     them, optionally gzip-encoded (Content-Encoding: gzip);
//   - metric: a non-empty string of ASCII letters, digits, - _ . / or
//     Unicode letters;
//   - timestamp: a positive integer, seconds (up to 10 digits) or
//     milliseconds (13 digits);
//   - value: a JSON number (integer or float, finite);
//   - tags: an object with 1 to 8 pairs, keys and values non-empty strings
//     of the same character set as the metric;
//   - no other fields.
//
// Valid points are stored; invalid ones are refused one by one. The answer
// is 204 when everything was stored and no details were asked, 200 with
// {"success","failed","errors"} with ?details, and 400 (with the details
// when asked) when at least one point was refused. Unparseable JSON is a
// 400 with an error object, as OpenTSDB answers it.
//
// The server can be stopped and started again on the same address, which
// is how tests make OpenTSDB "go down for a while". One route is not
// OpenTSDB's: GET /tsdbtest/count answers {"points":N,"requests":M}, for a
// benchmark that runs the server in another process.
package tsdbtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MaxTags is OpenTSDB's default tsd.storage.max_tags.
const MaxTags = 8

// Point is one stored data point.
type Point struct {
	Metric    string
	Timestamp int64 // as sent: seconds or milliseconds
	Value     float64
	Tags      map[string]string
}

// Request is one /api/put request the server answered.
type Request struct {
	// Points is how many data points the body held.
	Points int
	// Failed is how many of them were refused.
	Failed int
	// Gzip tells whether the body was gzip-encoded.
	Gzip bool
	// Details tells whether ?details was asked.
	Details bool
	// Status is the HTTP status answered.
	Status int
}

// Server is a strict /api/put server on 127.0.0.1.
type Server struct {
	mu       sync.Mutex
	addr     string
	srv      *http.Server
	points   []Point
	requests []Request
	notify   chan struct{}
}

// New starts a server on a free port of 127.0.0.1.
func New() (*Server, error) {
	s := &Server{notify: make(chan struct{}, 1)}
	if err := s.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve)}
	s.mu.Lock()
	s.addr, s.srv = ln.Addr().String(), srv
	s.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

// Addr is the server's host:port, the same across Stop and Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stop closes the listener and every connection: clients get "connection
// refused" until Start.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Start listens again on the same address after Stop.
func (s *Server) Start() error {
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return errors.New("already running")
	}
	return s.listen(s.Addr())
}

// Close stops the server for good.
func (s *Server) Close() { s.Stop() }

// Points returns a copy of the stored points, in arrival order.
func (s *Server) Points() []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Point(nil), s.points...)
}

// Count is how many points are stored.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.points)
}

// Requests returns every answered request, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Stored is signalled (without blocking) after each request that stored
// points; tests wait on it instead of sleeping.
func (s *Server) Stored() <-chan struct{} { return s.notify }

type detail struct {
	Datapoint json.RawMessage `json:"datapoint"`
	Error     string          `json:"error"`
}

type details struct {
	Success int      `json:"success"`
	Failed  int      `json:"failed"`
	Errors  []detail `json:"errors"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/tsdbtest/count" && r.Method == http.MethodGet {
		s.mu.Lock()
		n, reqs := len(s.points), len(s.requests)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"points": n, "requests": reqs})
		return
	}
	if r.URL.Path != "/api/put" {
		writeError(w, http.StatusNotFound, "Endpoint not found")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	var body io.Reader = r.Body
	gz := strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip")
	if gz {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Unable to decompress the gzip body: "+err.Error())
			return
		}
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Unable to read the body: "+err.Error())
		return
	}
	raws, err := split(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Unable to parse the given JSON: "+err.Error())
		return
	}
	_, wantDetails := r.URL.Query()["details"]
	var d details
	var ok []Point
	for _, raw := range raws {
		p, err := parse(raw)
		if err != nil {
			d.Failed++
			d.Errors = append(d.Errors, detail{Datapoint: raw, Error: err.Error()})
			continue
		}
		d.Success++
		ok = append(ok, p)
	}
	status := http.StatusNoContent
	switch {
	case d.Failed > 0:
		status = http.StatusBadRequest
	case wantDetails:
		status = http.StatusOK
	}
	s.mu.Lock()
	s.points = append(s.points, ok...)
	s.requests = append(s.requests, Request{Points: len(raws), Failed: d.Failed, Gzip: gz, Details: wantDetails, Status: status})
	s.mu.Unlock()
	if len(ok) > 0 {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
	switch {
	case wantDetails:
		if d.Errors == nil {
			d.Errors = []detail{}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(d)
	case status == http.StatusBadRequest:
		writeError(w, status, fmt.Sprintf("One or more data points had errors (%d of %d); ask ?details", d.Failed, len(raws)))
	default:
		w.WriteHeader(status)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg}})
}

// split returns the data points of a body: one object or an array.
func split(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("empty body")
	}
	if data[0] == '{' {
		return []json.RawMessage{data}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("no data points")
	}
	return list, nil
}

// parse validates one data point as OpenTSDB does.
func parse(raw json.RawMessage) (Point, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Point{}, fmt.Errorf("not a JSON object: %w", err)
	}
	for k := range fields {
		switch k {
		case "metric", "timestamp", "value", "tags":
		default:
			return Point{}, fmt.Errorf("unrecognized field %q", k)
		}
	}
	var p Point
	if err := json.Unmarshal(fields["metric"], &p.Metric); err != nil || p.Metric == "" {
		return Point{}, errors.New("metric: a non-empty string is required")
	}
	if err := check("metric", p.Metric); err != nil {
		return Point{}, err
	}
	ts, ok := fields["timestamp"]
	if !ok {
		return Point{}, errors.New("timestamp: missing")
	}
	var num json.Number
	dec := json.NewDecoder(bytes.NewReader(ts))
	dec.UseNumber()
	if err := dec.Decode(&num); err != nil {
		return Point{}, errors.New("timestamp: an integer is required")
	}
	t, err := num.Int64()
	if err != nil || t <= 0 {
		return Point{}, fmt.Errorf("timestamp: %s is not a positive integer", ts)
	}
	if digits := len(num.String()); digits > 10 && digits != 13 {
		return Point{}, fmt.Errorf("timestamp: %s is neither seconds (<= 10 digits) nor milliseconds (13 digits)", ts)
	}
	p.Timestamp = t
	v, ok := fields["value"]
	if !ok {
		return Point{}, errors.New("value: missing")
	}
	if err := json.Unmarshal(v, &p.Value); err != nil || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
		return Point{}, fmt.Errorf("value: %s is not a number", v)
	}
	if err := json.Unmarshal(fields["tags"], &p.Tags); err != nil || len(p.Tags) == 0 {
		return Point{}, errors.New("tags: at least one tag is required")
	}
	if len(p.Tags) > MaxTags {
		return Point{}, fmt.Errorf("tags: %d tags, at most %d allowed", len(p.Tags), MaxTags)
	}
	for k, v := range p.Tags {
		if err := check("tag key", k); err != nil {
			return Point{}, err
		}
		if err := check("tag value of "+k, v); err != nil {
			return Point{}, err
		}
	}
	return p, nil
}

// check enforces OpenTSDB's character set on a metric, tag key or value.
func check(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s: empty", what)
	}
	for i, r := range s {
		if r == utf8.RuneError {
			return fmt.Errorf("%s %q: invalid UTF-8 at byte %d", what, s, i)
		}
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
			r == '-' || r == '_' || r == '.' || r == '/' || (r >= utf8.RuneSelf && unicode.IsLetter(r)) {
			continue
		}
		return fmt.Errorf("Invalid %s (%q): illegal character: %q", what, s, r)
	}
	return nil
}
