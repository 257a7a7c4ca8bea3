package state

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// TestPatchProbes: a patch changes, adds and removes probes of a host that
// reported itself whole before, leaves its other probes alone, emits the
// same events a whole document would, and keeps the hosts it carries alive.
func TestPatchProbes(t *testing.T) {
	s, sub, clk := newState(t)
	mid := nested()
	mid.LocalHost.Probes["r"] = result("r", 100, "", 1)
	mid.LocalHost.Probes["gone"] = result("gone", 100, "", 1)
	if err := s.Ingest("test", mid); err != nil {
		t.Fatal(err)
	}
	drain(sub)

	clk.Add(50 * time.Second)
	err := s.Patch("test", mid.Uuid,
		[]*model.ProbeResult{result("q", 300, "now bad", 2), result("new", 100, "hello", 2), result("r", 100, "", 2)},
		[]string{"gone", "never-there"})
	if err != nil {
		t.Fatal(err)
	}
	got := kinds(drain(sub))
	want := "probe_changed:mid/q probe_appeared:mid/new probe_updated:mid/r probe_disappeared:mid/gone"
	if got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}
	h, _ := s.FindHost("mid")
	if h.Status != 300 || len(h.Probes) != 3 || h.Probes["q"].Message != "now bad" || h.Probes["gone"] != nil {
		t.Fatalf("mid after patch: status %d, probes %v", h.Status, h.ProbeNames())
	}

	// 50 s + 50 s since the whole document: without the patch refreshing
	// them, both hosts would be DOWN at a 60 s alive timeout.
	clk.Add(50 * time.Second)
	s.CheckAlive()
	for _, name := range []string{"mid", "leaf"} {
		if h, _ := s.FindHost(name); !h.Alive {
			t.Fatalf("%s DOWN 50 s after a patch", name)
		}
	}
	if e := drain(sub); len(e) != 0 {
		t.Fatalf("unexpected events %s", kinds(e))
	}
}

// TestPatchNeedsWholeDocument: a host never received whole, one learned
// through another instance and one that went DOWN all need a document.
func TestPatchNeedsWholeDocument(t *testing.T) {
	s, sub, clk := newState(t)
	set := []*model.ProbeResult{result("q", 100, "", 2)}
	if err := s.Patch("test", "00000000-0000-0000-0000-00000000000b", set, nil); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("unknown host: %v", err)
	}
	mid := nested()
	if err := s.Ingest("test", mid); err != nil {
		t.Fatal(err)
	}
	leafUUID := "00000000-0000-0000-0000-00000000000c"
	if err := s.Patch("test", leafUUID, set, nil); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("host carried by another: %v", err)
	}
	clk.Add(61 * time.Second)
	s.CheckAlive()
	drain(sub)
	if err := s.Patch("test", mid.Uuid, set, nil); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("DOWN host: %v", err)
	}
	if e := drain(sub); len(e) != 0 {
		t.Fatalf("a refused patch published %s", kinds(e))
	}
	if h, _ := s.FindHost("mid"); h.Alive {
		t.Fatal("a refused patch brought the host back UP")
	}
}

// TestPatchRejectsBadProbes: results from the network are checked as in a
// whole document: a bad name is dropped, a bad status becomes ERROR.
func TestPatchRejectsBadProbes(t *testing.T) {
	s, _, _ := newState(t)
	mid := nested()
	if err := s.Ingest("test", mid); err != nil {
		t.Fatal(err)
	}
	err := s.Patch("test", mid.Uuid, []*model.ProbeResult{result("a/b", 100, "", 2), result("q", 5000, "odd", 2), nil}, nil)
	if err == nil || !strings.Contains(err.Error(), `probe "a/b"`) || !strings.Contains(err.Error(), "status 5000 out of range") {
		t.Fatalf("error %v", err)
	}
	h, _ := s.FindHost("mid")
	if _, ok := h.Probes["a/b"]; ok {
		t.Fatal("probe with a slash kept")
	}
	if q := h.Probes["q"]; q.Status != model.StatusError || !strings.Contains(q.Message, "invalid status 5000") {
		t.Fatalf("q = %+v", q)
	}
}
