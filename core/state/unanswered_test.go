package state

import (
	"strings"
	"testing"

	"github.com/wigo-project/wigo/core/model"
)

func TestUnansweredRemoteStandsInUntilItAnswers(t *testing.T) {
	s, sub, _ := newState(t)
	const addr = "10.0.0.9:4000"
	s.Unanswered(addr, "connection refused")
	s.Unanswered(addr, "connection refused again") // already shown: nothing new
	ev := drain(sub)
	if got, want := kinds(ev), "host_appeared:10.0.0.9:4000/ host_down:10.0.0.9:4000/"; got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(ev[1].Message, "never answered since") || !strings.Contains(ev[1].Message, "connection refused") {
		t.Errorf("DOWN message %q does not say it never answered, and why", ev[1].Message)
	}
	doc := s.Document()
	w := doc.RemoteWigos["unanswered:"+addr]
	if w == nil || !w.NeverAnswered || w.IsAlive || w.GlobalStatus != model.StatusDown || w.Hostname != addr || w.NotHeardSince == "" {
		t.Fatalf("stand-in in the document: %+v", w)
	}
	if doc.GlobalStatus != model.StatusDown {
		t.Errorf("global status %d, want the DOWN of the stand-in", doc.GlobalStatus)
	}

	// It answers: UP, then the host it reports replaces the stand-in.
	leaf := nested()
	if err := s.Ingest(addr, leaf); err != nil {
		t.Fatal(err)
	}
	ev = drain(sub)
	got := kinds(ev)
	for _, want := range []string{"host_up:10.0.0.9:4000/", "host_removed:10.0.0.9:4000/", "host_appeared:" + leaf.Hostname + "/"} {
		if !strings.Contains(got, want) {
			t.Errorf("events after the answer %s lack %s", got, want)
		}
	}
	if s.Document().RemoteWigos["unanswered:"+addr] != nil {
		t.Error("the stand-in outlived the answer")
	}

	// Once its source carries a host, a failure is the usual DOWN after
	// alive_timeout, not a stand-in.
	s.Unanswered(addr, "refused")
	if got := kinds(drain(sub)); got != "" {
		t.Errorf("a source that answered got a stand-in: %s", got)
	}
}

func TestUnansweredKeepsARestoredHost(t *testing.T) {
	s, sub, _ := newState(t)
	s.Restore([]*Host{{UUID: "c471b561-78e7-49a3-5daf-9e8f146d9506", Name: "leaf-1", Remote: true, Source: "10.0.0.2:4000"}})
	s.Unanswered("10.0.0.2:4000", "refused")
	if got := kinds(drain(sub)); got != "" {
		t.Errorf("a remote restored DOWN got a stand-in: %s", got)
	}
	if n := len(s.Document().RemoteWigos); n != 1 {
		t.Errorf("%d remotes, want the restored one alone", n)
	}
}
