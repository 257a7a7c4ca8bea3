package api

import (
	"net/http"
	"strings"
	"testing"
)

// DELETE /api/hosts/:host forgets a remote host: 200 with what went, then
// 404 for it and for any unknown name, 409 for the instance itself, and
// behind the same basic auth as every other route.
func TestDeleteHost(t *testing.T) {
	st, _ := newFixtureState(t)
	h := New(Options{State: st, Auth: withLogin("admin", "secret")})
	del := request{method: http.MethodDelete, target: "/api/hosts/leaf-1"}

	if w := serve(h, del); w.Code != http.StatusUnauthorized {
		t.Fatalf("without credentials: %d, want 401", w.Code)
	}
	if _, ok := st.FindHost("leaf-1"); !ok {
		t.Fatal("an unauthenticated DELETE removed the host")
	}
	body := mustJSON(t, serve(h, del.auth("admin", "secret")), 200)
	if got, _ := body.(map[string]any)["Removed"].([]any); len(got) != 1 || got[0] != "leaf-1" {
		t.Errorf("answer %v, want Removed [leaf-1]", body)
	}
	if _, ok := st.FindHost("leaf-1"); ok {
		t.Error("leaf-1 still in the state")
	}
	if msg := wantError(t, serve(h, del.auth("admin", "secret")), 404); !strings.Contains(msg, `"leaf-1" not found`) {
		t.Errorf("second DELETE: %q", msg)
	}
	if msg := wantError(t, serve(h, request{method: http.MethodDelete, target: "/api/hosts/master-1"}.auth("admin", "secret")), 409); !strings.Contains(msg, "this instance itself") {
		t.Errorf("DELETE of the local host: %q", msg)
	}
	mustJSON(t, serve(h, get("/api/hosts/master-1").auth("admin", "secret")), 200)
}
