package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// A probe that flips more than the threshold within the window sends one
// notification that it started flapping; its next changes are held back
// and logged as such; when it settles, one notification says it stopped,
// with its status then. The receiver gets exactly that.
func TestFlapping(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, "notify \"http\" {\n  url = \""+hookSrv.URL+"/hook\"\n}\n")
	// A drop-in overrides the test default (off): 3 changes within 20 s.
	writeFile(t, filepath.Join(env.dir, "wigo.d", "flapping.hcl"), "flapping {\n  window    = 20\n  threshold = 3\n}\n", 0o644)
	r := start(t, env)
	defer r.stop(t)
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	for i, status := range []int{300, 100, 300} {
		setProbe(t, env, status)
		sent(i+1, "a change before flapping")
	}
	setProbe(t, env, 100)
	sent(4, "the change that starts the flapping")
	hook.mu.Lock()
	if n := hook.got[3]; n.Flapping != "started" || n.NewStatus != 100 || !strings.Contains(n.Message, "started flapping: 4 changes in 20s") {
		t.Errorf("start notified as %+v", n)
	}
	hook.mu.Unlock()
	setProbe(t, env, 200)
	setProbe(t, env, 300)
	awaitLogRows(t, env.url, "host=e2e-host&probe=flip", "not notified: flapping:", 2)
	metricsHave(t, env.url, "wigo_flapping 1\n")
	// No change from here: it settles once the changes age out of the
	// window, and says so once.
	sent(5, "the end of the flapping")
	hook.mu.Lock()
	if n := hook.got[4]; n.Kind != "flapping_stopped" || n.Flapping != "stopped" || n.OldStatus != 100 || n.NewStatus != 300 {
		t.Errorf("end notified as %+v, want flapping_stopped 100 -> 300", n)
	}
	hook.mu.Unlock()
	awaitLogRows(t, env.url, "host=e2e-host&probe=flip", "is CRIT (300) and stopped flapping", 1)
	// Then a change is a change again.
	setProbe(t, env, 100)
	sent(6, "a change after the flapping")
}
