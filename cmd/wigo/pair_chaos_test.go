package main

// Faults of a pair of masters sharing PostgreSQL (issue: two masters, one
// truth): a master killed with SIGKILL and restarted while changes flow,
// and the database restarted under both. The leaf's own log is the truth
// the sink is compared with.

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

// pairSendTimeout and pairLease are the masters' notifications block in
// these tests: short, so that a takeover fits the run.
const (
	pairSendTimeout = 2 * time.Second
	pairLease       = 4 * time.Second
)

// pairProbes is the number of the leaf's probes that flip.
const pairProbes = 4

// pair is a leaf pulled by two masters that share one PostgreSQL
// database, each with the real notify-http plugin sending to one sink
// that takes a while to answer (so that deliveries are in flight when a
// fault strikes).
type pair struct {
	leaf    daemonEnv
	masters [2]daemonEnv
	run     [2]*running
	uuid    [2]string
	hook    *sink
	db      *sql.DB
	dsn     string
	// holding receives the event id of each request the sink has begun
	// to answer, and when.
	holding chan held
	mu      sync.Mutex
	// statuses is the leaf's probes' current status (the flipper's).
	statuses int
	// answered are the times the sink began to answer each request.
	answered []time.Time
}

// held is a request the sink began to answer: its event, and when.
type held struct {
	eventID string
	at      time.Time
}

// sinkDelay is how long the sink takes to answer each notification.
const sinkDelay = 400 * time.Millisecond

func newPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{holding: make(chan held, 1000), statuses: 100}
	hook, inner := newSink(t)
	p.hook = hook
	// Drained here: the sink's own buffer holds 100, and a blocked
	// handler would time a send out (a retry, not the duplicate counted).
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-hook.arrived:
			case <-stop:
				return
			}
		}
	}()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification
		_ = json.Unmarshal([]byte(r.FormValue("Notification")), &n)
		now := time.Now()
		p.mu.Lock()
		p.answered = append(p.answered, now)
		p.mu.Unlock()
		select {
		case p.holding <- held{eventID: n.EventId, at: now}:
		default:
		}
		// A slow receiver, the fault's window: not synchronisation.
		time.Sleep(sinkDelay)
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)

	p.dsn = pgtest.DSN(t)
	db, err := sql.Open("pgx", p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p.db = db

	p.leaf = pullEnv(t, "leaf")
	for i := range pairProbes {
		name := "p" + strconv.Itoa(i)
		// Every 3 s, pulled every second: both masters see the first
		// result at a new status, which a change's key is made of.
		writeFile(t, filepath.Join(p.leaf.dir, "probes", "3", name), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/"+name+".json\"\n", 0o755)
	}
	p.setAll(t, 100)
	for i, name := range []string{"master-a", "master-b"} {
		env := pullEnv(t, name)
		appendConfig(t, env, fmt.Sprintf(`
store "postgres" {
  dsn = %q
}
notifications {
  send_timeout = %d
  lease        = %d
}
transport "pull" {
  check_interval = 1
  remote %q {}
}
notify "http" {
  url = "%s/hook"
}
`, p.dsn, int(pairSendTimeout.Seconds()), int(pairLease.Seconds()), p.leaf.addr(), slow.URL))
		p.masters[i] = env
	}
	start(t, p.leaf)
	for i := range p.masters {
		p.run[i] = start(t, p.masters[i])
	}
	for i := range p.masters {
		p.awaitSees(t, i, 100)
		b, err := os.ReadFile(filepath.Join(p.masters[i].dir, "data", "uuid"))
		if err != nil {
			t.Fatal(err)
		}
		p.uuid[i] = strings.TrimSpace(string(b))
	}
	return p
}

func (p *pair) setAll(t *testing.T, status int) {
	t.Helper()
	for i := range pairProbes {
		name := "p" + strconv.Itoa(i)
		writeFile(t, filepath.Join(p.leaf.dir, "conf.d", name+".json"), fmt.Sprintf(`{"Status":%d,"Message":"now %d"}`, status, status), 0o644)
	}
}

