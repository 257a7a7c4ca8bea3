package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// A change awaiting its confirming results survives a kill -9 in the
// middle of its soft sequence (two results of three seen and logged): the
// first result after the restart is the third, which confirms it and is
// notified exactly once, from the status last confirmed.
func TestCheckAttemptsKilledWhileSoft(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, "attempts = 3\nnotify \"http\" {\n  url = \""+hookSrv.URL+"/hook\"\n}\n")
	// Every 3 s rather than every second: the daemon is killed well before
	// the third result.
	if err := os.MkdirAll(filepath.Join(env.dir, "probes", "3"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(env.dir, "probes", "1", "flip"), filepath.Join(env.dir, "probes", "3", "flip")); err != nil {
		t.Fatal(err)
	}
	r := start(t, env)
	logs := "host=e2e-host&probe=flip"
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	waitFor(t, env.url, 15*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })

	setProbe(t, env, 300)
	awaitLogRows(t, env.url, logs, "not notified: soft 1/3", 1)
	awaitLogRows(t, env.url, logs, "Probe flip still at 300 : now 300 (not notified: soft 2/3)", 1)
	r.kill9()
	if c := hook.count(); c != 0 {
		t.Fatalf("notified before the third result: %v", hook.since(0))
	}

	r = start(t, env)
	defer r.stop(t)
	sent(1, "the change confirmed after a kill -9")
	hook.mu.Lock()
	if n := hook.got[0]; n.Kind != "probe_changed" || n.OldStatus != 100 || n.NewStatus != 300 {
		t.Errorf("confirmed change notified as %+v, want probe_changed 100 -> 300", n)
	}
	hook.mu.Unlock()
	awaitLogRows(t, env.url, logs, "switched from 100 to 300 (3 results in a row)", 1)
	for _, soft := range []string{"soft 1/3", "soft 2/3"} {
		n := 0
		for _, row := range logRows(t, env.url, logs) {
			if strings.Contains(row.Message, soft) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d log rows %q, want 1: the restart counts on from two", n, soft)
		}
	}
	// Confirmed, it is no longer soft: the next results send nothing.
	next := waitFor(t, env.url, 10*time.Second, func(*model.Wigo) bool { return true }).LocalHost.Probes["flip"].Timestamp
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return w.LocalHost.Probes["flip"].Timestamp > next })
	sent(1, "the results after the confirmation")
}

// A probe flapping when the daemon is killed -9 still flaps after the
// restart: its start is not announced again and its changes are still held
// back. When the window passes on the daemon's clock with no change, one
// flapping_stopped says so, from the status people last heard.
func TestFlappingKilledWhileFlapping(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, "notify \"http\" {\n  url = \""+hookSrv.URL+"/hook\"\n}\n")
	writeFile(t, filepath.Join(env.dir, "wigo.d", "flapping.hcl"), "flapping {\n  window    = 3600\n  threshold = 3\n}\n", 0o644)
	clk := useClock(t, &env, time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	r := start(t, env)
	logs := "host=e2e-host&probe=flip"
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	for i, status := range []int{300, 100, 300, 100} {
		setProbe(t, env, status)
		sent(i+1, "a change up to the start of the flapping")
	}
	hook.mu.Lock()
	if n := hook.got[3]; n.Flapping != "started" || n.NewStatus != 100 {
		t.Errorf("start notified as %+v", n)
	}
	hook.mu.Unlock()
	setProbe(t, env, 200)
	awaitLogRows(t, env.url, logs, "not notified: flapping:", 1)

	r.kill9()
	clk.add(t, 10*time.Minute)
	r = start(t, env)
	defer r.stop(t)
	waitFor(t, env.url, 15*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 200 })
	sent(4, "the restart while flapping")
	metricsHave(t, env.url, "wigo_flapping 1\n")
	setProbe(t, env, 300)
	awaitLogRows(t, env.url, logs, "not notified: flapping:", 2)
	sent(4, "a change after the restart, still flapping")

	// An hour on the daemon's clock after the last change, it has settled.
	clk.add(t, time.Hour)
	sent(5, "the end of the flapping")
	hook.mu.Lock()
	if n := hook.got[4]; n.Kind != "flapping_stopped" || n.Flapping != "stopped" || n.OldStatus != 100 || n.NewStatus != 300 {
		t.Errorf("end notified as %+v, want flapping_stopped 100 -> 300 (from the start's status)", n)
	}
	hook.mu.Unlock()
	metricsHave(t, env.url, "wigo_flapping 0\n")
	setProbe(t, env, 100)
	sent(6, "a change after the flapping")
}

