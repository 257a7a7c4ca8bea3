package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/sdk"
)

const fixture = "/work/shared/fixtures/original-api/api.json"

func newHost(t testing.TB) (*Host, *state.State, *bytes.Buffer) {
	t.Helper()
	st := state.New(state.Options{UUID: "self-uuid", Hostname: "self", Group: "g", Bus: event.NewBus()})
	var logs bytes.Buffer
	h := New(Options{State: st, Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}), MaxDocument: 1 << 20})
	return h, st, &logs
}

func readFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Skipf("fixture: %v", err)
	}
	return b
}

func TestIngestOriginalDocument(t *testing.T) {
	h, st, _ := newHost(t)
	if err := h.Ingest(context.Background(), "10.0.0.2:4000", readFixture(t)); err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, r := range st.Remotes() {
		names[r.Name] = r.Status
	}
	if names["master-1"] != 300 || names["leaf-1"] != 300 || len(names) != 2 {
		t.Fatalf("remotes = %v", names)
	}
}

func TestIngestRefusesBadDocuments(t *testing.T) {
	h, st, logs := newHost(t)
	huge := append([]byte(`{"Uuid":"x","Hostname":"h","GlobalMessage":"`), bytes.Repeat([]byte("a"), 2<<20)...)
	huge = append(huge, `"}`...)
	for name, doc := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("\x00\xffnot json at all"),
		"truncated": readFixture(t)[:100],
		"array":     []byte(`[1,2,3]`),
		"wrongtype": []byte(`{"Uuid":12,"LocalHost":"x"}`),
		"huge":      huge,
		"nohost":    []byte(`{}`),
	} {
		err := h.Ingest(context.Background(), "src-"+name, doc)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), "src-"+name) {
			t.Errorf("%s: error %q does not name the source", name, err)
		}
	}
	if n := len(st.Remotes()); n != 0 {
		t.Fatalf("%d hosts ingested from bad documents", n)
	}
	if !strings.Contains(logs.String(), "src-garbage") {
		t.Fatalf("refusal not logged:\n%s", logs.String())
	}
}

// A document with one bad probe is ingested without it; the error names
// the path, and the same error from the same source is logged once.
func TestIngestPartialLoggedOnce(t *testing.T) {
	h, st, logs := newHost(t)
	doc := []byte(`{"Uuid":"u-1","Hostname":"ok-host","IsAlive":true,"LocalHost":{"Name":"ok-host","Probes":{
		"good":{"Name":"good","Status":100},"bad\u0000name":{"Name":"bad\u0000name","Status":100}}},
		"RemoteWigos":{"u-2":{"Uuid":"u-2","Hostname":"bad host\u0000","IsAlive":true}}}`)
	var first error
	for range 3 {
		err := h.Ingest(context.Background(), "remote-a", doc)
		if err == nil {
			t.Fatal("bad parts not reported")
		}
		first = err
	}
	if !strings.Contains(first.Error(), "RemoteWigos") {
		t.Errorf("error lacks the path: %v", first)
	}
	if got := strings.Count(logs.String(), "partly or wholly refused"); got != 1 {
		t.Errorf("logged %d times, want once:\n%s", got, logs.String())
	}
	if r, ok := st.FindHost("ok-host"); !ok || r.Probes["good"] == nil {
		t.Fatalf("valid part not ingested: %+v", r)
	}
}

func TestIngestNeverItself(t *testing.T) {
	h, st, _ := newHost(t)
	doc := `{"Uuid":"u-1","Hostname":"mid","IsAlive":true,"LocalHost":{"Name":"mid","Probes":{}},
		"RemoteWigos":{"self-uuid":{"Uuid":"self-uuid","Hostname":"self","IsAlive":true}}}`
	if err := h.Ingest(context.Background(), "mid", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Remotes() {
		if r.UUID == "self-uuid" {
			t.Fatal("ingested its own UUID")
		}
	}
}

func TestLocalState(t *testing.T) {
	h, st, _ := newHost(t)
	st.ProbeResult(&model.ProbeResult{Name: "disk", Status: 300, Message: "full <90%> & rising", Detail: json.RawMessage(` {"a": 1} `)})
	b, err := h.LocalState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var w model.Wigo
	if err := json.Unmarshal(b, &w); err != nil || w.Uuid != "self-uuid" || w.Hostname != "self" {
		t.Fatalf("local state %s: %v", b, err)
	}
	// The bytes json.Marshal made of the document before it had its own
	// encoder, which transports and their peers read.
	if want, _ := json.Marshal(st.Document()); !bytes.Equal(b, want) {
		t.Errorf("local state:\n got %s\nwant %s", b, want)
	}
}

func TestSubscribeDeliversAndCloses(t *testing.T) {
	h, st, _ := newHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.ProbeResult(&model.ProbeResult{Name: "disk", Status: 300, Message: "full"})
	deadline := time.After(5 * time.Second)
	for found := false; !found; {
		select {
		case b := <-ch:
			var e event.Event
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("change %s: %v", b, err)
			}
			found = e.Probe == "disk" && e.NewStatus == 300
		case <-deadline:
			t.Fatal("no change for the probe")
		}
	}
	cancel()
	deadline = time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed after ctx end")
		}
	}
}

