package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

// twoMastersSize is the number of the leaf's probes and of the rounds in
// which each of them changes: probes×rounds changes in all (500 by
// default; WIGO_TWO_MASTERS_PROBES and _ROUNDS change it).
func twoMastersSize(t *testing.T) (probes, rounds int) {
	return chaosInt(t, "WIGO_TWO_MASTERS_PROBES", 50), chaosInt(t, "WIGO_TWO_MASTERS_ROUNDS", 10)
}

// Two real masters share one PostgreSQL database and pull the same leaf,
// each with the real notify-http plugin sending to one local sink. Every
// change of the leaf's probes is observed by both, and the sink receives
// each change once: no duplicate, none lost. The probes run every 3 s
// and are pulled every second, so that both masters see the result a
// change starts with.
func TestTwoMastersOnPostgresNotifyOnce(t *testing.T) {
	probes, rounds := twoMastersSize(t)
	hook, hookSrv := newSink(t)
	// The sink's own buffer holds 100: drained here, a receiver never
	// stalls (a stalled one times a Send out, and its retry is a duplicate
	// at-least-once delivery allows, not the one this test counts).
	arrived := make(chan notification, 100_000)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case n := <-hook.arrived:
				arrived <- n
			case <-stop:
				return
			}
		}
	}()
	dsn := pgtest.DSN(t)

	leaf := pullEnv(t, "leaf")
	setAll := func(status int) {
		for i := range probes {
			name := "p" + strconv.Itoa(i)
			writeFile(t, filepath.Join(leaf.dir, "conf.d", name+".json"), fmt.Sprintf(`{"Status":%d,"Message":"now %d"}`, status, status), 0o644)
		}
	}
	for i := range probes {
		name := "p" + strconv.Itoa(i)
		// Every 3 s, pulled every second: both masters see the first
		// result at a new status (the key of a change is that result's
		// time; a master that saw only the next one would queue it again).
		writeFile(t, filepath.Join(leaf.dir, "probes", "3", name), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/"+name+".json\"\n", 0o755)
	}
	setAll(100)
	var masters []daemonEnv
	for _, name := range []string{"master-a", "master-b"} {
		env := pullEnv(t, name)
		appendConfig(t, env, fmt.Sprintf(`
store "postgres" {
  dsn = %q
}
transport "pull" {
  check_interval = 1
  remote %q {}
}
notify "http" {
  url = "%s/hook"
}
`, dsn, leaf.addr(), hookSrv.URL))
		masters = append(masters, env)
	}
	start(t, leaf)
	for _, env := range masters {
		start(t, env)
	}
	// every waits until both masters see each of the leaf's probes at
	// status: the change is observed by both before the next one.
	every := func(status int) {
		for _, env := range masters {
			waitFor(t, env.url, 60*time.Second, func(w *model.Wigo) bool {
				l, _ := find(w, "leaf")
				if l == nil || l.LocalHost == nil {
					return false
				}
				for i := range probes {
					if p := l.LocalHost.Probes["p"+strconv.Itoa(i)]; p == nil || p.Status != status {
						return false
					}
				}
				return true
			})
		}
	}
	every(100)
	status := 100
	for range rounds {
		status = 400 - status // 100 → 300 → 100 …
		setAll(status)
		every(status)
	}
	want := probes * rounds
	deadline := time.After(60 * time.Second)
	for {
		hook.mu.Lock()
		n := 0
		for _, g := range hook.got {
			if g.Hostname == "leaf" && g.Kind == "probe_changed" {
				n++
			}
		}
		hook.mu.Unlock()
		if n >= want {
			break
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("%d changes of the leaf notified, want %d", n, want)
		}
	}
	// Each master's pending notifications are none: nothing else is to
	// come, so what the sink has is the whole story.
	for _, env := range masters {
		deadline := time.Now().Add(30 * time.Second)
		for pendingNotifications(t, env.url) != 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	per := map[string][]string{}
	others := 0
	for _, g := range hook.got {
		if g.Hostname != "leaf" || g.Kind != "probe_changed" {
			others++
			continue
		}
		per[g.Probe] = append(per[g.Probe], fmt.Sprintf("%d>%d", g.OldStatus, g.NewStatus))
	}
	dups, lost := 0, 0
	for i := range probes {
		got := per["p"+strconv.Itoa(i)]
		dups += max(0, len(got)-rounds)
		lost += max(0, rounds-len(got))
		for j := 1; j < len(got) && j < rounds; j++ {
			if got[j] == got[j-1] {
				t.Errorf("p%d notified %s twice in a row: %v", i, got[j], got)
				break
			}
		}
	}
	t.Logf("%d probes × %d rounds: %d changes notified to the sink, %d duplicates, %d lost; %d other notifications (the masters' own hosts)",
		probes, rounds, want-lost+dups, dups, lost, others)
	if dups != 0 || lost != 0 {
		t.Errorf("%d duplicates, %d lost; want none", dups, lost)
	}
}

