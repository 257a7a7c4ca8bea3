package main

// The chaos and crash suite (RELIABILITY.md): real daemons, real plugins,
// real SQLite, faults injected from outside as an operator's bad day would.
// Each scenario logs one greppable "chaos: scenario=…" line with its
// figures. WIGO_CHAOS_* variables scale them up (`make chaos`); the
// defaults keep `make test` short.

import (
	"bufio"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/testbin"
)

// chaosInt reads a positive integer from the environment, def when unset.
func chaosInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// chaosDuration reads a duration from the environment, def when unset.
func chaosDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 60s", name, s)
	}
	return d
}

// median of ds, 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func maxDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Max(ds)
}

var switched = regexp.MustCompile(`switched from (\d+) to (\d+)`)

// transitionsOf turns log messages, oldest first, into "old->new" steps.
func transitionsOf(messages []string) []string {
	var out []string
	for _, m := range messages {
		if s := switched.FindStringSubmatch(m); s != nil {
			out = append(out, s[1]+"->"+s[2])
		}
	}
	return out
}

// loggedTransitions reads, through the API, the status changes the log
// holds for query, oldest first.
func loggedTransitions(t *testing.T, url, query string) []string {
	t.Helper()
	rows := logRows(t, url, query+"&limit=1000")
	var msgs []string
	for i := len(rows) - 1; i >= 0; i-- { // the API answers newest first
		msgs = append(msgs, rows[i].Message)
	}
	return transitionsOf(msgs)
}

// delivered returns the distinct notifications the sink received, in the
// order of their first arrival, as "old->new", and how many arrivals were
// repeats of an event already received.
func (s *sink) delivered() (steps, ids []string, duplicates int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, n := range s.got {
		if seen[n.EventId] {
			duplicates++
			continue
		}
		seen[n.EventId] = true
		steps = append(steps, fmt.Sprintf("%d->%d", n.OldStatus, n.NewStatus))
		ids = append(ids, n.EventId)
	}
	return steps, ids, duplicates
}

// lostOf counts the steps of want that are not in got, matched in order.
func lostOf(want, got []string) int {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return len(want) - i
}

// flipper alternates the flip probe between OK and CRIT and records each
// transition, in order, as the log and the receiver must show it.
type flipper struct {
	env    daemonEnv
	status int
	want   []string
}

func (f *flipper) flip(t *testing.T) {
	t.Helper()
	to := 300
	if f.status == 300 {
		to = 100
	}
	setProbe(t, f.env, to)
	f.want = append(f.want, fmt.Sprintf("%d->%d", f.status, to))
	f.status = to
}

// awaitNewChild waits until the daemon parent has a child named name other
// than old (the plugin manager restarted it) and returns its PID.
func awaitNewChild(t *testing.T, parent int, name string, old int, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if pid := findChild(parent, name, old); pid != 0 {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new %s process under %d within %s", name, parent, within)
		}
		time.Sleep(20 * time.Millisecond) // another process's children: /proc is the only window
	}
}

// findChild is childPID without failing and skipping the PID skip (the
// killed process, listed until it is reaped): 0 when there is none yet.
func findChild(parent int, name string, skip int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == skip {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		comm := s[strings.IndexByte(s, '(')+1 : strings.LastIndexByte(s, ')')]
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if ppid, _ := strconv.Atoi(f[1]); ppid == parent && comm == name {
			return pid
		}
	}
	return 0
}

