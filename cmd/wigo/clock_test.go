package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// testClock is a daemon's clock that the test moves (clock_fake.go, in
// the fakeclock build the tests run): it runs at the system clock's pace
// from the last time set, in this daemon and in the next one started on
// the same env after a kill -9.
type testClock struct {
	path string
	mu   sync.Mutex
	at   time.Time // the clock's time...
	when time.Time // ...when the system clock read this
}

// useClock gives env's daemons a clock that reads at now.
func useClock(t *testing.T, env *daemonEnv, at time.Time) *testClock {
	t.Helper()
	env.clock = &testClock{path: filepath.Join(env.dir, "clock")}
	env.clock.set(t, at)
	return env.clock
}

// set moves the clock to at, for the daemon within its next 10 ms.
func (c *testClock) set(t *testing.T, at time.Time) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.when = at, time.Now()
	tmp := c.path + ".tmp"
	line := c.at.Format(time.RFC3339Nano) + " " + c.when.Format(time.RFC3339Nano) + "\n"
	if err := os.WriteFile(tmp, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		t.Fatal(err)
	}
}

// now is the daemon's time.
func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at.Add(time.Since(c.when))
}

// add moves the clock on by d.
func (c *testClock) add(t *testing.T, d time.Duration) { t.Helper(); c.set(t, c.now().Add(d)) }

// A silence ends at its end on the daemon's clock, two hours after it was
// set, with no request: the problem it held back is notified once as it
// is then; a kill -9 in between changes nothing.
func TestSilenceEndsOnTheClock(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, "notify \"http\" {\n  url = \""+hookSrv.URL+"/hook\"\n}\n")
	clk := useClock(t, &env, time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC))
	r := start(t, env)
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })

	code, body := change(t, http.MethodPost, env.url+"/api/silences", url.Values{"host": {"e2e-host"}, "duration": {"2h"}})
	if code != http.StatusOK {
		t.Fatalf("POST /api/silences: %d %s", code, body)
	}
	s := silences(t, env.url)
	if len(s) != 1 || s[0].End.Sub(clk.now()).Round(time.Minute) != 2*time.Hour {
		t.Fatalf("silences: %+v, want one ending 2 h after %s (the daemon's clock)", s, clk.now())
	}
	setProbe(t, env, 500)
	awaitLogRows(t, env.url, "host=e2e-host&probe=flip", "not notified: silence "+s[0].ID, 1)
	sent(0, "a change under the silence")

	r.kill9()
	clk.add(t, time.Hour)
	r = start(t, env)
	defer r.stop(t)
	waitFor(t, env.url, 15*time.Second, func(*model.Wigo) bool { return true })
	sent(0, "the restart under the silence")

	clk.add(t, time.Hour+time.Second)
	sent(1, "the end of the silence")
	hook.mu.Lock()
	if n := hook.got[0]; n.Kind != string(event.CurrentState) || n.NewStatus != 500 || n.Probe != "flip" {
		t.Errorf("end of the silence notified as %+v, want current_state of flip at 500", n)
	}
	hook.mu.Unlock()
	if s := silences(t, env.url); len(s) != 0 {
		t.Errorf("silences after their end: %+v", s)
	}
}
