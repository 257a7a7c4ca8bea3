package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// A configured remote that never answered shows on the master as a DOWN
// host named after its address, "never answered", and is notified DOWN
// once: a restart of the master does not notify it again. When it answers
// at last, its recovery is notified and it gives way to the host it
// reports.
func TestNeverAnsweredRemote(t *testing.T) {
	s, srv := newSink(t)
	leafEnv, masterEnv := pullEnv(t, "leaf"), pullEnv(t, "master")
	appendConfig(t, masterEnv, fmt.Sprintf(`
notify "http" {
  url = %q
}
transport "pull" {
  check_interval = 1
  retries        = 0
  remote %q {}
}
`, srv.URL+"/hook", leafEnv.addr()))
	standIn := "unanswered:" + leafEnv.addr()
	unanswered := func(w *model.Wigo) bool {
		r := w.RemoteWigos[standIn]
		return r != nil && r.NeverAnswered && !r.IsAlive && r.GlobalStatus == model.StatusDown &&
			r.Hostname == leafEnv.addr() && r.NotHeardSince != "" && w.GlobalStatus == model.StatusDown
	}

	master := start(t, masterEnv)
	waitFor(t, masterEnv.url, 15*time.Second, unanswered)
	s.awaitKind(t, 0, "host_down", leafEnv.addr(), 20*time.Second)
	s.exactly(t, masterEnv.url, 1, "the never-answered remote DOWN")

	// Restarted, the master still shows it, and says nothing new.
	master.kill9()
	master = start(t, masterEnv)
	waitFor(t, masterEnv.url, 15*time.Second, unanswered)
	leaf := start(t, leafEnv)
	leafUUID := waitFor(t, leafEnv.url, 15*time.Second, func(w *model.Wigo) bool { return w.Uuid != "" }).Uuid
	got := waitFor(t, masterEnv.url, 20*time.Second, func(w *model.Wigo) bool {
		r := w.RemoteWigos[leafUUID]
		return r != nil && r.IsAlive && w.RemoteWigos[standIn] == nil
	})
	if len(got.RemoteWigos) != 1 {
		t.Fatalf("the master holds %d remotes, want the leaf alone: %v", len(got.RemoteWigos), got.RemoteWigos)
	}
	s.awaitKind(t, 1, "host_up", leafEnv.addr(), 20*time.Second)
	s.exactly(t, masterEnv.url, 2, "DOWN once across a restart, then UP")
	leaf.stop(t)
	master.stop(t)
}