// Scenario 1: the notify-http plugin is killed with SIGKILL in a loop while
// the probe flips. Every transition the log has reaches the receiver, in
// order; a duplicate is allowed per kill (the call the kill broke may have
// reached the receiver before its answer got back), no more.
func TestChaosNotifyPluginKill(t *testing.T) {
	kills := chaosInt(t, "WIGO_CHAOS_PLUGIN_KILLS", 3)
	hook, hookSrv := newSink(t)
	env := newEnv(t, fmt.Sprintf("notify \"http\" {\n  url = \"%s/hook\"\n}\n", hookSrv.URL))
	r := start(t, env)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	f := &flipper{env: env, status: 100}
	pid := awaitNewChild(t, r.cmd.Process.Pid, "notify-http", 0, 20*time.Second)

	var resumed []time.Duration
	for i := range kills {
		// Change, then kill at once: the delivery is queued or in flight.
		f.flip(t)
		killed := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", pid, err)
		}
		// The plugin manager restarts a crash-looping plugin with backoff
		// (1 s doubling to 1 min, plugin.Options): the wait grows with i.
		hook.awaitUnique(t, i+1, 3*time.Minute, "the change made as the plugin was killed")
		resumed = append(resumed, time.Since(killed))
		pid = awaitNewChild(t, r.cmd.Process.Pid, "notify-http", pid, time.Minute)
	}
	awaitOutboxEmpty(t, env.url)
	logged := loggedTransitions(t, env.url, "probe=flip")
	got, _, dups := hook.delivered()
	r.stop(t)

	lost := lostOf(logged, got)
	t.Logf("chaos: scenario=plugin-kill kills=%d changes=%d logged=%d notified=%d lost=%d duplicated=%d resumed_in_median=%v resumed_in_max=%v resumed_in=%v",
		kills, len(f.want), len(logged), len(got), lost, dups, median(resumed).Round(time.Millisecond),
		maxDuration(resumed).Round(time.Millisecond), roundAll(resumed))
	if !slices.Equal(logged, f.want) {
		t.Errorf("log holds %v, want the changes made %v", logged, f.want)
	}
	if !slices.Equal(got, logged) {
		t.Errorf("receiver got %v, want the logged %v in this order (lost %d)", got, logged, lost)
	}
	if dups > kills {
		t.Errorf("%d duplicates; %d kills explain at most %d", dups, kills, kills)
	}
}

func roundAll(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Round(10*time.Millisecond).String())
	}
	return "[" + strings.Join(s, ",") + "]"
}

// dbState reads, from the database of a stopped daemon opened read-only,
// the integrity check, the status changes logged for the flip probe
// (oldest first) and the event IDs the outbox holds.
func dbState(t *testing.T, path string) (integrity string, logged []string, events map[string]bool) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	rows, err := db.Query("SELECT message FROM logs WHERE probe = 'flip' ORDER BY id")
	if err != nil {
		t.Fatalf("read logs: %v", err)
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	events = map[string]bool{}
	rows, err = db.Query("SELECT event_id FROM outbox")
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		events[id] = true
	}
	return integrity, transitionsOf(msgs), events
}