// awaitSees waits until master i shows every probe of the leaf at status.
func (p *pair) awaitSees(t *testing.T, i, status int) {
	t.Helper()
	waitFor(t, p.masters[i].url, 30*time.Second, func(w *model.Wigo) bool {
		l, _ := find(w, "leaf")
		if l == nil || l.LocalHost == nil {
			return false
		}
		for j := range pairProbes {
			if q := l.LocalHost.Probes["p"+strconv.Itoa(j)]; q == nil || q.Status != status {
				return false
			}
		}
		return true
	})
}

// flip changes every probe of the leaf each period until stop is closed:
// a period longer than the probes' interval, so the leaf runs each status
// at least once and logs every flip.
func (p *pair) flip(t *testing.T, period time.Duration, stop <-chan struct{}) (done <-chan struct{}) {
	d := make(chan struct{})
	// A test that fails half-way must not leave the flipper writing (and
	// reporting) after it ended.
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit); <-d })
	go func() {
		defer close(d)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-quit:
				return
			case <-tick.C:
			}
			p.mu.Lock()
			p.statuses = 400 - p.statuses // 100 → 300 → 100 …
			s := p.statuses
			p.mu.Unlock()
			for i := range pairProbes {
				name := "p" + strconv.Itoa(i)
				if err := os.WriteFile(filepath.Join(p.leaf.dir, "conf.d", name+".json"),
					fmt.Appendf(nil, `{"Status":%d,"Message":"now %d"}`, s, s), 0o644); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	return d
}

// settle waits, once the flipping stopped, until the leaf has run its
// last status, both masters see it, and every change the leaf logged has
// reached the sink with nothing left pending; it returns the verdict.
func (p *pair) settle(t *testing.T) (logged, got map[string][]string, dups, lost int) {
	t.Helper()
	p.mu.Lock()
	last := p.statuses
	p.mu.Unlock()
	for i := range p.masters {
		p.awaitSees(t, i, last)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		logged, got, dups, lost = p.verdict(t)
		pending := pendingNotifications(t, p.masters[0].url) + pendingNotifications(t, p.masters[1].url)
		if lost == 0 && pending == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(200 * time.Millisecond) // other processes: their API is the only window
	}
}

// verdict compares, probe by probe, the changes the leaf logged with the
// leaf's probe changes the sink received: a change received again just
// after itself is a duplicate, a logged change never received is lost.
func (p *pair) verdict(t *testing.T) (logged, got map[string][]string, dups, lost int) {
	t.Helper()
	logged, got = map[string][]string{}, map[string][]string{}
	arrivals := map[string][]string{}
	p.hook.mu.Lock()
	for _, n := range p.hook.got {
		if n.Hostname == "leaf" && n.Kind == "probe_changed" {
			arrivals[n.Probe] = append(arrivals[n.Probe], fmt.Sprintf("%d->%d", n.OldStatus, n.NewStatus))
		}
	}
	p.hook.mu.Unlock()
	for i := range pairProbes {
		name := "p" + strconv.Itoa(i)
		logged[name] = loggedTransitions(t, p.leaf.url, "probe="+name)
		for _, s := range arrivals[name] {
			if g := got[name]; len(g) > 0 && g[len(g)-1] == s {
				dups++
				continue
			}
			got[name] = append(got[name], s)
		}
		lost += lostOf(logged[name], got[name])
	}
	return logged, got, dups, lost
}

// longestGap is the longest time between two requests to the sink.
func (p *pair) longestGap() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var longest time.Duration
	for i := 1; i < len(p.answered); i++ {
		longest = max(longest, p.answered[i].Sub(p.answered[i-1]))
	}
	return longest
}

