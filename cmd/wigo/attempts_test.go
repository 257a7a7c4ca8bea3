package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// With attempts = 3 a change is notified at its third result in a row,
// from the last confirmed status; a change undone before that is never
// notified; a kill -9 during a soft change does not lose it. The receiver
// gets exactly the confirmed changes.
func TestCheckAttempts(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, "attempts = 3\nrecovery_attempts = 3\nnotify \"http\" {\n  url = \""+hookSrv.URL+"/hook\"\n}\n")
	r := start(t, env)
	logs := "host=e2e-host&probe=flip"
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	setProbe(t, env, 300)
	awaitLogRows(t, env.url, logs, "not notified: soft 1/3", 1)
	if c := hook.count(); c != 0 {
		t.Fatalf("notified at the first result: %v", hook.since(0))
	}
	sent(1, "the third result")
	hook.mu.Lock()
	if n := hook.got[0]; n.Kind != "probe_changed" || n.OldStatus != 100 || n.NewStatus != 300 || !strings.Contains(n.Message, "changed from 100 to 300") {
		t.Errorf("confirmed change notified as %+v", n)
	}
	hook.mu.Unlock()
	awaitLogRows(t, env.url, logs, "switched from 100 to 300 (3 results in a row)", 1)

	// Undone at the second result: never notified.
	setProbe(t, env, 500)
	setProbe(t, env, 300)
	awaitLogRows(t, env.url, logs, "back to 300 before the change was confirmed", 1)

	// A kill -9 while a recovery is soft: confirmed after the restart.
	setProbe(t, env, 100)
	awaitLogRows(t, env.url, logs, "not notified: soft 1/3", 3)
	r.kill9()
	r = start(t, env)
	defer r.stop(t)
	sent(2, "the recovery confirmed after a kill -9")
	hook.mu.Lock()
	if n := hook.got[1]; n.OldStatus != 300 || n.NewStatus != 100 {
		t.Errorf("recovery notified as %+v, want 300 -> 100", n)
	}
	hook.mu.Unlock()
}
