package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/probe"
	"github.com/wigo-project/wigo/sdk"
)

// resultSink tells the names of the probes whose results arrive.
type resultSink chan string

func (s resultSink) ProbeResult(r *model.ProbeResult) { s <- r.Name }
func (s resultSink) ProbeRemoved(string)              {}

// postJSON makes a JSON POST from this machine.
func postJSON(h http.Handler, target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// An operator overrides a local hourly probe's interval (form), which the
// answer and the schedule show with the directory's interval and who did
// it, and clears it (JSON): back to the hour, no override. Clearing again
// is a 409, an unknown probe a 404, bad intervals a 400 saying what is
// wanted. On a remote host the override is forwarded as an interval (zero
// to clear), and the route it is replayed on by the transports
// (sdk.ControlRoute) sets and clears it here just the same.
func TestIntervalOverrideRoute(t *testing.T) {
	st, _ := newFixtureState(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "3600"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "3600", "counted"), []byte("#!/bin/sh\necho '{\"Status\":100}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	results := resultSink(make(chan string, 100))
	m := probe.New(probe.Options{Dir: dir, Logger: hclog.NewNullLogger(), Sink: results})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- m.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	select {
	case <-results: // discovered and run once (within 5 s of discovery)
	case <-time.After(15 * time.Second):
		t.Fatal("the probe did not run")
	}
	var forwarded []sdk.ControlRequest
	h := New(Options{State: st, Probes: m, Remote: remoteFunc(func(_ context.Context, req sdk.ControlRequest) (json.RawMessage, error) {
		forwarded = append(forwarded, req)
		return json.RawMessage(`{}`), nil
	})})
	base := "/api/hosts/master-1/probes/counted/interval"
	type answer struct {
		Interval         float64
		IntervalOverride *struct {
			DirectoryInterval float64 `json:"directory_interval"`
			By                string
		} `json:"interval_override"`
	}
	read := func(w *httptest.ResponseRecorder, what string) answer {
		t.Helper()
		var a answer
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &a) != nil {
			t.Fatalf("%s: %d %s", what, w.Code, w.Body)
		}
		return a
	}
	scheduled := func() answer {
		var l struct{ Probes []json.RawMessage }
		w := serve(h, get("/api/hosts/master-1/schedule"))
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || len(l.Probes) != 1 {
			t.Fatalf("schedule: %d %s", w.Code, w.Body)
		}
		rec := httptest.NewRecorder()
		rec.Body.Write(l.Probes[0])
		return read(rec, "schedule")
	}

	a := read(post(h, base, url.Values{"interval": {"5"}}, nil), "interval=5")
	if a.Interval != 5 || a.IntervalOverride == nil || a.IntervalOverride.DirectoryInterval != 3600 || a.IntervalOverride.By != "local" {
		t.Errorf("interval=5 answered %+v", a)
	}
	if s := scheduled(); s.Interval != 5 || s.IntervalOverride == nil {
		t.Errorf("schedule with the override: %+v", s)
	}
	if a := read(postJSON(h, base, `{"clear": true}`), "clear"); a.Interval != 3600 || a.IntervalOverride != nil {
		t.Errorf("clear answered %+v", a)
	}
	if s := scheduled(); s.Interval != 3600 || s.IntervalOverride != nil {
		t.Errorf("schedule after clearing: %+v", s)
	}
	if msg := wantError(t, postJSON(h, base, `{"interval": "clear"}`), http.StatusConflict); !strings.Contains(msg, "has no interval override") {
		t.Errorf("clearing again: %q", msg)
	}
	if a := read(postJSON(h, base, `{"interval": 60}`), "JSON interval 60"); a.Interval != 60 {
		t.Errorf("JSON interval 60 answered %+v", a)
	}
	wantError(t, post(h, "/api/hosts/master-1/probes/nope/interval", url.Values{"interval": {"5"}}, nil), http.StatusNotFound)
	for _, bad := range []string{`{"interval": 0}`, `{"interval": 1.5}`, `{"interval": "10s"}`, `{"interval": 604801}`, `{}`,
		`{"interval": 5, "clear": true}`, `[5]`, `{"interval": [5]}`, `{"clear": false}`} {
		if msg := wantError(t, postJSON(h, base, bad), http.StatusBadRequest); msg == "" {
			t.Errorf("%s: no sentence", bad)
		}
	}

	remote := "/api/hosts/leaf-1/probes/load/interval"
	read(post(h, remote, url.Values{"interval": {"30"}}, nil), "remote interval=30")
	read(postJSON(h, remote, `{"clear": true}`), "remote clear")
	wantError(t, post(h, remote, url.Values{"interval": {"-1"}}, nil), http.StatusBadRequest)
	if len(forwarded) != 2 || forwarded[0].Action != sdk.ControlInterval || forwarded[0].Interval != 30*time.Second || forwarded[0].Probe != "load" ||
		forwarded[1].Action != sdk.ControlInterval || forwarded[1].Interval != 0 {
		t.Fatalf("forwarded %+v", forwarded)
	}
	// What a transport replays on the instance running the probe.
	for i, want := range []float64{30, 3600} {
		req := forwarded[i]
		req.Host, req.Probe = "master-1", "counted"
		method, path, form, err := sdk.ControlRoute(req)
		if err != nil || method != http.MethodPost {
			t.Fatalf("ControlRoute(%+v): %s %v", req, method, err)
		}
		if a := read(post(h, "/api"+path, form, nil), "replayed "+path); a.Interval != want {
			t.Errorf("replayed %v: interval %v, want %v", form, a.Interval, want)
		}
	}
}