// Scenario 2: the daemon is killed with SIGKILL in a loop while the probe
// flips, at three points of a notification's life (just after the change
// shows, once the receiver has it, a little after). After each kill the
// database passes PRAGMA integrity_check and nothing acknowledged is lost:
// every notification the receiver got has its outbox row and its log row,
// and every logged change is notified once the daemon is back.
func TestChaosDaemonKill(t *testing.T) {
	rounds := chaosInt(t, "WIGO_CHAOS_ROUNDS", 3)
	hook, hookSrv := newSink(t)
	env := newEnv(t, fmt.Sprintf("notify \"http\" {\n  url = \"%s/hook\"\n}\n", hookSrv.URL))
	dbPath := filepath.Join(env.dir, "data", "wigo.db")
	r := start(t, env)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	f := &flipper{env: env, status: 100}

	var recovered []time.Duration
	uncommitted := 0
	for i := range rounds {
		// An empty outbox first: at the kill, at most this round's row is
		// delivered but not yet recorded as delivered.
		awaitOutboxEmpty(t, env.url)
		f.flip(t)
		switch i % 3 {
		case 1:
			hook.awaitUnique(t, len(f.want), 30*time.Second, "this round's change")
		case 2:
			time.Sleep(time.Duration(20*(i%10)) * time.Millisecond) // fault injection point, not synchronisation
		}
		if err := r.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		<-r.done
		down := time.Since(killed)

		integrity, logged, events := dbState(t, dbPath)
		got, ids, _ := hook.delivered()
		if integrity != "ok" {
			t.Fatalf("round %d: integrity_check = %q", i, integrity)
		}
		for _, id := range ids {
			if !events[id] {
				t.Errorf("round %d: the receiver got event %s, which the database does not hold", i, id)
			}
		}
		if len(got) > len(logged) || !slices.Equal(got, logged[:len(got)]) {
			t.Errorf("round %d: received %v, not a prefix of the logged %v", i, got, logged)
		}

		if len(logged) < len(f.want) {
			uncommitted++ // the change was shown, not yet committed: the restart must find it
		}

		restarted := time.Now()
		r = start(t, env)
		waitFor(t, env.url, 30*time.Second, func(*model.Wigo) bool { return true })
		recovered = append(recovered, down+time.Since(restarted))
		// The new daemon has run the probe itself before the next change:
		// a change it never committed is found by comparing with the
		// restored state, and only then can the probe change again.
		waitFor(t, env.url, 30*time.Second, func(w *model.Wigo) bool {
			p := w.LocalHost.Probes["flip"]
			return p != nil && p.Status == f.status && p.Timestamp > killed.Unix()
		})
	}
	// The last change is notified by the last daemon, and nothing is left.
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == f.status })
	hook.awaitUnique(t, len(f.want), 60*time.Second, "every change once the daemon is back")
	awaitOutboxEmpty(t, env.url)
	logged := loggedTransitions(t, env.url, "probe=flip")
	got, _, dups := hook.delivered()
	r.stop(t)

	lost := lostOf(f.want, got)
	t.Logf("chaos: scenario=daemon-kill rounds=%d changes=%d uncommitted_at_kill=%d logged=%d notified=%d lost=%d duplicated=%d integrity=ok recovered_in_median=%v recovered_in_max=%v",
		rounds, len(f.want), uncommitted, len(logged), len(got), lost, dups, median(recovered).Round(time.Millisecond), maxDuration(recovered).Round(time.Millisecond))
	if !slices.Equal(logged, f.want) {
		t.Errorf("log holds %v, want the changes made %v", logged, f.want)
	}
	if !slices.Equal(got, f.want) {
		t.Errorf("receiver got %v, want %v in this order (lost %d)", got, f.want, lost)
	}
	if dups > rounds {
		t.Errorf("%d duplicates; %d kills with one unrecorded delivery at most each explain %d", dups, rounds, rounds)
	}
}

// flakySink serves a sink's handler on a fixed address that can stop
// listening (connections refused) and listen again.
type flakySink struct {
	addr    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
}

func (f *flakySink) up(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", f.addr, err)
	}
	f.mu.Lock()
	f.srv = &http.Server{Handler: f.handler}
	srv := f.srv
	f.mu.Unlock()
	go srv.Serve(l)
}

func (f *flakySink) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		f.srv.Close()
		f.srv = nil
	}
}

// outboxAttempts sums the attempts of the pending notifications.
func outboxAttempts(t *testing.T, url string) int {
	t.Helper()
	n := 0
	for _, row := range outbox(t, url) {
		n += row.Attempts
	}
	return n
}

