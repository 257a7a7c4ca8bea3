package api

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// schemaFor is the JSON schema of op's answer with status code (its
// default answer when it documents none for code).
func schemaFor(t *testing.T, op *openapi3.Operation, code int) *openapi3.Schema {
	t.Helper()
	resp := op.Responses.Status(code)
	if resp == nil {
		resp = op.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		t.Fatalf("%s: no answer %d documented", op.Summary, code)
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		t.Fatalf("%s: answer %d has no JSON schema", op.Summary, code)
	}
	return mt.Schema.Value
}

func validate(t *testing.T, what string, s *openapi3.Schema, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: not JSON: %v", what, err)
		return
	}
	if err := s.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s does not match its schema: %v", what, err)
	}
}

// The OpenAPI document is valid OpenAPI 3.1 (kin-openapi), documents every
// route of the table with its method and role and nothing the table does
// not serve (but the daemon's own routes, marked x-daemon); the original's
// recorded answers, and this API's answers to every GET route, match the
// schemas.
func TestOpenAPI(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi: %s, want 3.1", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Extensions["x-daemon"] == true {
				continue
			}
			documented[method+" "+path] = true
		}
	}
	for _, rt := range Routes() {
		item := doc.Paths.Find(rt.Pattern)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not documented", rt.Method, rt.Pattern)
			continue
		}
		if role := item.GetOperation(rt.Method).Extensions["x-role"]; role != rt.Role.String() {
			t.Errorf("%s %s: documented role %v, the table's %s", rt.Method, rt.Pattern, role, rt.Role)
		}
		delete(documented, rt.Method+" "+rt.Pattern)
	}
	for k := range documented {
		t.Errorf("%s is documented but not served", k)
	}

	// The original's recorded answers.
	op := func(path string) *openapi3.Operation {
		t.Helper()
		item := doc.Paths.Find(path)
		if item == nil || item.Get == nil {
			t.Fatalf("GET %s not documented", path)
		}
		return item.Get
	}
	recorded := map[string]string{
		"api.json": "/api", "api_with_down_remote.json": "/api", "api_status.json": "/api/status",
		"api_hosts.json": "/api/hosts", "api_hosts_leaf-1.json": "/api/hosts/{hostname}",
		"api_hosts_master-1.json": "/api/hosts/{hostname}", "api_hosts_leaf-1_status.json": "/api/hosts/{hostname}/status",
		"api_hosts_leaf-1_probes.json": "/api/hosts/{hostname}/probes", "api_hosts_leaf-1_probes_warn.json": "/api/hosts/{hostname}/probes/{probe}",
		"api_hosts_leaf-1_probes_warn_status.json": "/api/hosts/{hostname}/probes/{probe}/status",
		"api_hosts_leaf-1_logs.json":               "/api/hosts/{hostname}/logs", "api_groups.json": "/api/groups",
		"api_groups_web.json": "/api/groups/{group}", "api_groups_web_logs.json": "/api/groups/{group}/logs",
		"api_logs.json": "/api/logs", "api_logs_limit_2_offset_0.json": "/api/logs", "api_logs_indexes.json": "/api/logs/indexes",
		"api_probes_warn_logs.json": "/api/probes/{probe}/logs",
	}
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "api*.json"))
	if len(files) == 0 {
		t.Fatalf("no recorded answers in %s", fixtureDir)
	}
	for _, f := range files {
		name := filepath.Base(f)
		path, ok := recorded[name]
		if !ok {
			if name != "api_authority_hosts.json" { // the original's plain-text 500
				t.Errorf("recorded answer %s: which route?", name)
			}
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, "recorded "+name, schemaFor(t, op(path), 200), body)
	}

	// This API's answers, GET route by GET route.
	h, _, _ := fixtureHandler(t)
	args := strings.NewReplacer("{hostname}", "leaf-1", "{group}", "web", "{probe}", "warn", "{uuid}", leafUUID, "{id}", "x")
	for _, rt := range Routes() {
		if rt.Method != http.MethodGet {
			continue
		}
		target := args.Replace(rt.Pattern)
		w := serve(h, get(target))
		if w.Code != 200 && !slices.Contains([]int{404, 501, 503}, w.Code) {
			t.Errorf("GET %s: %d %s", target, w.Code, w.Body)
		}
		validate(t, "GET "+target, schemaFor(t, doc.Paths.Find(rt.Pattern).Get, w.Code), w.Body.Bytes())
	}
	// And the document serves itself.
	w := serve(h, get("/api/openapi.json"))
	var served map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &served); err != nil || served["openapi"] != "3.1.0" {
		t.Errorf("GET /api/openapi.json: %d, openapi %v (%v)", w.Code, served["openapi"], err)
	}
}
