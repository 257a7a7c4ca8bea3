package state

import (
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// The revision is what the API's ETag is made of: every change of what the
// document renders must move it (or a pull master keeps a stale document),
// and nothing else may (or every poll costs a whole document).
func TestRevisionMovesWithTheDocumentOnly(t *testing.T) {
	s, _, clk := newState(t)
	step := func(what string, moves bool, f func()) {
		t.Helper()
		before := s.Revision()
		f()
		if got := s.Revision() != before; got != moves {
			t.Errorf("%s: revision moved = %v, want %v", what, got, moves)
		}
	}
	step("local probe result", true, func() { s.ProbeResult(result("cpu", 100, "ok", 1)) })
	step("same local result again", true, func() { s.ProbeResult(result("cpu", 100, "ok", 1)) })
	doc := fixtureDoc(t)
	step("first document", true, func() { mustIngest(t, s, doc) })
	clk.Add(time.Second)
	// Nothing new, but LastUpdate of every host it carries moves.
	step("same document again", true, func() { mustIngest(t, s, fixtureDoc(t)) })
	step("alive check with nobody late", false, s.CheckAlive)
	step("empty patch (still alive)", true, func() {
		if err := s.Patch("10.0.0.2:4000", doc.Uuid, nil, nil); err != nil {
			t.Fatal(err)
		}
	})
	step("patch refused", false, func() { _ = s.Patch("elsewhere", doc.Uuid, nil, nil) })
	clk.Add(2 * time.Minute)
	step("hosts going DOWN", true, s.CheckAlive)
	step("alive check with everybody DOWN already", false, s.CheckAlive)
	step("identity", true, func() { s.SetIdentity("master-2", "infra") })
	step("probe removed", true, func() { s.ProbeRemoved("cpu") })
	step("unknown probe removed", false, func() { s.ProbeRemoved("cpu") })
	step("document read", false, func() { _ = s.Document() })
}

func mustIngest(t *testing.T, s *State, doc *model.Wigo) {
	t.Helper()
	if err := s.Ingest("10.0.0.2:4000", doc); err != nil {
		t.Fatal(err)
	}
}
