package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
)

// benchState is a master holding hosts remote hosts of probes probes each,
// ingested through the real state, sized like the original's measurement
// (1,000 hosts × 20 probes: 6.7 MB and ~300 ms per GET /api).
func benchState(b *testing.B, hosts, probes int) *state.State {
	b.Helper()
	st := state.New(state.Options{UUID: masterUUID, Hostname: "master-1", Group: "infra", Version: "0.0.0-bench"})
	now := time.Unix(1795602860, 0)
	for i := range probes {
		st.ProbeResult(benchProbe(i, now))
	}
	for h := range hosts {
		doc := &model.Wigo{
			Uuid:          fmt.Sprintf("c471b561-78e7-49a3-5daf-%012d", h),
			Version:       "0.73.31",
			IsAlive:       true,
			GlobalMessage: "OK",
			Hostname:      fmt.Sprintf("host-%04d.example.org", h),
			LocalHost: &model.Host{
				Name:   fmt.Sprintf("host-%04d.example.org", h),
				Group:  fmt.Sprintf("group-%d", h%10),
				Probes: map[string]*model.ProbeResult{},
			},
		}
		for i := range probes {
			p := benchProbe(i, now)
			doc.LocalHost.Probes[p.Name] = p
		}
		if err := st.Ingest(doc.Uuid, doc); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// benchProbe is a typical probe result: a message, two metrics, a small
// detail object.
func benchProbe(i int, now time.Time) *model.ProbeResult {
	status := 100
	if i%7 == 0 {
		status = 250
	}
	return &model.ProbeResult{
		Name:      fmt.Sprintf("check_probe_%02d", i),
		Version:   "0.10",
		Message:   fmt.Sprintf("everything is fine with probe %d: 3 services running, load 0.39 0.47 0.34", i),
		ProbeDate: model.FormatDate(now),
		Timestamp: now.Unix(),
		Metrics: []model.Metric{
			{Tags: map[string]string{"probe": "p", "metric": "used"}, Value: 0.39},
			{Tags: map[string]string{"probe": "p", "metric": "free"}, Value: 1234.5},
		},
		Detail: json.RawMessage(`{"services":["a","b","c"],"restarts":3}`),
		Status: status,
	}
}

func benchmarkGetAPI(b *testing.B, gz bool) {
	st := benchState(b, 1000, 20)
	h := New(Options{State: st, Gzip: gz})
	req := httptest.NewRequest(http.MethodGet, "/api", nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("status %d", w.Code)
	}
	size := w.Body.Len()
	// The recorder's body is given room for the answer up front so the
	// figures are the handler's, not a bytes.Buffer doubling its way to
	// 9 MB in the test harness.
	body := make([]byte, 0, size+size/4)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		w.Body = bytes.NewBuffer(body[:0])
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(size), "B/doc")
}

// BenchmarkGetAPI1000Hosts serves GET /api for 1,000 remote hosts × 20
// probes, uncompressed.
func BenchmarkGetAPI1000Hosts(b *testing.B) { benchmarkGetAPI(b, false) }

// BenchmarkGetAPI1000HostsGzip is the same answer gzipped, as a client
// sending Accept-Encoding: gzip gets it.
func BenchmarkGetAPI1000HostsGzip(b *testing.B) { benchmarkGetAPI(b, true) }

// BenchmarkDocumentEncodingJSON1000Hosts is the same document through
// encoding/json, the baseline the streaming encoder replaces (for
// BENCHMARKS.md).
func BenchmarkDocumentEncodingJSON1000Hosts(b *testing.B) {
	st := benchState(b, 1000, 20)
	b.ReportAllocs()
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(st.Document()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDocument1000Hosts is the state's part alone: building the
// nested document.
func BenchmarkDocument1000Hosts(b *testing.B) {
	st := benchState(b, 1000, 20)
	b.ReportAllocs()
	for b.Loop() {
		_ = st.Document()
	}
}
