package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
)

// batchHost is the core as the plugin sees it, taking batches (as the real
// core does): it counts the documents and the "answered, unchanged"
// updates it gets, and may ask for the document once instead of taking an
// unchanged update (as the core does for a remote that went DOWN).
type batchHost struct {
	testHost
	mu        sync.Mutex
	documents int
	unchanged []string // HostUUID of each
	needDoc   bool
	changed   chan struct{}
}

func newBatchHost() *batchHost {
	return &batchHost{testHost: testHost{signal: make(chan struct{}, 100)}, changed: make(chan struct{}, 1000)}
}

func (h *batchHost) IngestBatch(ctx context.Context, updates []sdk.Update) ([]error, error) {
	errs := make([]error, len(updates))
	for i, u := range updates {
		h.mu.Lock()
		switch {
		case len(u.Document) > 0:
			h.documents++
		case len(u.Probes) > 0 || len(u.Removed) > 0:
			errs[i] = fmt.Errorf("unexpected probe patch")
		case h.needDoc:
			h.needDoc = false
			errs[i] = sdk.ErrNeedDocument
		default:
			h.unchanged = append(h.unchanged, u.HostUUID)
		}
		h.mu.Unlock()
		h.changed <- struct{}{}
	}
	return errs, nil
}

// waitFor waits until cond holds on the counts (documents, unchanged).
func (h *batchHost) waitFor(t *testing.T, what string, cond func(docs, unchanged int) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		h.mu.Lock()
		d, u := h.documents, len(h.unchanged)
		h.mu.Unlock()
		if cond(d, u) {
			return
		}
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("%s: still %d documents, %d unchanged", what, d, u)
		}
	}
}

// remoteServer answers /api with body, gzipped when asked; with etag set
// it tags the answer and answers a matching If-None-Match with 304. It
// counts the 200s it sent.
type remoteServer struct {
	mu   sync.Mutex
	body []byte
	etag string
	full atomic.Int64
	cond atomic.Int64 // requests that carried If-None-Match
}

func (s *remoteServer) set(body []byte, etag string) {
	s.mu.Lock()
	s.body, s.etag = body, etag
	s.mu.Unlock()
}

func (s *remoteServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, etag := s.body, s.etag
	s.mu.Unlock()
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		s.cond.Add(1)
		if inm == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	w.Header().Set("Content-Type", "application/json")
	s.full.Add(1)
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(body)
		zw.Close()
		return
	}
	w.Write(body)
}

// An unchanged answer never reaches the core as a document: a 304 (a
// remote that tags its answers) or the same bytes (one that does not, as
// the original) only says the remote answered, for its top host. A changed
// answer is a document again.
func TestUnchangedAnswerIsNotADocument(t *testing.T) {
	body := hostBody()
	for name, etag := range map[string]string{"ETag, 304": `"r1"`, "no ETag, same bytes": ""} {
		t.Run(name, func(t *testing.T) {
			rs := &remoteServer{}
			rs.set(body, etag)
			srv := httptest.NewServer(rs)
			t.Cleanup(srv.Close)
			h := newBatchHost()
			start(t, fmt.Sprintf("check_interval = 0.1\nremotes = [%q]", addr(srv)), h)
			h.waitFor(t, "three unchanged polls", func(d, u int) bool { return u >= 3 })
			h.mu.Lock()
			docs, uuid := h.documents, h.unchanged[0]
			h.mu.Unlock()
			if docs != 1 || uuid != "9a1f0c1e-aaaa-bbbb-cccc-0123456789ab" {
				t.Fatalf("%d documents, unchanged for %q; want 1 document, then the top host's UUID", docs, uuid)
			}
			if etag != "" && rs.cond.Load() == 0 {
				t.Fatal("no If-None-Match sent to a remote that tags its answers")
			}
			if etag == "" && rs.cond.Load() != 0 {
				t.Fatal("If-None-Match sent to a remote that sent no ETag")
			}
			if etag != "" && rs.full.Load() != 1 {
				t.Fatalf("%d whole answers from a remote that answers 304, want 1", rs.full.Load())
			}

			// The remote changes: a document again, then unchanged again.
			rs.set(bytes.Replace(body, []byte("all fine"), []byte("all good"), 1), strings.Replace(etag, "r1", "r2", 1))
			var before int
			h.waitFor(t, "the changed document", func(d, u int) bool { before = u; return d == 2 })
			h.waitFor(t, "unchanged after the change", func(d, u int) bool { return d == 2 && u >= before+2 })
		})
	}
}

// When the core no longer holds the remote whole (it went DOWN there, or
// the core restarted), it asks for the document: the plugin fetches it at
// once, in the same poll, rather than an interval later.
func TestUnchangedAnswerCoreAsksForTheDocument(t *testing.T) {
	rs := &remoteServer{}
	rs.set(hostBody(), `"r1"`)
	srv := httptest.NewServer(rs)
	t.Cleanup(srv.Close)
	h := newBatchHost()
	start(t, fmt.Sprintf("check_interval = 0.1\nremotes = [%q]", addr(srv)), h)
	h.waitFor(t, "one unchanged poll", func(d, u int) bool { return u >= 1 })
	h.mu.Lock()
	h.needDoc = true
	h.mu.Unlock()
	h.waitFor(t, "the document asked for", func(d, u int) bool { return d == 2 })
	h.waitFor(t, "unchanged again", func(d, u int) bool { return d == 2 && u >= 3 })
	if rs.full.Load() != 2 {
		t.Fatalf("%d whole answers, want 2 (the first, the one the core asked for)", rs.full.Load())
	}
}

// BenchmarkPullPollUnchanged is BenchmarkPullPoll for an answer the plugin
// has seen last: a 304 from a remote that tags its answers, the same
// gzipped bytes from one that does not (the original), and, for
// reference, the same remote when every answer is handed over whole.
func BenchmarkPullPollUnchanged(b *testing.B) {
	for _, c := range []struct {
		name  string
		etag  string
		reset bool
	}{{"etag-304", `"r1"`, false}, {"same-bytes", "", false}, {"whole", "", true}} {
		b.Run(c.name, func(b *testing.B) {
			rs := &remoteServer{}
			rs.set(hostBody(), c.etag)
			srv := httptest.NewServer(rs)
			defer srv.Close()
			r := &remote{label: "bench", addr: addr(srv), url: srv.URL + "/api", interval: time.Minute, timeout: 10 * time.Second}
			h := newBatchHost()
			h.changed = make(chan struct{}, 1<<20)
			bt := sdk.NewBatcher(hclog.NewNullLogger(), h)
			defer bt.Close()
			rn := &run{client: newClient([]*remote{r}), batch: bt, alive: bt, maxResponse: defaultMaxResponse, log: hclog.NewNullLogger()}
			ctx := context.Background()
			seen := &last{}
			if err := rn.once(ctx, r, seen); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if c.reset {
					*seen = last{}
				}
				if err := rn.once(ctx, r, seen); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