// owner is the master holding the claim on the pending outbox row of
// eventID, "" when none does.
func (p *pair) owner(t *testing.T, eventID string) string {
	t.Helper()
	var o string
	err := p.db.QueryRow(`SELECT lease_owner FROM outbox WHERE event_id = $1 AND state = 'pending' AND lease_until > $2`,
		eventID, time.Now().UnixNano()).Scan(&o)
	if err != nil && err != sql.ErrNoRows {
		t.Fatalf("read the claim on %s: %v", eventID, err)
	}
	return o
}

// The pair's master killed with SIGKILL in mid-delivery, whichever is
// delivering, while the leaf's probes keep changing, and restarted once
// the other has taken its claims over: every change the leaf logged
// reaches the sink, in order, at most one duplicate per kill (the send
// the kill cut short may have been received), and the survivor delivers
// the rows the killed master held within the lease plus one send (their
// claim ends at most a lease after the kill; the survivor's dispatcher
// wakes for it).
func TestPairMasterKilled(t *testing.T) {
	kills := chaosInt(t, "WIGO_PAIR_KILLS", 4)
	p := newPair(t)
	stop := make(chan struct{})
	flipping := p.flip(t, 4*time.Second, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
	}()

	var takeovers []time.Duration
	for k := range kills {
		// Kill the master whose delivery the sink is answering: a delivery
		// in flight. Which master claims a change is a race the first to
		// see it usually wins, so the victim is whichever holds one.
		var victim int
		deadline := time.After(60 * time.Second)
	wait:
		for {
			select {
			case h := <-p.holding:
				switch p.owner(t, h.eventID) {
				case p.uuid[0]:
					victim = 0
					break wait
				case p.uuid[1]:
					victim = 1
					break wait
				}
			case <-deadline:
				t.Fatalf("kill %d: no master claimed a notification within 60 s", k)
			}
		}
		survivor := 1 - victim
		killed := time.Now()
		p.run[victim].kill9()
		var claimed []int64
		rows, err := p.db.Query(`SELECT id FROM outbox WHERE lease_owner = $1 AND state = 'pending' AND lease_until > $2`,
			p.uuid[victim], killed.UnixNano())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			claimed = append(claimed, id)
		}
		rows.Close()
		if len(claimed) == 0 {
			t.Fatalf("kill %d: the killed master held no claim at its death", k)
		}
		// The survivor delivers what the dead one held, once its claims
		// run out; the victim stays down meanwhile.
		var took time.Duration
		within := time.Now().Add(pairLease + pairSendTimeout + 10*time.Second)
		for _, id := range claimed {
			for {
				var state, owner string
				var updated int64
				if err := p.db.QueryRow(`SELECT state, lease_owner, updated_at FROM outbox WHERE id = $1`, id).Scan(&state, &owner, &updated); err != nil {
					t.Fatal(err)
				}
				if state != "pending" {
					if owner != p.uuid[survivor] {
						t.Errorf("kill %d: row %d ended %s by %q, want by the survivor %s", k, id, state, owner, p.uuid[survivor])
					}
					took = max(took, time.Unix(0, updated).Sub(killed))
					break
				}
				if time.Now().After(within) {
					t.Fatalf("kill %d: row %d the killed master held still pending %s after the kill", k, id, time.Since(killed).Round(time.Millisecond))
				}
				time.Sleep(50 * time.Millisecond) // another process's writes: the database is the window
			}
		}
		takeovers = append(takeovers, took)
		if took > pairLease+pairSendTimeout+time.Second {
			t.Errorf("kill %d: the survivor delivered the dead master's rows %s after the kill, want within the lease (%s) and one send (%s)",
				k, took.Round(time.Millisecond), pairLease, pairSendTimeout)
		}
		p.run[victim] = start(t, p.masters[victim])
		waitFor(t, p.masters[victim].url, 30*time.Second, func(*model.Wigo) bool { return true })
	}
	close(stop)
	<-flipping
	logged, got, dups, lost := p.settle(t)
	gap := p.longestGap()
	changes := 0
	for _, l := range logged {
		changes += len(l)
	}
	t.Logf("chaos: scenario=pair-master-kill kills=%d changes=%d lost=%d duplicated=%d lease=%s takeover_median=%v takeover_max=%v takeovers=%v longest_gap_between_deliveries=%v",
		kills, changes, lost, dups, pairLease, median(takeovers).Round(time.Millisecond), maxDuration(takeovers).Round(time.Millisecond),
		roundAll(takeovers), gap.Round(time.Millisecond))
	for name, l := range logged {
		if !slices.Equal(got[name], l) {
			t.Errorf("%s: the sink got %v, want the leaf's logged changes %v", name, got[name], l)
		}
	}
	if changes < kills {
		t.Errorf("only %d changes logged by the leaf: the flow did not run", changes)
	}
	if dups > kills {
		t.Errorf("%d duplicates; %d kills explain at most %d", dups, kills, kills)
	}
}