// Scenario 3: the receiver answers 500 for a while, then refuses
// connections for a while, as changes keep happening; once it is back,
// every change arrives, in order, none twice (nothing was killed).
func TestChaosSinkDown(t *testing.T) {
	downFor := chaosDuration(t, "WIGO_CHAOS_SINK_DOWN", 2*time.Second)
	hook, hookSrv := newSink(t)
	fs := &flakySink{addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), handler: hookSrv.Config.Handler}
	fs.up(t)
	t.Cleanup(fs.down)
	env := newEnv(t, fmt.Sprintf("notify \"http\" {\n  url = \"http://%s/hook\"\n}\n", fs.addr))
	r := start(t, env)
	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	f := &flipper{env: env, status: 100}

	var lines []string
	for _, mode := range []string{"http-500", "refused"} {
		before := len(f.want)
		if mode == "http-500" {
			hook.setFailing(true)
		} else {
			fs.down()
		}
		began := time.Now()
		for time.Since(began) < downFor || len(f.want)-before < 2 {
			f.flip(t)
		}
		// Let the head row be tried against the dead receiver.
		deadline := time.Now().Add(30 * time.Second)
		for outboxAttempts(t, env.url) < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no delivery attempt while the receiver was down", mode)
			}
			time.Sleep(50 * time.Millisecond) // another process: its API is the only window
		}
		attempts := outboxAttempts(t, env.url)
		wasDown := time.Since(began)
		back := time.Now()
		if mode == "http-500" {
			hook.setFailing(false)
		} else {
			fs.up(t)
		}
		hook.awaitUnique(t, len(f.want), 10*time.Minute, mode+": every change once the receiver is back")
		drained := time.Since(back)
		awaitOutboxEmpty(t, env.url)
		lines = append(lines, fmt.Sprintf("mode=%s down_for=%v changes=%d attempts=%d drained_in=%v",
			mode, wasDown.Round(100*time.Millisecond), len(f.want)-before, attempts, drained.Round(10*time.Millisecond)))
	}
	got, _, dups := hook.delivered()
	r.stop(t)
	lost := lostOf(f.want, got)
	for _, l := range lines {
		t.Logf("chaos: scenario=sink-down %s lost=%d duplicated=%d (totals)", l, lost, dups)
	}
	if !slices.Equal(got, f.want) {
		t.Errorf("receiver got %v, want %v in this order (lost %d)", got, f.want, lost)
	}
	if dups > 0 {
		t.Errorf("%d duplicates: nothing was killed, a receiver that answered 500 or nothing did not get them", dups)
	}
}

// Scenario 4: the push master is stopped while its client's probe keeps
// changing; once the master is back, every change arrives, in order, in the
// master's log, none twice.
func TestChaosPushMasterDown(t *testing.T) {
	downFor := chaosDuration(t, "WIGO_CHAOS_PUSH_DOWN", 3*time.Second)
	port := freePort(t)
	mid := pushDaemon(t, "mid", "")
	appendFile(t, mid.config, pushServerBlock(mid.dir, port, true))
	leaf := pushDaemon(t, "leaf", "")
	appendFile(t, leaf.config, pushClientBlock(leaf.dir, port))
	lr := start(t, leaf)
	mr := start(t, mid)
	waitFor(t, mid.url, 30*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") == 100 })
	f := &flipper{env: leaf, status: 100}
	f.flip(t) // one change with the master up: the log's first row
	waitFor(t, mid.url, 20*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "leaf", "flip") == f.status })

	mr.stop(t)
	began := time.Now()
	for time.Since(began) < downFor || len(f.want) < 4 {
		f.flip(t)
	}
	wasDown := time.Since(began)
	restarted := time.Now()
	mr = start(t, mid)
	var logged []string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		logged = loggedTransitions(t, mid.url, "host=leaf")
		if len(logged) >= len(f.want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the log is written in batches by another process
	}
	caughtUp := time.Since(restarted)
	mr.stop(t)
	lr.stop(t)

	lost := lostOf(f.want, logged)
	dups := max(0, len(logged)-(len(f.want)-lost))
	t.Logf("chaos: scenario=push-master-down down_for=%v changes=%d logged=%d lost=%d duplicated=%d caught_up_in=%v",
		wasDown.Round(100*time.Millisecond), len(f.want), len(logged), lost, dups, caughtUp.Round(10*time.Millisecond))
	if !slices.Equal(logged, f.want) {
		t.Errorf("master logged %v, want every change of the leaf %v in this order (lost %d, extra %d)", logged, f.want, lost, dups)
	}
}

