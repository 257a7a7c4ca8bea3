package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestCompatibilityShapes compares every state route's answer with the
// original's recorded answer: same keys, same JSON types, recursively.
func TestCompatibilityShapes(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	for _, tc := range []struct{ route, fixture string }{
		{"/api", "api.json"},
		{"/api/status", "api_status.json"},
		{"/api/groups", "api_groups.json"},
		{"/api/groups/web", "api_groups_web.json"},
		{"/api/hosts", "api_hosts.json"},
		{"/api/hosts/leaf-1", "api_hosts_leaf-1.json"},
		{"/api/hosts/master-1", "api_hosts_master-1.json"},
		{"/api/hosts/leaf-1/status", "api_hosts_leaf-1_status.json"},
		{"/api/hosts/leaf-1/probes", "api_hosts_leaf-1_probes.json"},
		{"/api/hosts/leaf-1/probes/warn", "api_hosts_leaf-1_probes_warn.json"},
		{"/api/hosts/leaf-1/probes/warn/status", "api_hosts_leaf-1_probes_warn_status.json"},
		{"/api/logs/indexes", "api_logs_indexes.json"},
	} {
		t.Run(tc.route, func(t *testing.T) {
			got := mustJSON(t, serve(h, get(tc.route)), 200)
			for _, d := range shapeDiff("$", got, fixtureValue(t, tc.fixture)) {
				t.Error(d)
			}
		})
	}
}

// TestCompatibilityLogShapes checks every logs route against the log entry
// the fixture README documents, with rows from a real store. The recorded
// files are [] (the original's bug), so only their type is compared, and
// every route must actually return rows.
func TestCompatibilityLogShapes(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	entry := decodeAny(t, []byte(readmeLogEntry))
	for _, tc := range []struct{ route, fixture string }{
		{"/api/logs", "api_logs.json"},
		{"/api/logs?limit=2&offset=0", "api_logs_limit_2_offset_0.json"},
		{"/api/groups/web/logs", "api_groups_web_logs.json"},
		{"/api/groups/web/probes/warn/logs", ""},
		{"/api/hosts/leaf-1/logs", "api_hosts_leaf-1_logs.json"},
		{"/api/hosts/leaf-1/probes/warn/logs", ""},
		{"/api/probes/warn/logs", "api_probes_warn_logs.json"},
	} {
		t.Run(tc.route, func(t *testing.T) {
			got := mustJSON(t, serve(h, get(tc.route)), 200)
			if tc.fixture != "" {
				if ft, gt := jsonType(fixtureValue(t, tc.fixture)), jsonType(got); ft != gt {
					t.Fatalf("type %s, fixture has %s", gt, ft)
				}
			}
			rows, _ := got.([]any)
			if len(rows) == 0 {
				t.Fatalf("no rows: %v", got)
			}
			for _, d := range shapeDiff("$", got, []any{entry}) {
				t.Error(d)
			}
		})
	}
}

// TestCompatibilityValues checks values, not only shapes: what the fixture
// state must answer.
func TestCompatibilityValues(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	exact := func(route string, want any) {
		t.Helper()
		got := mustJSON(t, serve(h, get(route)), 200)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", route, got, want)
		}
	}
	// Identical to the recording, value for value.
	for route, fixture := range map[string]string{
		"/api/status":                          "api_status.json",
		"/api/groups":                          "api_groups.json",
		"/api/groups/web":                      "api_groups_web.json",
		"/api/hosts":                           "api_hosts.json",
		"/api/hosts/leaf-1":                    "api_hosts_leaf-1.json",
		"/api/hosts/leaf-1/status":             "api_hosts_leaf-1_status.json",
		"/api/hosts/leaf-1/probes":             "api_hosts_leaf-1_probes.json",
		"/api/hosts/leaf-1/probes/warn":        "api_hosts_leaf-1_probes_warn.json",
		"/api/hosts/leaf-1/probes/warn/status": "api_hosts_leaf-1_probes_warn_status.json",
	} {
		exact(route, fixtureValue(t, fixture))
	}
	exact("/api/hosts", []any{"master-1", "leaf-1"})
	exact("/api/hosts/leaf-1/probes", []any{"warn", "load"}) // worst first
	exact("/api/hosts/master-1/status", 300.0)
	exact("/api/hosts/master-1/probes/crit/status", 300.0)
	exact("/api/hosts/leaf-1/probes/load/status", 100.0)

	// /api is the recording but for the master's LastUpdate: the original
	// never set it (0); we answer when the local host last changed.
	for _, route := range []string{"/api", "/api/hosts/master-1"} {
		got := mustJSON(t, serve(h, get(route)), 200).(map[string]any)
		if got["LastUpdate"] != float64(1795602871) {
			t.Errorf("%s LastUpdate = %v, want the clock's 1795602871", route, got["LastUpdate"])
		}
		want := fixtureValue(t, "api.json").(map[string]any)
		got["LastUpdate"], want["LastUpdate"] = 0.0, 0.0
		if !reflect.DeepEqual(got, want) {
			gb, _ := json.Marshal(got)
			t.Errorf("%s differs from api.json:\n got %s\nwant %s", route, gb, fixtureBytes(t, "api.json"))
		}
	}

	// The group summary lists leaf-1 with its probes worst first.
	g := mustJSON(t, serve(h, get("/api/groups/web")), 200).(map[string]any)
	hosts := g["Hosts"].([]any)
	if len(hosts) != 1 || hosts[0].(map[string]any)["Name"] != "leaf-1" {
		t.Fatalf("group web hosts = %v", hosts)
	}
	probes := hosts[0].(map[string]any)["Probes"].([]any)
	if probes[0].(map[string]any)["Name"] != "warn" || probes[1].(map[string]any)["Name"] != "load" {
		t.Errorf("group web probes not worst first: %v", probes)
	}
	exact("/api/groups/infra", map[string]any{"Name": "infra", "Status": 300.0, "Hosts": []any{
		map[string]any{"Name": "master-1", "Message": "OK", "Status": 300.0, "IsAlive": true, "Probes": []any{
			map[string]any{"Name": "crit", "Message": "service down", "Status": 300.0},
		}},
	}})

	exact("/api/logs/indexes", map[string]any{
		"groups": []any{"infra", "web"},
		"hosts":  []any{"leaf-1", "master-1"},
		"probes": []any{"crit", "load", "warn"},
	})
}