// fakeRemote is an instance the daemon pulls: it answers GET /api with a
// one-host document in the original's shape while up, 503 while down, and
// sends its name to polled at each poll (dropped when no one reads).
type fakeRemote struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex
	down bool
	// refused counts the polls answered while down.
	refused int
}

func newFakeRemote(t *testing.T, name string, polled chan<- string) *fakeRemote {
	t.Helper()
	f := &fakeRemote{name: name}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		down := f.down
		if down {
			f.refused++
		}
		f.mu.Unlock()
		defer func() {
			select {
			case polled <- name:
			default:
			}
		}()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		now := time.Now()
		doc := model.Wigo{
			Uuid: "uuid-" + name, Version: "0.73.0", IsAlive: true, GlobalStatus: 100, Hostname: name,
			LastUpdate: now.Unix(), RemoteWigos: map[string]*model.Wigo{},
			LocalHost: &model.Host{Name: name, Group: "fleet", Status: 100, Probes: map[string]*model.ProbeResult{
				"ping": {Name: "ping", Version: "0.1", Value: json.RawMessage(`""`), Message: "ok",
					ProbeDate: model.FormatDate(now), Timestamp: now.Unix(), Detail: json.RawMessage(`""`), Status: 100},
			}},
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRemote) setDown(v bool) {
	f.mu.Lock()
	f.down = v
	f.refused = 0
	f.mu.Unlock()
}

// awaitRefused waits until every remote refused a poll since it was set
// down: a poll answered just before is then over, and the master's last
// word from each is older than the next move of the clock.
func awaitRefused(t *testing.T, remotes []*fakeRemote) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, f := range remotes {
		for {
			f.mu.Lock()
			n := f.refused
			f.mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s was not polled since it went down", f.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// hostsWhere returns the names of the pulled hosts whose alive flag is
// alive in w.
func hostsWhere(w *model.Wigo, alive bool) []string {
	var out []string
	for _, h := range w.RemoteWigos {
		if h.IsAlive == alive {
			out = append(out, h.Hostname)
		}
	}
	sort.Strings(out)
	return out
}

// A relay that goes DOWN with the 50 hosts behind it (each pulled from its
// own instance, by the real pull plugin) sends one notification, the
// relay's; a kill -9 while it is DOWN sends nothing again at the restart;
// when it is back and the alive timeout has passed on the daemon's clock,
// exactly the children still down are notified, once each, and those back
// with it are not, a kill -9 within that grace notwithstanding. Renotify
// (every minute) repeats the relay while it is DOWN, never a child whose
// DOWN nobody heard of.
func TestDependencyKilledWhileParentDown(t *testing.T) {
	hook, hookSrv := newSink(t)
	polled := make(chan string, 1000)
	relay := newFakeRemote(t, "relay-1", polled)
	remotes := []*fakeRemote{relay}
	var children []*fakeRemote
	for i := range 50 {
		c := newFakeRemote(t, fmt.Sprintf("child-%02d", i), polled)
		children = append(children, c)
		remotes = append(remotes, c)
	}
	var addrs []string
	for _, f := range remotes {
		addrs = append(addrs, fmt.Sprintf("%q", strings.TrimPrefix(f.srv.URL, "http://")))
	}
	env := newEnv(t, fmt.Sprintf(`alive_timeout = 60
notify "http" {
  url            = "%s/hook"
  renotify_every = 60
}
dependency "behind-relay" {
  hosts   = ["child-*"]
  parents = ["relay-1"]
}
transport "pull" {
  check_interval = 1
  remotes = [%s]
}
`, hookSrv.URL, strings.Join(addrs, ", ")))
	clk := useClock(t, &env, time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC))
	r := start(t, env)
	sent := func(n int, what string) { t.Helper(); hook.exactly(t, env.url, n, what) }
	waitFor(t, env.url, 30*time.Second, func(w *model.Wigo) bool { return len(hostsWhere(w, true)) == 51 })
	sent(0, "51 hosts heard of")

	for _, f := range remotes {
		f.setDown(true)
	}
	awaitRefused(t, remotes)
	clk.add(t, 61*time.Second)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return len(hostsWhere(w, false)) == 51 })
	awaitLogRows(t, env.url, "limit=100", "not notified: parent relay-1 is DOWN (dependency behind-relay)", 50)
	sent(1, "the relay and its 50 children DOWN")
	hook.mu.Lock()
	if n := hook.got[0]; n.Kind != "host_down" || n.Hostname != "relay-1" {
		t.Errorf("DOWN notified as %+v, want the relay's host_down", n)
	}
	hook.mu.Unlock()

	r.kill9()
	r = start(t, env)
	waitFor(t, env.url, 15*time.Second, func(w *model.Wigo) bool { return len(hostsWhere(w, false)) == 51 })
	sent(1, "the restart while the relay is DOWN")
	// A renotify interval later the relay is sent again, its children not.
	clk.add(t, 61*time.Second)
	sent(2, "the renotify interval")
	hook.mu.Lock()
	if n := hook.got[1]; n.Kind != "renotify" || n.Hostname != "relay-1" {
		t.Errorf("renotified %+v, want the relay", n)
	}
	hook.mu.Unlock()

	// The relay and 30 children are back; 20 children stay down.
	relay.setDown(false)
	for _, c := range children[:30] {
		c.setDown(false)
	}
	w := waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return len(hostsWhere(w, true)) == 31 })
	sent(3, "the relay back")
	hook.mu.Lock()
	if n := hook.got[2]; n.Kind != "host_up" || n.Hostname != "relay-1" {
		t.Errorf("second notification %+v, want the relay's host_up", n)
	}
	hook.mu.Unlock()
	if alive := hostsWhere(w, true); alive[0] != "child-00" || alive[29] != "child-29" || alive[30] != "relay-1" {
		t.Fatalf("alive: %v", alive)
	}

	// The alive timeout passes on the daemon's clock, in steps short enough
	// that the hosts polled every second never look silent; a kill -9
	// halfway gives the children their grace again from the restart.
	step := func() {
		t.Helper()
		for len(polled) > 0 {
			<-polled
		}
		clk.add(t, 10*time.Second)
		heard := map[string]bool{}
		for len(heard) < 31 {
			if name := await(t, polled, 20*time.Second, "poll"); name == "relay-1" || name < "child-30" {
				heard[name] = true
			}
		}
	}
	for range 3 {
		step()
	}
	sent(3, "halfway through the grace")
	r.kill9()
	r = start(t, env)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return len(hostsWhere(w, true)) == 31 })
	sent(3, "the restart within the grace")
	for range 7 {
		step()
	}
	sent(23, "the children still down once the grace has passed")
	still := map[string]int{}
	hook.mu.Lock()
	for _, n := range hook.got[3:] {
		if n.Kind != "current_state" || n.NewStatus != model.StatusDown || n.OldStatus != 100 {
			t.Errorf("after the grace: %+v, want current_state 100 -> 999", n)
		}
		still[n.Hostname]++
	}
	hook.mu.Unlock()
	for _, c := range children[30:] {
		if still[c.name] != 1 {
			t.Errorf("%s notified %d times, want once", c.name, still[c.name])
		}
	}
	if len(still) != 20 {
		t.Errorf("notified after the grace: %v, want child-30 to child-49", still)
	}
	r.stop(t)
}
