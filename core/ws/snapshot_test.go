package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
)

// legacySnapshot is the snapshot message as encoding/json wrote it before
// the document had its own encoder: the bytes encodeSnapshot must keep.
type legacySnapshot struct {
	Type     string          `json:"type"`
	Seq      uint64          `json:"seq"`
	State    any             `json:"state"`
	Acks     []event.Ack     `json:"acks"`
	Silences []event.Silence `json:"silences"`
	Soft     []event.Soft    `json:"soft"`
}

// fleetState is a master holding hosts remote hosts of 20 probes each,
// with details, metrics and characters JSON escapes.
func fleetState(tb testing.TB, hosts int) *state.State {
	tb.Helper()
	st := newState()
	now := time.Unix(1795602860, 0)
	probe := func(i int) *model.ProbeResult {
		return &model.ProbeResult{Name: fmt.Sprintf("probe_%02d", i), Version: "1", Status: 100 + i%3*100, Timestamp: now.Unix(),
			Message: fmt.Sprintf("load <%d> & fine", i), ProbeDate: model.FormatDate(now), Detail: json.RawMessage(`{"pids":[1,2],"ok":true}`),
			Metrics: []model.Metric{{Tags: map[string]string{"m": "used"}, Value: 0.39 * float64(i)}}}
	}
	for i := range 20 {
		st.ProbeResult(probe(i))
	}
	for h := range hosts {
		doc := &model.Wigo{Uuid: fmt.Sprintf("uuid-%06d", h), Version: "0.73.31", IsAlive: true, Hostname: fmt.Sprintf("host-%04d", h),
			LocalHost: &model.Host{Name: fmt.Sprintf("host-%04d", h), Group: fmt.Sprint("group-", h%10), Probes: map[string]*model.ProbeResult{}}}
		for i := range 20 {
			doc.LocalHost.Probes[probe(i).Name] = probe(i)
		}
		if err := st.Ingest(doc.Uuid, doc); err != nil {
			tb.Fatal(err)
		}
	}
	return st
}

// TestSnapshotBytesUnchanged: the snapshot framed around the streamed
// document is, byte for byte, what json.Marshal made of the whole message.
func TestSnapshotBytesUnchanged(t *testing.T) {
	doc := fleetState(t, 3).Document()
	doc.LocalHost.Probes["odd"] = &model.ProbeResult{Name: "odd\u2028<x>", Detail: json.RawMessage(" [1, \"&\"] ")}
	tails := []snapshotTail{
		{Acks: []event.Ack{}, Silences: []event.Silence{}, Soft: []event.Soft{}},
		{Acks: []event.Ack{{Host: "h<1>", Probe: "p", Status: 300, Author: "olga", Time: time.Unix(1795602860, 0).UTC()}},
			Silences: []event.Silence{{}}, Soft: []event.Soft{{}}},
		{},
	}
	for i, tail := range tails {
		got, err := encodeSnapshot([]byte{}, 42, doc, tail)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(legacySnapshot{Type: "snapshot", Seq: 42, State: doc, Acks: tail.Acks, Silences: tail.Silences, Soft: tail.Soft})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("tail %d: snapshot differs from encoding/json's:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestSnapshotStateIsGetAPIDocument: a browser's snapshot carries, byte
// for byte, the document GET /api answers for the same state.
func TestSnapshotStateIsGetAPIDocument(t *testing.T) {
	st := fleetState(t, 5)
	_, srv := serve(t, Options{State: st})
	c := dial(t, wsURL(srv), nil)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, frame, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Type  string          `json:"type"`
		State json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(frame, &snap); err != nil || snap.Type != "snapshot" {
		t.Fatalf("first frame: %v %.80s", err, frame)
	}
	apiSrv := httptest.NewServer(api.New(api.Options{State: st}))
	defer apiSrv.Close()
	resp, err := http.Get(apiSrv.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api: %d %v", resp.StatusCode, err)
	}
	if len(snap.State) < 10_000 || !bytes.Equal(snap.State, bytes.TrimSuffix(body, []byte("\n"))) {
		t.Errorf("snapshot state (%d bytes) is not GET /api's document (%d bytes)", len(snap.State), len(body))
	}
}

// BenchmarkSnapshot1000Hosts encodes the snapshot of a master holding
// 1,000 hosts × 20 probes: "stream" as the hub does, "reflect" as it did
// with json.Marshal of the whole message (for BENCHMARKS.md). The state's
// Document() is in both.
//
//	go test -run '^$' -bench Snapshot1000Hosts -benchmem ./core/ws/
func BenchmarkSnapshot1000Hosts(b *testing.B) {
	st := fleetState(b, 1000)
	tail := snapshotTail{Acks: []event.Ack{}, Silences: []event.Silence{}, Soft: []event.Soft{}}
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		last := 0
		for b.Loop() {
			// Sized from the last one, as the hub does.
			data, err := encodeSnapshot(make([]byte, 0, last+last/8+4096), 1, st.Document(), tail)
			if err != nil {
				b.Fatal(err)
			}
			last = len(data)
			b.SetBytes(int64(len(data)))
		}
	})
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := json.Marshal(legacySnapshot{Type: "snapshot", Seq: 1, State: st.Document(), Acks: tail.Acks, Silences: tail.Silences, Soft: tail.Soft})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
		}
	})
}
