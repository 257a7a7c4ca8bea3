package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// TestPushThenPullHierarchy: the two transports compose. A leaf pushes to
// mid over TLS and is approved through mid's API; top pulls mid's GET /api.
// On top, the leaf shows nested under mid with its probe, a probe flipped on
// the leaf's disk reaches top through both hops, the leaf's UUID is held
// exactly once in top's tree, and top never holds itself. Every daemon and
// plugin is the real binary.
func TestPushThenPullHierarchy(t *testing.T) {
	pushPort := freePort(t)
	mid := pushDaemon(t, "mid", "")
	appendFile(t, mid.config, pushServerBlock(mid.dir, pushPort, false))
	leaf := pushDaemon(t, "leaf", "")
	appendFile(t, leaf.config, pushClientBlock(leaf.dir, pushPort))
	top := pullEnv(t, "top")
	appendConfig(t, top, fmt.Sprintf(`
transport "pull" {
  check_interval = 1
  remotes = [%q]
}
`, mid.addr()))

	mr := start(t, mid)
	waitFor(t, mid.url, 30*time.Second, func(*model.Wigo) bool { return true })
	if code := awaitAuthority(t, mid.url); code != http.StatusOK {
		mr.stop(t) // gracefully: a killed daemon leaves its plugins behind
		t.Fatalf("mid's authority answered %d", code)
	}
	lr := start(t, leaf)
	tr := start(t, top)
	leafDoc := waitFor(t, leaf.url, 30*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	topDoc := waitFor(t, top.url, 30*time.Second, func(w *model.Wigo) bool { return w.Uuid != "" })

	// auto_accept is off: the leaf must show as waiting under the UUID it
	// reports itself before mid lets it in.
	waiting := func() bool {
		_, list := authority(t, mid.url, http.MethodGet, "")
		return list.Waiting[leafDoc.Uuid] == "leaf"
	}
	for deadline := time.Now().Add(30 * time.Second); !waiting(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the leaf %s never showed in mid's waiting list", leafDoc.Uuid)
		}
	}
	if code, _ := authority(t, mid.url, http.MethodPost, "/"+leafDoc.Uuid+"/allow"); code != http.StatusOK {
		t.Fatalf("allow answered %d", code)
	}

	// Both hops: pushed into mid, then pulled from mid into top.
	leafOnTop := func(status int) func(*model.Wigo) bool {
		return func(w *model.Wigo) bool {
			l, path := find(w, "leaf")
			return l != nil && l.Uuid == leafDoc.Uuid && probeStatus(l, "flip") == status &&
				strings.Join(path, "/") == "top/mid/leaf"
		}
	}
	waitFor(t, top.url, 30*time.Second, leafOnTop(100))

	setProbe(t, leaf, 300)
	got := waitFor(t, top.url, 30*time.Second, leafOnTop(300))

	// The leaf reaches top only through mid: a second copy anywhere in top's
	// tree (flattened to its top level, or nested twice) would be counted and
	// alerted on twice.
	if n := countUUID(got, leafDoc.Uuid); n != 1 {
		t.Errorf("the leaf's UUID appears %d times in top's tree, want 1", n)
	}
	if contains(got, topDoc.Uuid) {
		t.Errorf("top ingested itself: %+v", got.RemoteWigos)
	}

	// Stopped gracefully, outermost first, so no plugin outlives its daemon.
	tr.stop(t)
	lr.stop(t)
	mr.stop(t)
}

// countUUID counts the hosts carrying uuid in w's whole tree, w included; a
// remote keyed by one UUID but reporting another counts under both.
func countUUID(w *model.Wigo, uuid string) int {
	if w == nil {
		return 0
	}
	n := 0
	if w.Uuid == uuid {
		n++
	}
	for id, sub := range w.RemoteWigos {
		if id == uuid && sub.Uuid != uuid {
			n++
		}
		n += countUUID(sub, uuid)
	}
	return n
}
