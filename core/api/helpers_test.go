package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/edge"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/storetest"
)

// fixtureDir holds the answers recorded from the original Wigo.
const fixtureDir = "../../../shared/fixtures/original-api"

// Identities of the recorded instances.
const (
	masterUUID = "d2a6ca2a-0cf3-4c38-4965-532bf22cd66a"
	leafUUID   = "c471b561-78e7-49a3-5daf-9e8f146d9506"
)

// readmeLogEntry is the log entry the fixture README gives as the shape of
// /api/logs* answers (the recorded files are [] because of the original's
// bug).
const readmeLogEntry = `{"Date": "2026-11-25T10:34:21.000000 (UTC)", "Timestamp": 1795602861, "Level": 6,
"Message": "Probe warn switched from 250 to 300 : disk 99%", "Host": "leaf-1", "Probe": "warn",
"Group": "web"}`

// clock is a controllable time source for state.Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixtureBytes reads a recorded answer.
func fixtureBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// fixtureValue decodes a recorded answer generically.
func fixtureValue(t testing.TB, name string) any {
	t.Helper()
	return decodeAny(t, fixtureBytes(t, name))
}

func decodeAny(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %q: %v", truncate(string(b), 200), err)
	}
	return v
}

// newFixtureState mirrors the recorded instances: master-1 (group infra,
// probe crit at 300) holding leaf-1 as ingested from api.json's RemoteWigos.
// The clock starts at the leaf's recorded LastUpdate so that field matches
// too.
func newFixtureState(t testing.TB) (*state.State, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1795602871, 0)}
	st := state.New(state.Options{
		UUID:         masterUUID,
		Hostname:     "master-1",
		Group:        "infra",
		Version:      "##VERSION##",
		AliveTimeout: 60 * time.Second,
		Now:          clk.Now,
	})
	st.ProbeResult(&model.ProbeResult{
		Name:      "crit",
		Version:   "1.2",
		Message:   "service down",
		ProbeDate: "2026-11-25T10:34:20.443134 (UTC)",
		Timestamp: 1795602860,
		Detail:    json.RawMessage(`{"pid":null,"restarts":3}`),
		Status:    300,
	})
	var doc model.Wigo
	if err := json.Unmarshal(fixtureBytes(t, "api.json"), &doc); err != nil {
		t.Fatalf("decoding api.json: %v", err)
	}
	leaf := doc.RemoteWigos[leafUUID]
	if leaf == nil {
		t.Fatalf("api.json has no RemoteWigos[%q]", leafUUID)
	}
	if err := st.Ingest("test", leaf); err != nil {
		t.Fatalf("ingesting leaf-1: %v", err)
	}
	return st, clk
}

// fixtureLogs are rows for the fixture's hosts, oldest first.
var fixtureLogs = []model.LogEntry{
	{Timestamp: 1795602850, Level: model.LogNotice, Message: "New probe load with status 100 : 0.39 0.47 0.34", Host: "leaf-1", Probe: "load", Group: "web"},
	{Timestamp: 1795602855, Level: model.LogCritical, Message: "Probe crit switched from 100 to 300 : service down", Host: "master-1", Probe: "crit", Group: "infra"},
	{Timestamp: 1795602861, Level: model.LogCritical, Message: "Probe warn switched from 250 to 300 : disk 99%", Host: "leaf-1", Probe: "warn", Group: "web"},
	{Timestamp: 1795602875, Level: model.LogEmergency, Message: "Host leaf-1 is DOWN", Host: "leaf-1", Group: "web"},
}

// newStore opens a real SQLite store in a temporary directory holding rows.
func newStore(t testing.TB, rows ...model.LogEntry) *store.Store {
	t.Helper()
	s := storetest.Open(t)
	for i := range rows {
		if rows[i].Date == "" {
			rows[i].Date = model.FormatDate(time.Unix(rows[i].Timestamp, 0))
		}
	}
	if len(rows) > 0 {
		if err := s.Append(context.Background(), rows...); err != nil {
			t.Fatalf("appending log rows: %v", err)
		}
	}
	return s
}

// fixtureHandler is the API over the fixture state and a store holding
// fixtureLogs.
func fixtureHandler(t testing.TB) (http.Handler, *state.State, *clock) {
	t.Helper()
	st, clk := newFixtureState(t)
	h := New(Options{State: st, Logs: newStore(t, slices.Clone(fixtureLogs)...)})
	return h, st, clk
}

// request is one call to the handler.
type request struct {
	method string
	target string
	header http.Header
	user   *[2]string
}

func get(target string) request { return request{method: http.MethodGet, target: target} }

// withLogin is an authenticator with the original's single login.
func withLogin(login, password string) *auth.Authenticator {
	return auth.New(auth.Options{Login: login, Password: password, Deny: edge.Refuse})
}