// Scenario 5: every push client of a master reconnects at once after the
// master restarts: wigo-loadgen's simulated clients (the real protocol over
// TLS), all connected, then the master is stopped and started. All come
// back, each host listed once.
func TestChaosReconnectStorm(t *testing.T) {
	n := chaosInt(t, "WIGO_CHAOS_STORM_CLIENTS", 50)
	loadgen := testbin.Build(t, "../wigo-loadgen")
	port := freePort(t)
	mid := pushDaemon(t, "master", "")
	block := strings.Replace(pushServerBlock(mid.dir, port, true), "auto_accept          = true",
		fmt.Sprintf("auto_accept = true\n    max_unauthenticated = %d\n    max_unauthenticated_per_address = %d", n+10, n+10), 1)
	appendFile(t, mid.config, block)
	mr := start(t, mid)
	waitFor(t, mid.url, 20*time.Second, func(*model.Wigo) bool { return true })
	awaitPushPort(t, port)

	lg := exec.Command(loadgen, "push", "-master", fmt.Sprintf("127.0.0.1:%d", port), "-n", strconv.Itoa(n),
		"-probes", "5", "-interval", "2s", "-change", "0.1", "-ramp", "0", "-duration", "30m")
	stdout, err := lg.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	lg.Stderr = os.Stderr
	if err := lg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Process.Kill(); lg.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	awaitLine := func(prefix string, within time.Duration) string {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("wigo-loadgen ended before %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-deadline:
				t.Fatalf("no %q from wigo-loadgen within %s", prefix, within)
			}
		}
	}
	first := awaitLine(fmt.Sprintf("all %d clients connected", n), 2*time.Minute)
	hosts := func(w *model.Wigo) (alive int, names map[string]int) {
		names = map[string]int{}
		for _, r := range w.RemoteWigos {
			names[r.Hostname]++
			if r.IsAlive {
				alive++
			}
		}
		return alive, names
	}
	waitFor(t, mid.url, time.Minute, func(w *model.Wigo) bool { a, _ := hosts(w); return a == n })

	mr.stop(t)
	restarted := time.Now()
	mr = start(t, mid)
	storm := awaitLine("reconnect storm: all", 3*time.Minute)
	w := waitFor(t, mid.url, 2*time.Minute, func(w *model.Wigo) bool { a, _ := hosts(w); return a == n })
	listedIn := time.Since(restarted)
	alive, names := hosts(w)
	lg.Process.Signal(os.Interrupt)
	var window string
	for l := range lines {
		if strings.HasPrefix(l, "window") {
			window = l
		}
	}
	lg.Wait()
	mr.stop(t)

	dups := 0
	for _, c := range names {
		dups += c - 1
	}
	var back string
	if m := regexp.MustCompile(`back (\S+) after`).FindStringSubmatch(storm); m != nil {
		back = m[1]
	}
	var connectedIn string
	if m := regexp.MustCompile(`connected (\S+) after`).FindStringSubmatch(first); m != nil {
		connectedIn = m[1]
	}
	t.Logf("chaos: scenario=reconnect-storm clients=%d first_connect_in=%s back_in=%s all_listed_alive_in=%v lost=%d duplicated=%d loadgen=%q",
		n, connectedIn, back, listedIn.Round(10*time.Millisecond), n-alive, dups, window)
	if alive != n || len(names) != n || dups != 0 {
		t.Errorf("after the storm the master lists %d hosts (%d alive, %d duplicated), want %d alive once each", len(names), alive, dups, n)
	}
}

// awaitPushPort waits until the push server's port accepts connections: the
// plugin starts beside the daemon's API.
func awaitPushPort(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("push port %d never opened: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond) // another process: its port is the only window
	}
}
