package state

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wigo-project/wigo/core/model"
)

// A remote's Detail (or Value) nested 5,000 deep is kept to the same cap as
// a local probe's, by a whole document and by a patch alike.
func TestRemoteDetailDepthCapped(t *testing.T) {
	s, _, _ := newState(t)
	deep := json.RawMessage(`{"top":"kept","sub":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`)
	doc := nested()
	p := result("deep", 100, "fine", 1)
	p.Detail, p.Value = deep, deep
	doc.LocalHost.Probes["deep"] = p
	if err := s.Ingest("test", doc); err != nil {
		t.Fatal(err)
	}
	h, _ := s.FindHost("mid")
	for what, raw := range map[string]json.RawMessage{"Detail": h.Probes["deep"].Detail, "Value": h.Probes["deep"].Value} {
		if !json.Valid(raw) || len(raw) > 200 || !strings.Contains(string(raw), `"top":"kept"`) || !strings.Contains(string(raw), model.Elided) {
			t.Errorf("ingested %s = %.300s, want the top kept and the depth cut", what, raw)
		}
	}

	q := result("deep", 300, "worse", 2)
	q.Detail = deep
	if err := s.Patch("test", h.UUID, []*model.ProbeResult{q}, nil); err != nil {
		t.Fatal(err)
	}
	h, _ = s.FindHost("mid")
	if d := h.Probes["deep"].Detail; len(d) > 200 || !strings.Contains(string(d), model.Elided) {
		t.Errorf("patched Detail = %.300s, want the depth cut", d)
	}
}