// The database of the pair restarted while the leaf's probes change: both
// masters say so in their logs, keep the changes they observe meanwhile
// (the batching writer retries its commit, it does not drop it), and once
// the database is back every change the leaf logged reaches the sink, in
// order, none twice (nothing was killed), with both masters delivering
// again.
func TestPairDatabaseRestarted(t *testing.T) {
	down := chaosDuration(t, "WIGO_PAIR_DB_DOWN", 6*time.Second)
	p := newPair(t)
	stop := make(chan struct{})
	flipping := p.flip(t, 4*time.Second, stop)
	// Changes before the restart reach the sink.
	p.hook.awaitUnique(t, pairProbes, 30*time.Second, "the first changes")
	pgtest.Down(t)
	wentDown := time.Now()
	// Changes happen while the database is away: at least one flip.
	p.mu.Lock()
	before := p.statuses
	p.mu.Unlock()
	for i := range p.masters {
		p.awaitSees(t, i, 400-before)
	}
	for time.Since(wentDown) < down {
		time.Sleep(100 * time.Millisecond) // the outage's length: fault injection, not synchronisation
	}
	p.hook.mu.Lock()
	before = len(p.hook.got)
	p.hook.mu.Unlock()
	pgtest.Up(t)
	back := time.Now()
	// Both masters recover by themselves: each reaches its database again
	// (its own report, GET /api/cluster), with nothing done to it. Which
	// of them delivers what waited is the claims' business.
	for i := range p.masters {
		deadline := time.Now().Add(60 * time.Second)
		for !clusterOf(t, p.masters[i].url).Database.Reachable {
			if time.Now().After(deadline) {
				t.Fatalf("master %d does not reach its database 60 s after it came back", i)
			}
			time.Sleep(100 * time.Millisecond) // polling another process's API
		}
	}
	recovered := time.Since(back)
	close(stop)
	<-flipping
	logged, got, dups, lost := p.settle(t)
	changes := 0
	for _, l := range logged {
		changes += len(l)
	}
	for i, r := range p.run {
		logs := r.logs.String()
		for _, want := range []string{"committing log rows failed, will retry", "log rows committed after retrying"} {
			if !strings.Contains(logs, want) {
				t.Errorf("master %d's log has no %q", i, want)
			}
		}
	}
	p.hook.mu.Lock()
	receivedSince := len(p.hook.got) - before
	p.hook.mu.Unlock()
	t.Logf("chaos: scenario=pair-database-restart down_for=%v changes=%d received_after_restart=%d lost=%d duplicated=%d both_reaching_the_database_in=%v",
		back.Sub(wentDown).Round(100*time.Millisecond), changes, receivedSince, lost, dups, recovered.Round(10*time.Millisecond))
	for name, l := range logged {
		if !slices.Equal(got[name], l) {
			t.Errorf("%s: the sink got %v, want the leaf's logged changes %v", name, got[name], l)
		}
	}
	if dups != 0 {
		t.Errorf("%d duplicates: nothing was killed", dups)
	}
}