// Two real masters on one PostgreSQL database: an acknowledgement made
// through one's API is in the other's within a second, and holds back the
// same changes there; removing it on the other is seen back as fast; so
// are a silence set on one and expired on the other. The acknowledgement
// is logged once and notified once, however many masters hold it.
func TestTwoMastersShareAcksAndSilences(t *testing.T) {
	hook, hookSrv := newSink(t)
	dsn := pgtest.DSN(t)
	leaf := pullEnv(t, "leaf")
	setFlip := func(status int) {
		writeFile(t, filepath.Join(leaf.dir, "conf.d", "flip.json"), fmt.Sprintf(`{"Status":%d,"Message":"now %d"}`, status, status), 0o644)
	}
	writeFile(t, filepath.Join(leaf.dir, "probes", "3", "flip"), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/flip.json\"\n", 0o755)
	setFlip(100)
	var masters []daemonEnv
	for _, name := range []string{"master-a", "master-b"} {
		env := pullEnv(t, name)
		appendConfig(t, env, fmt.Sprintf(`
store "postgres" {
  dsn = %q
}
transport "pull" {
  check_interval = 1
  remote %q {}
}
notify "http" {
  url = "%s/hook"
}
`, dsn, leaf.addr(), hookSrv.URL))
		masters = append(masters, env)
	}
	start(t, leaf)
	for _, env := range masters {
		start(t, env)
	}
	a, b := masters[0], masters[1]
	flipIs := func(status int) {
		for _, env := range masters {
			waitFor(t, env.url, 30*time.Second, func(w *model.Wigo) bool {
				l, _ := find(w, "leaf")
				return l != nil && l.LocalHost != nil && l.LocalHost.Probes["flip"] != nil && l.LocalHost.Probes["flip"].Status == status
			})
		}
	}
	flipIs(100)
	setFlip(300)
	flipIs(300)
	// within measures how long until cond holds, polling the other
	// master's API, and fails past a second.
	within := func(what string, cond func() bool) {
		t.Helper()
		began := time.Now()
		for !cond() {
			if time.Since(began) > time.Second {
				t.Fatalf("%s: not seen within a second", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: seen after %v", what, time.Since(began).Round(time.Millisecond))
	}

	code, body := change(t, http.MethodPost, a.url+"/api/hosts/leaf/ack", url.Values{"probe": {"flip"}, "comment": {"on it"}})
	if code != http.StatusOK {
		t.Fatalf("ack on master A: %d %s", code, body)
	}
	within("A's acknowledgement on B", func() bool {
		l := acks(t, b.url)
		return len(l) == 1 && l[0].Host == "leaf" && l[0].Probe == "flip" && l[0].Comment == "on it" && l[0].Author == "local"
	})
	// Better but still a problem: held back by both masters.
	setFlip(200)
	flipIs(200)
	for _, env := range masters {
		awaitOutboxEmpty(t, env.url)
	}
	awaitLogRows(t, b.url, "host=leaf&probe=flip", "not notified: acknowledged by local: on it", 2)
	acked := 0
	for _, r := range logRows(t, b.url, "host=leaf&probe=flip") {
		if strings.HasPrefix(r.Message, "leaf/flip acknowledged by local") {
			acked++
		}
	}
	if acked != 1 {
		t.Errorf("%d log rows of the acknowledgement, want 1", acked)
	}

	code, body = change(t, http.MethodDelete, b.url+"/api/hosts/leaf/ack?probe=flip", nil)
	if code != http.StatusOK {
		t.Fatalf("unack on master B: %d %s", code, body)
	}
	within("B's removal of the acknowledgement on A", func() bool { return len(acks(t, a.url)) == 0 })

	code, body = change(t, http.MethodPost, b.url+"/api/silences", url.Values{"host": {"leaf"}, "duration": {"1h"}, "comment": {"upgrade"}})
	if code != http.StatusOK {
		t.Fatalf("silence on master B: %d %s", code, body)
	}
	var si event.Silence
	if err := json.Unmarshal([]byte(body), &si); err != nil {
		t.Fatal(err)
	}
	silences := func(env daemonEnv) []event.Silence {
		var l struct{ Silences []event.Silence }
		getJSON(t, env.url+"/api/silences", &l)
		return l.Silences
	}
	within("B's silence on A", func() bool {
		l := silences(a)
		return len(l) == 1 && l[0].ID == si.ID && l[0].Comment == "upgrade" && l[0].End.Equal(si.End)
	})
	code, body = change(t, http.MethodDelete, a.url+"/api/silences/"+si.ID, nil)
	if code != http.StatusOK {
		t.Fatalf("expire on master A: %d %s", code, body)
	}
	within("A's end of the silence on B", func() bool { return len(silences(b)) == 0 })

	for _, env := range masters {
		awaitOutboxEmpty(t, env.url)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	kinds := map[string]int{}
	for _, g := range hook.got {
		if g.Hostname == "leaf" {
			kinds[g.Kind]++
		}
	}
	if kinds["acknowledged"] != 1 || kinds["probe_changed"] != 1 {
		t.Errorf("the sink got %v about the leaf, want one probe_changed (100>300) and one acknowledged", kinds)
	}
}

// clusterOf answers GET /api/cluster of the master at base.
func clusterOf(t *testing.T, base string) store.Cluster {
	t.Helper()
	var c store.Cluster
	getJSON(t, base+"/api/cluster", &c)
	return c
}

// Two real masters on one PostgreSQL database each report the other in
// /api/cluster and /metrics: up, seen within the last seconds, its UUID
// and host name; killed with SIGKILL, it is reported down within the peer
// timeout, and back up once restarted.
func TestTwoMastersReportEachOther(t *testing.T) {
	dsn := pgtest.DSN(t)
	var masters []daemonEnv
	var procs []*running
	for _, name := range []string{"master-a", "master-b"} {
		env := pullEnv(t, name)
		appendConfig(t, env, fmt.Sprintf("store \"postgres\" {\n  dsn = %q\n}\n", dsn))
		masters = append(masters, env)
		procs = append(procs, start(t, env))
	}
	a, b := masters[0], masters[1]
	uuidOf := func(env daemonEnv) string {
		id := ""
		waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { id = w.Uuid; return id != "" })
		return id
	}
	ua, ub := uuidOf(a), uuidOf(b)
	// peerOf waits until the master at base reports its one peer up (or
	// down): each master learns the other from its next heartbeat.
	peerOf := func(base string, up bool, within time.Duration) store.PeerHealth {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			c := clusterOf(t, base)
			if len(c.Peers) == 1 && c.Peers[0].Up == up {
				return c.Peers[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster of %s after %v: %+v, want its peer up=%v", base, within, c, up)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	peerIs := func(up bool, within time.Duration) store.PeerHealth { t.Helper(); return peerOf(a.url, up, within) }
	p := peerIs(true, 10*time.Second)
	if p.Instance != ub || p.Hostname != "master-b" || p.LagSeconds > 3 || p.URL != b.url {
		t.Errorf("A's peer: %+v, want master-b (%s at %s) seen within 3 s", p, ub, b.url)
	}
	c := clusterOf(t, a.url)
	if c.Backend != "postgres" || !c.Database.Reachable || c.Self.Instance != ua || c.Self.Hostname != "master-a" {
		t.Errorf("A's cluster: %+v", c)
	}
	if bp := peerOf(b.url, true, 10*time.Second); bp.Instance != ua {
		t.Errorf("B's peer: %+v, want master-a (%s)", bp, ua)
	}
	metricsHave(t, a.url, "wigo_database_reachable 1", fmt.Sprintf(`wigo_peer_up{hostname="master-b",peer=%q} 1`, ub), "wigo_peer_lag_seconds{")

	procs[1].kill9()
	killed := time.Now()
	p = peerIs(false, 15*time.Second)
	t.Logf("master B killed: reported down by A after %v (lag %.1f s)", time.Since(killed).Round(100*time.Millisecond), p.LagSeconds)
	if p.LagSeconds < 5 {
		t.Errorf("down with a lag of %.1f s, under the 5 s timeout", p.LagSeconds)
	}
	metricsHave(t, a.url, fmt.Sprintf(`wigo_peer_up{hostname="master-b",peer=%q} 0`, ub))
	start(t, b)
	peerIs(true, 15*time.Second)
}
