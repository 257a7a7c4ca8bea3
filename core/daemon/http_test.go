package daemon

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLocalWritesOnly(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	cases := []struct {
		auth   bool
		method string
		remote string
		want   int
	}{
		{false, http.MethodPost, "192.0.2.7:5000", http.StatusForbidden},
		{false, http.MethodPost, "127.0.0.1:5000", http.StatusNoContent},
		{false, http.MethodPost, "[::1]:5000", http.StatusNoContent},
		{false, http.MethodGet, "192.0.2.7:5000", http.StatusNoContent},
		{true, http.MethodPost, "192.0.2.7:5000", http.StatusNoContent},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "/api/authority/hosts/x/allow", nil)
		r.RemoteAddr = c.remote
		w := httptest.NewRecorder()
		localWritesOnly(c.auth, ok).ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("auth=%v %s from %s: %d, want %d", c.auth, c.method, c.remote, w.Code, c.want)
		}
		if w.Code == http.StatusForbidden && !strings.Contains(w.Body.String(), "http.login") {
			t.Errorf("refusal does not say how to allow it: %s", w.Body)
		}
	}
}