// A subscriber that does not read loses events, never blocks the state,
// and is told how many it lost.
func TestSubscribeReportsDrops(t *testing.T) {
	st := state.New(state.Options{UUID: "self", Hostname: "self", Bus: event.NewBus()})
	h := New(Options{State: st, SubscribeBuffer: 4})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := h.Subscribe(ctx)
	for i := range 200 {
		st.ProbeResult(&model.ProbeResult{Name: fmt.Sprintf("p%d", i), Status: 100})
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b := <-ch:
			if bytes.Contains(b, []byte(DroppedKind)) {
				return
			}
		case <-deadline:
			t.Fatal("no events_dropped message")
		}
	}
}

// hostDoc is one 20-probe host document as a pull master receives it.
func hostDoc(uuid, name string, gen int) []byte {
	w := model.Wigo{Uuid: uuid, Hostname: name, IsAlive: true, Version: "0.73",
		GlobalMessage: "OK", LastUpdate: int64(1795602860 + gen),
		LocalHost:   &model.Host{Name: name, Group: "web", Probes: map[string]*model.ProbeResult{}},
		RemoteWigos: map[string]*model.Wigo{}}
	for i := range 20 {
		status := 100
		if i == 0 && gen%2 == 1 {
			status = 300 // one probe flips on every other update
		}
		p := fmt.Sprintf("probe_%02d", i)
		w.LocalHost.Probes[p] = &model.ProbeResult{Name: p, Version: "0.1", Message: fmt.Sprintf("all fine, run %d", gen),
			ProbeDate: model.FormatDate(time.Unix(int64(1795602860+gen), 0)), Timestamp: int64(1795602860 + gen),
			Metrics: []model.Metric{{Tags: map[string]string{"metric": "a"}, Value: float64(gen)}},
			Detail:  json.RawMessage(`{"k":1}`), Status: status}
	}
	b, _ := json.Marshal(w)
	return b
}