func (q request) with(key, value string) request {
	if q.header == nil {
		q.header = http.Header{}
	}
	q.header.Set(key, value)
	return q
}

func (q request) auth(user, pass string) request {
	q.user = &[2]string{user, pass}
	return q
}

// serve answers q as made from this machine (the loopback address), which
// an instance without credentials lets change anything.
func serve(h http.Handler, q request) *httptest.ResponseRecorder {
	r := httptest.NewRequest(q.method, q.target, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	for k, v := range q.header {
		r.Header[k] = v
	}
	if q.user != nil {
		r.SetBasicAuth(q.user[0], q.user[1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// mustJSON checks status and Content-Type and decodes the body.
func mustJSON(t testing.TB, w *httptest.ResponseRecorder, status int) any {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	return decodeAny(t, w.Body.Bytes())
}

// wantError checks a JSON error answer and returns its sentence.
func wantError(t testing.TB, w *httptest.ResponseRecorder, status int) string {
	t.Helper()
	v := mustJSON(t, w, status)
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		t.Fatalf("error body %s, want {\"error\": sentence}", w.Body)
	}
	msg, ok := m["error"].(string)
	if !ok || msg == "" {
		t.Fatalf("error body %s, want {\"error\": sentence}", w.Body)
	}
	return msg
}

// jsonType names a decoded JSON value's type.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// dynamicKeys are objects keyed by data (UUIDs, probe names, tag names)
// rather than by field names: their values are compared by shape, not their
// key sets.
var dynamicKeys = map[string]bool{"RemoteWigos": true, "Probes": true, "Tags": true, "waiting": true, "allowed": true}

// shapeDiff compares got with want by structure: identical object keys and
// identical JSON types at every path, array elements against the fixture's
// elements, dynamic maps' values against the fixture's values. Each
// difference is reported with its path.
func shapeDiff(path string, got, want any) []string {
	return shapeDiffKey(path, "", got, want)
}

func shapeDiffKey(path, key string, got, want any) []string {
	gt, wt := jsonType(got), jsonType(want)
	if gt != wt {
		return []string{fmt.Sprintf("%s: type %s, fixture has %s", path, gt, wt)}
	}
	var diffs []string
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if dynamicKeys[key] {
			for _, k := range sortedKeys(g) {
				ref, ok := w[k]
				if !ok {
					if len(w) == 0 {
						diffs = append(diffs, fmt.Sprintf("%s[%q]: fixture map is empty, no shape to compare with", path, k))
						continue
					}
					ref = w[sortedKeys(w)[0]]
				}
				diffs = append(diffs, shapeDiffKey(fmt.Sprintf("%s[%q]", path, k), "", g[k], ref)...)
			}
			return diffs
		}
		for _, k := range sortedKeys(w) {
			if _, ok := g[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing (fixture has %s)", path, k, jsonType(w[k])))
			}
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: unexpected key (%s), not in fixture", path, k, jsonType(g[k])))
				continue
			}
			diffs = append(diffs, shapeDiffKey(path+"."+k, k, g[k], w[k])...)
		}
	case []any:
		g := got.([]any)
		if len(w) == 0 && len(g) > 0 {
			return []string{fmt.Sprintf("%s: fixture array is empty, no element shape to compare with", path)}
		}
		for i := range g {
			diffs = append(diffs, shapeDiffKey(fmt.Sprintf("%s[%d]", path, i), "", g[i], w[min(i, len(w)-1)])...)
		}
	}
	return diffs
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestShapeDiff checks the checker: it must catch what the compatibility
// tests rely on it to catch.
func TestShapeDiff(t *testing.T) {
	want := decodeAny(t, []byte(`{"A":1,"B":{"C":"x","D":[{"E":true}]},"Probes":{"p":{"S":1}},"N":null}`))
	same := decodeAny(t, []byte(`{"A":2,"B":{"C":"y","D":[{"E":false},{"E":true}]},"Probes":{"q":{"S":5},"r":{"S":6}},"N":null}`))
	if d := shapeDiff("$", same, want); len(d) != 0 {
		t.Errorf("same shape reported different: %v", d)
	}
	bad := decodeAny(t, []byte(`{"A":"2","B":{"D":[{"E":1}],"X":0},"Probes":{"q":{"S":null}},"N":{}}`))
	d := shapeDiff("$", bad, want)
	for _, w := range []string{
		"$.A: type string, fixture has number",
		"$.B.C: missing (fixture has string)",
		"$.B.X: unexpected key (number), not in fixture",
		"$.B.D[0].E: type number, fixture has bool",
		`$.Probes["q"].S: type null, fixture has number`,
		"$.N: type object, fixture has null",
	} {
		if !slices.Contains(d, w) {
			t.Errorf("diff %q not reported; got %q", w, d)
		}
	}
	if len(d) != 6 {
		t.Errorf("got %d diffs, want 6: %q", len(d), d)
	}
}