// TestDownRemote: once leaf-1 is silent past alive_timeout, /api shows it
// DOWN as the original does, and, fixing the original's bug, the master's
// own GlobalStatus (and /api/status) is 999 too.
func TestDownRemote(t *testing.T) {
	h, st, clk := fixtureHandler(t)
	clk.Advance(61 * time.Second)
	st.CheckAlive()

	w := serve(h, get("/api"))
	got := mustJSON(t, w, 200)
	doc := got.(map[string]any)
	leaf := doc["RemoteWigos"].(map[string]any)[leafUUID].(map[string]any)
	// The one key the original lacks, additive: when the DOWN host was
	// last heard of (the fixture state's last ingest).
	if v := leaf["NotHeardSince"]; v != "2026-11-25T10:34:31Z" {
		t.Errorf("remote NotHeardSince = %v", v)
	}
	delete(leaf, "NotHeardSince")
	for _, d := range shapeDiff("$", got, fixtureValue(t, "api_with_down_remote.json")) {
		t.Error(d)
	}
	for k, want := range map[string]any{"IsAlive": false, "GlobalStatus": 999.0, "GlobalMessage": "DOWN"} {
		if leaf[k] != want {
			t.Errorf("remote %s = %v, want %v", k, leaf[k], want)
		}
	}
	if s := leaf["LocalHost"].(map[string]any)["Status"]; s != 999.0 {
		t.Errorf("remote LocalHost.Status = %v, want 999", s)
	}
	if doc["GlobalStatus"] != 999.0 {
		t.Errorf("master GlobalStatus = %v, want 999 (the original's 300 ignored the DOWN remote)", doc["GlobalStatus"])
	}
	if doc["GlobalMessage"] != "OK" || doc["IsAlive"] != true {
		t.Errorf("master itself should stay alive and OK: %v %v", doc["IsAlive"], doc["GlobalMessage"])
	}
	if v := mustJSON(t, serve(h, get("/api/status")), 200); v != 999.0 {
		t.Errorf("/api/status = %v, want 999", v)
	}
	if v := mustJSON(t, serve(h, get("/api/hosts/leaf-1/status")), 200); v != 999.0 {
		t.Errorf("/api/hosts/leaf-1/status = %v, want 999", v)
	}
	g := mustJSON(t, serve(h, get("/api/groups/web")), 200).(map[string]any)
	hs := g["Hosts"].([]any)[0].(map[string]any)
	if hs["IsAlive"] != false || hs["Message"] != "DOWN" || hs["Status"] != 999.0 {
		t.Errorf("group web host = %v, want DOWN", hs)
	}
}

// origProbeResult, origHost and origWigo mirror the original wigocli's
// types: decoding our /api into them with unknown fields disallowed catches
// any drift in names or nesting.
type origProbeResult struct {
	Name      string
	Version   string
	Value     any
	Message   string
	ProbeDate string
	Timestamp int64
	Metrics   []struct {
		Tags  map[string]string
		Value float64
	}
	Detail   any
	Status   int
	ExitCode int
}

type origHost struct {
	Name   string
	Group  string
	Status int
	Probes map[string]*origProbeResult
}

type origWigo struct {
	Uuid          string
	Version       string
	IsAlive       bool
	GlobalStatus  int
	GlobalMessage string
	LocalHost     *origHost
	RemoteWigos   map[string]*origWigo
	Hostname      string
	LastUpdate    int64
}

func TestOriginalWigocliParses(t *testing.T) {
	h, _, _ := fixtureHandler(t)
	for _, route := range []string{"/api", "/api/hosts/leaf-1", "/api/hosts/master-1"} {
		w := serve(h, get(route))
		dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
		dec.DisallowUnknownFields()
		var doc origWigo
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s: the original's type does not parse our answer: %v", route, err)
		}
		if route == "/api" {
			leaf := doc.RemoteWigos[leafUUID]
			if doc.Hostname != "master-1" || doc.LocalHost.Probes["crit"].Status != 300 || leaf == nil ||
				leaf.LocalHost.Probes["load"].Metrics[0].Value != 0.39 || leaf.LocalHost.Group != "web" {
				t.Errorf("decoded document lost values: %+v", doc)
			}
		}
	}
	var p origProbeResult
	dec := json.NewDecoder(serve(h, get("/api/hosts/leaf-1/probes/warn")).Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.Status != 300 {
		t.Errorf("probe answer: %v %+v", err, p)
	}
}