// BenchmarkPullIngest is the core's CPU per pulled host update: decode and
// ingest one 20-probe host document, with `hosts` other hosts already held.
func BenchmarkPullIngest(b *testing.B) {
	for _, n := range []int{1, 2000, 20000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			st := state.New(state.Options{UUID: "self", Hostname: "self", Bus: event.NewBus()})
			h := New(Options{State: st})
			ctx := context.Background()
			for i := 1; i < n; i++ {
				if err := h.Ingest(ctx, "r", hostDoc(fmt.Sprintf("uuid-%d", i), fmt.Sprintf("h%d", i), 0)); err != nil {
					b.Fatal(err)
				}
			}
			docs := [][]byte{hostDoc("uuid-0", "h0", 0), hostDoc("uuid-0", "h0", 1)}
			b.SetBytes(int64(len(docs[0])))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := h.Ingest(ctx, "r", docs[i&1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPullDecode is the decode half of BenchmarkPullIngest.
func BenchmarkPullDecode(b *testing.B) {
	doc := hostDoc("uuid-0", "h0", 1)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(doc, DefaultMaxDocument); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIngestBatch: whole documents and probe patches in one batch, each
// answered in order; a patch of a host the core never held whole asks for
// the document; a probe that does not decode is refused with its name and
// the rest of the patch applied.
func TestIngestBatch(t *testing.T) {
	h, st, logs := newHost(t)
	const id = "0b1c2d3e-0000-4000-8000-000000000001"
	doc := fmt.Appendf(nil, `{"Uuid":%q,"Hostname":"leaf","IsAlive":true,"LocalHost":{"Name":"leaf",
		"Probes":{"cpu":{"Name":"cpu","Status":100,"Timestamp":1},"disk":{"Name":"disk","Status":100,"Timestamp":1}}}}`, id)
	errs, err := h.IngestBatch(context.Background(), []sdk.Update{
		{Source: "a", Document: doc},
		{Source: "a", HostUUID: id, Probes: []sdk.ProbeJSON{{Name: "cpu", JSON: []byte(`{"Status":300,"Message":"hot","Timestamp":2}`)},
			{Name: "mem", JSON: []byte(`{"Status":`)}}, Removed: []string{"disk"}},
		{Source: "b", HostUUID: "0b1c2d3e-0000-4000-8000-000000000002"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 3 || errs[0] != nil || errs[1] == nil || !errors.Is(errs[2], sdk.ErrNeedDocument) {
		t.Fatalf("results %v", errs)
	}
	if !strings.Contains(errs[1].Error(), `probe "mem"`) {
		t.Fatalf("patch error %v does not name the probe", errs[1])
	}
	leaf, ok := st.FindHost("leaf")
	if !ok {
		t.Fatal("leaf not ingested")
	}
	if leaf.Status != 300 || leaf.Probes["cpu"].Message != "hot" || leaf.Probes["cpu"].Name != "cpu" || len(leaf.Probes) != 1 {
		t.Fatalf("leaf after patch: status %d probes %v", leaf.Status, leaf.ProbeNames())
	}
	if !strings.Contains(logs.String(), `probe \"mem\": jsontext: unexpected EOF within \"/Status\"`) {
		t.Fatalf("refused probe not logged:\n%s", logs)
	}
}

// TestPatchDecodingMatchesDocuments: every probe result of the recorded
// original /api reads the same through the patch decoder as through the
// whole-document one, so a host looks the same whichever way it came.
func TestPatchDecodingMatchesDocuments(t *testing.T) {
	var walk func(raw json.RawMessage) int
	walk = func(raw json.RawMessage) int {
		var doc struct {
			LocalHost struct {
				Probes map[string]json.RawMessage
			}
			RemoteWigos map[string]json.RawMessage
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		n := 0
		for name, b := range doc.LocalHost.Probes {
			var v1, v2 model.ProbeResult
			if err := json.Unmarshal(b, &v1); err != nil {
				t.Fatal(err)
			}
			if err := jsonv2.Unmarshal(b, &v2, decoding); err != nil {
				t.Fatalf("probe %s: %v", name, err)
			}
			if !reflect.DeepEqual(v1, v2) {
				t.Fatalf("probe %s:\nencoding/json %+v\n          v2 %+v", name, v1, v2)
			}
			n++
		}
		for _, sub := range doc.RemoteWigos {
			n += walk(sub)
		}
		return n
	}
	if n := walk(readFixture(t)); n < 3 {
		t.Fatalf("only %d probes compared", n)
	}
	// And what real probes print: metrics with tags, structured values and
	// details, escapes, a key in another case.
	crafted := fmt.Appendf(nil, `{"LocalHost":{"Probes":{
		"a":{"Name":"a","Status":300,"Message":"disk \"/\" at 91%% \u00e9\n","Timestamp":1795602860,
			"Metrics":[{"Tags":{"mount":"/","k":"v"},"Value":91.5},{"Tags":null,"Value":-1e-3}],
			"Value":{"used":[1,2.5,"x"]},"Detail":{"rows":[["a",1]]},"ExitCode":0,"Version":"1.2"},
		"b":{"name":"b","status":200,"Value":null,"Detail":null,"Metrics":[]},
		"c":{"Name":"c","Status":100,"ProbeDate":"2026-11-25T13:00:00Z","Value":"text"}}}}`)
	if n := walk(crafted); n != 3 {
		t.Fatalf("%d crafted probes compared, want 3", n)
	}
}

// TestUnchangedUpdate: a patch of nothing ("answered, unchanged") decodes
// nothing yet keeps the remote and the hosts its document carried alive,
// and is counted apart from documents and patches; once the remote went
// DOWN it takes a document again.
func TestUnchangedUpdate(t *testing.T) {
	now := time.Unix(1795602860, 0)
	st := state.New(state.Options{UUID: "self-uuid", Hostname: "self", Bus: event.NewBus(),
		AliveTimeout: time.Minute, Now: func() time.Time { return now }})
	h := New(Options{State: st})
	const master = "d2a6ca2a-0cf3-4c38-4965-532bf22cd66a" // the fixture's top host
	ctx := context.Background()
	if err := h.Ingest(ctx, "10.0.0.2:4000", readFixture(t)); err != nil {
		t.Fatal(err)
	}
	alive := func() int {
		n := 0
		for _, r := range st.Remotes() {
			if r.Alive {
				n++
			}
		}
		return n
	}
	for range 3 {
		now = now.Add(50 * time.Second)
		errs, err := h.IngestBatch(ctx, []sdk.Update{{Source: "10.0.0.2:4000", HostUUID: master}})
		if err != nil || errs[0] != nil {
			t.Fatalf("unchanged update: %v %v", err, errs)
		}
		st.CheckAlive()
		if n := alive(); n != 2 {
			t.Fatalf("%d hosts alive after unchanged updates every 50 s, want 2 (master-1, leaf-1)", n)
		}
	}
	if got, want := h.Stats(), (Stats{Documents: 1, Unchanged: 3}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	now = now.Add(61 * time.Second)
	st.CheckAlive()
	errs, err := h.IngestBatch(ctx, []sdk.Update{{Source: "10.0.0.2:4000", HostUUID: master}})
	if err != nil || !errors.Is(errs[0], sdk.ErrNeedDocument) || alive() != 0 {
		t.Fatalf("unchanged update of a DOWN remote: %v %v, %d alive; want ErrNeedDocument, none alive", err, errs, alive())
	}
}
