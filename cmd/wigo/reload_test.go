package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/plugins/output-opentsdb/tsdbtest"
)

// pluginPids maps each running plugin instance (`kind/label`) of the daemon
// at url to its process id, from GET /api/plugins.
func pluginPids(t *testing.T, url string) map[string]int {
	t.Helper()
	var list []struct {
		Kind, Instance, State string
		Pid                   int
	}
	getJSON(t, url+"/api/plugins", &list)
	out := map[string]int{}
	for _, p := range list {
		if p.State == "running" {
			out[p.Kind+"/"+p.Instance] = p.Pid
		}
	}
	return out
}

// reload writes the plugin blocks drop-in and sends SIGHUP, then waits for
// the daemon to log the outcome (want: "configuration reloaded" or
// "reload refused") once more than before.
func (r *running) reload(t *testing.T, env daemonEnv, blocks, want string) {
	t.Helper()
	before := strings.Count(r.logs.String(), want)
	writeFile(t, filepath.Join(env.dir, "wigo.d", "50-plugins.hcl"), blocks, 0o644)
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(r.logs.String(), want) == before {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the daemon's log within 30s of SIGHUP", want)
		}
		time.Sleep(20 * time.Millisecond) // another process's log: polling is the only way
	}
}

// awaitPids waits until the daemon runs exactly the plugin instances of
// want's keys and returns their pids.
func awaitPids(t *testing.T, url string, want ...string) map[string]int {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(20 * time.Second)
	for {
		pids := pluginPids(t, url)
		var got []string
		for k := range pids {
			got = append(got, k)
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("running plugin instances %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func notifyBlock(label, url string) string {
	return fmt.Sprintf("notify %q {\n  plugin = \"notify-http\"\n  url    = %q\n}\n", label, url)
}

// A SIGHUP applies the plugin blocks by difference while the probe keeps
// changing: a notifier whose URL changed restarts and sends to the new
// one, an added one starts, a removed one stops, the unchanged one keeps
// its process throughout; a reload with a block its plugin refuses is
// refused as a whole, with the position, and changes nothing. The
// unchanged notifier receives every change exactly once, across every
// reload; the changed one, old and new URL together, every change of its
// life exactly once; the added one exactly those after it came.
func TestReloadAppliesPluginBlocks(t *testing.T) {
	steady, steadySrv := newSink(t)
	old, oldSrv := newSink(t)
	moved, movedSrv := newSink(t)
	added, addedSrv := newSink(t)
	env := newEnv(t, "")
	a, b := notifyBlock("a", steadySrv.URL+"/hook"), notifyBlock("b", oldSrv.URL+"/hook")
	writeFile(t, filepath.Join(env.dir, "wigo.d", "50-plugins.hcl"), a+b, 0o644)
	r := start(t, env)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	first := awaitPids(t, env.url, "notify/a", "notify/b")
	f := &flipper{env: env, status: 100}
	f.flip(t)
	f.flip(t)
	// Both are in the outbox before the reload (the state shows a change
	// before its notification is committed).
	steady.awaitUnique(t, 2, 20*time.Second, "the first two changes")

	// b's URL changes, c is added, while the probe changes: the change is
	// on disk as the SIGHUP goes, the probe reads it during the reload.
	writeFile(t, filepath.Join(env.dir, "conf.d", "flip.json"), `{"Status":300,"Message":"now 300"}`, 0o644)
	f.want, f.status = append(f.want, "100->300"), 300
	c := notifyBlock("c", addedSrv.URL+"/hook")
	bMoved := notifyBlock("b", movedSrv.URL+"/hook")
	// The file moves around a; a comment is added: still the same block.
	r.reload(t, env, "# reloaded\n"+c+bMoved+"\n"+a, "configuration reloaded")
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 300 })
	f.flip(t)
	second := awaitPids(t, env.url, "notify/a", "notify/b", "notify/c")
	if second["notify/a"] != first["notify/a"] {
		t.Errorf("the unchanged block a was restarted: pid %d, was %d", second["notify/a"], first["notify/a"])
	}
	if second["notify/b"] == first["notify/b"] {
		t.Errorf("the changed block b kept its process %d", first["notify/b"])
	}
	if syscall.Kill(first["notify/b"], 0) == nil {
		t.Errorf("b's old process %d still runs", first["notify/b"])
	}
	f.flip(t)
	// Everything b accepted is delivered before it is removed: a removed
	// notifier's pending rows are not sent anywhere.
	steady.exactly(t, env.url, len(f.want), "the changes before b is removed")
	bChanges := len(f.want)

	// b is removed.
	r.reload(t, env, a+c, "configuration reloaded")
	third := awaitPids(t, env.url, "notify/a", "notify/c")
	if third["notify/a"] != first["notify/a"] || third["notify/c"] != second["notify/c"] {
		t.Errorf("removing b restarted others: %v, were %v", third, second)
	}
	if syscall.Kill(second["notify/b"], 0) == nil {
		t.Errorf("the removed block's process %d still runs", second["notify/b"])
	}
	f.flip(t)

	// A block its plugin refuses: the reload is refused as a whole, at
	// the attribute; c's header change in the same reload is not applied.
	bad := "notify \"d\" {\n  plugin = \"notify-http\"\n  url    = \"ftp://nowhere/\"\n}\n"
	cHeader := fmt.Sprintf("notify \"c\" {\n  plugin  = \"notify-http\"\n  url     = %q\n  headers = { X-Reloaded = \"yes\" }\n}\n", addedSrv.URL+"/hook")
	r.reload(t, env, a+cHeader+bad, "reload refused")
	dropIn := filepath.Join(env.dir, "wigo.d", "50-plugins.hcl")
	if logs := r.logs.String(); !strings.Contains(logs, dropIn+":12,12") || !strings.Contains(logs, `notify \"d\": Invalid value for \"url\"`) {
		t.Errorf("the refusal does not say where:\n%.3000s", logs[max(0, len(logs)-3000):])
	}
	if got := awaitPids(t, env.url, "notify/a", "notify/c"); got["notify/a"] != third["notify/a"] || got["notify/c"] != third["notify/c"] {
		t.Errorf("a refused reload changed the plugins: %v, were %v", got, third)
	}
	f.flip(t)
	steady.exactly(t, env.url, len(f.want), "every change at the unchanged notifier")
	steadyChanges := len(f.want)

	// Only a core attribute of a changes (its filter): its plugin keeps
	// its process, and the filter applies to the next change, a recovery
	// from 300 that a's min_level of 400 no longer sends (c's default
	// does).
	aFiltered := strings.Replace(a, "notify-http\"\n", "notify-http\"\n  min_level = 400\n", 1)
	r.reload(t, env, aFiltered+c, "configuration reloaded")
	if got := awaitPids(t, env.url, "notify/a", "notify/c"); got["notify/a"] != first["notify/a"] || got["notify/c"] != third["notify/c"] {
		t.Errorf("a filter change restarted plugins: %v, were %v", got, third)
	}
	_, before, _ := added.delivered()
	f.flip(t)
	added.awaitUnique(t, len(before)+1, 20*time.Second, "the recovery after a's filter changed")
	awaitOutboxEmpty(t, env.url)

	logged := loggedTransitions(t, env.url, "probe=flip")
	if !slices.Equal(logged, f.want) {
		t.Fatalf("log holds %v, want the changes made %v", logged, f.want)
	}
	got, _, dups := steady.delivered()
	if !slices.Equal(got, logged[:steadyChanges]) || dups != 0 {
		t.Errorf("the unchanged notifier got %v (%d duplicates), want every change until its filter changed %v once: %v",
			got, dups, logged[:steadyChanges], steady.since(0))
	}
	oldSteps, oldIDs, oldDups := old.delivered()
	movedSteps, movedIDs, movedDups := moved.delivered()
	if both := slices.Concat(oldSteps, movedSteps); !slices.Equal(both, logged[:bChanges]) || oldDups+movedDups != 0 {
		t.Errorf("b got %v at its old URL and %v at its new one (%d duplicates), want %v once", oldSteps, movedSteps, oldDups+movedDups, logged[:bChanges])
	}
	for _, id := range movedIDs {
		if slices.Contains(oldIDs, id) {
			t.Errorf("event %s reached b at both URLs", id)
		}
	}
	// c gets every change after the reload; the one the probe read during
	// it (the third) reaches c when its event was committed after c came.
	got, _, dups = added.delivered()
	if (!slices.Equal(got, logged[2:]) && !slices.Equal(got, logged[3:])) || dups != 0 {
		t.Errorf("the added notifier got %v (%d duplicates), want the changes after it came %v; all: %v", got, dups, logged[3:], added.since(0))
	}
	r.stop(t)
}

// A SIGHUP adds, changes and removes output and transport blocks too: an
// output added by a reload receives the probe's points, one whose tags
// changed restarts and sends them with the new tags, the pull transport
// added polls its remote and, unchanged by the next reload, keeps its
// process; removed, both processes end.
func TestReloadOutputsAndTransports(t *testing.T) {
	tsdb, err := tsdbtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tsdb.Close)
	remote := newFakeRemote(t, "pulled-1", make(chan string, 1))
	env := newEnv(t, "")
	load, err := filepath.Abs("../../probes/examples/hardware_load_average")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(env.dir, "probes", "1", "hardware_load_average"), "#!/bin/sh\nexec "+load+"\n", 0o755)
	r := start(t, env)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	awaitPids(t, env.url)

	output := func(dc string) string {
		return fmt.Sprintf("output \"opentsdb\" {\n  address = [%q]\n  tags = { dc = %q }\n  max_retry_interval = \"200ms\"\n}\n", tsdb.Addr(), dc)
	}
	pull := fmt.Sprintf("transport \"pull\" {\n  check_interval = 1\n  remotes = [%q]\n}\n", strings.TrimPrefix(remote.srv.URL, "http://"))
	points := func(dc string) int {
		n := 0
		for _, p := range tsdb.Points() {
			if p.Metric == "wigo.hardware_load_average" && p.Tags["dc"] == dc {
				n++
			}
		}
		return n
	}
	awaitPoints := func(dc string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for points(dc) < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("OpenTSDB got %d load points tagged dc=%s", points(dc), dc)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	r.reload(t, env, output("one")+pull, "configuration reloaded")
	first := awaitPids(t, env.url, "output/opentsdb", "transport/pull")
	awaitPoints("one")
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return len(hostsWhere(w, true)) == 1 })

	r.reload(t, env, pull+output("two"), "configuration reloaded")
	second := awaitPids(t, env.url, "output/opentsdb", "transport/pull")
	if second["transport/pull"] != first["transport/pull"] {
		t.Errorf("the unchanged pull transport was restarted: pid %d, was %d", second["transport/pull"], first["transport/pull"])
	}
	if second["output/opentsdb"] == first["output/opentsdb"] {
		t.Errorf("the output whose tags changed kept its process %d", first["output/opentsdb"])
	}
	awaitPoints("two")

	r.reload(t, env, "", "configuration reloaded")
	awaitPids(t, env.url)
	for k, pid := range second {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s: the removed block's process %d still runs", k, pid)
		}
	}
	r.stop(t)
}
