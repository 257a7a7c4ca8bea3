package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newState(t *testing.T) (*State, *event.Subscription, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1795602860, 0)}
	bus := event.NewBus()
	sub := bus.Subscribe(event.SubscribeOptions{Buffer: 10000})
	t.Cleanup(sub.Close)
	s := New(Options{UUID: "d2a6ca2a-0cf3-4c38-4965-532bf22cd66a", Hostname: "master-1", Group: "infra",
		Version: "test", AliveTimeout: 60 * time.Second, Bus: bus, Now: clk.Now})
	return s, sub, clk
}

// drain returns the events published so far.
func drain(sub *event.Subscription) []event.Event {
	var out []event.Event
	for {
		select {
		case e := <-sub.C:
			out = append(out, e)
		default:
			return out
		}
	}
}

func kinds(events []event.Event) string {
	var k []string
	for _, e := range events {
		k = append(k, string(e.Kind)+":"+e.Host+"/"+e.Probe)
	}
	return strings.Join(k, " ")
}

func result(name string, status int, msg string, ts int64) *model.ProbeResult {
	return &model.ProbeResult{Name: name, Status: status, Message: msg, Timestamp: ts}
}

func TestLocalProbeLifecycle(t *testing.T) {
	s, sub, _ := newState(t)
	s.ProbeResult(result("disk", 100, "ok", 1))
	s.ProbeResult(result("disk", 100, "ok", 1)) // same result again: nothing to say
	s.ProbeResult(result("disk", 100, "ok", 2))
	s.ProbeResult(result("disk", 300, "disk 99%", 3))
	s.ProbeRemoved("disk")
	s.ProbeRemoved("disk")
	ev := drain(sub)
	want := "probe_appeared:master-1/disk probe_updated:master-1/disk probe_changed:master-1/disk probe_disappeared:master-1/disk"
	if got := kinds(ev); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	ch := ev[2]
	if ch.OldStatus != 100 || ch.NewStatus != 300 || ch.Message != "Probe disk switched from 100 to 300 : disk 99%" {
		t.Errorf("change event = %+v", ch)
	}
	if le := ch.LogEntry(); le.Level != model.LogCritical || le.Host != "master-1" || le.Group != "infra" || le.Date != "2026-11-25T10:34:20.000000 (UTC)" {
		t.Errorf("log entry = %+v", le)
	}
	for i := 1; i < len(ev); i++ {
		if ev[i].Seq != ev[i-1].Seq+1 {
			t.Errorf("sequence not contiguous: %d then %d", ev[i-1].Seq, ev[i].Seq)
		}
	}
	if got := s.Local().Status; got != 100 {
		t.Errorf("status after removal = %d, want 100", got)
	}
}

func TestLocalStatusIsWorstProbe(t *testing.T) {
	s, _, _ := newState(t)
	s.ProbeResult(result("a", 100, "", 1))
	s.ProbeResult(result("b", 250, "", 1))
	s.ProbeResult(result("c", 120, "", 1))
	if got := s.Local().Status; got != 250 {
		t.Fatalf("host status = %d, want 250", got)
	}
	if got := s.GlobalStatus(); got != 250 {
		t.Fatalf("global status = %d, want 250", got)
	}
	if got := strings.Join(s.Local().ProbeNames(), ","); got != "b,c,a" {
		t.Fatalf("probe order = %s, want worst first", got)
	}
	snap := s.Local()
	s.ProbeResult(result("b", 100, "", 2)) // the worst one improves
	if got := s.Local().Status; got != 120 {
		t.Fatalf("host status after the worst probe recovered = %d, want 120", got)
	}
	if snap.Status != 250 || snap.Probes["b"].Status != 250 {
		t.Fatalf("an earlier snapshot changed under its reader: %+v", snap)
	}
	s.ProbeRemoved("c")
	if got := s.Local().Status; got != 100 {
		t.Fatalf("host status after removing the worst probe = %d, want 100", got)
	}
}

// fixtureDoc loads the leaf-1 document the original master served.
func fixtureDoc(t *testing.T) *model.Wigo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "original-api", "api_hosts_leaf-1.json"))
	if err != nil {
		t.Skipf("fixtures not available: %v", err)
	}
	var w model.Wigo
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return &w
}

func TestIngestOriginalDocumentAndGoDown(t *testing.T) {
	s, sub, clk := newState(t)
	s.ProbeResult(result("crit", 300, "service down", 1))
	drain(sub)
	if err := s.Ingest("test", fixtureDoc(t)); err != nil {
		t.Fatal(err)
	}
	if got := kinds(drain(sub)); got != "host_appeared:leaf-1/ probe_appeared:leaf-1/warn probe_appeared:leaf-1/load" {
		t.Fatalf("events = %s", got)
	}
	doc := s.Document()
	leaf := doc.RemoteWigos["c471b561-78e7-49a3-5daf-9e8f146d9506"]
	if leaf == nil || leaf.LocalHost.Name != "leaf-1" || leaf.LocalHost.Group != "web" || leaf.GlobalStatus != 300 || !leaf.IsAlive {
		t.Fatalf("leaf in document = %+v", leaf)
	}
	if got := strings.Join(s.Hostnames(), ","); got != "master-1,leaf-1" {
		t.Errorf("hostnames = %s", got)
	}
	if got := strings.Join(s.Groups(), ","); got != "infra,web" {
		t.Errorf("groups = %s", got)
	}

	// Silent for longer than alive_timeout: DOWN, and the global status says so.
	clk.Add(61 * time.Second)
	s.CheckAlive()
	ev := drain(sub)
	if got := kinds(ev); got != "host_down:leaf-1/" {
		t.Fatalf("events = %s", got)
	}
	if ev[0].NewStatus != 999 || ev[0].OldStatus != 300 || ev[0].GlobalStatus != 999 {
		t.Errorf("down event = %+v, want 300 -> 999 and the global status 999", ev[0])
	}
	doc = s.Document()
	leaf = doc.RemoteWigos["c471b561-78e7-49a3-5daf-9e8f146d9506"]
	if leaf.IsAlive || leaf.GlobalStatus != 999 || leaf.GlobalMessage != "DOWN" || leaf.LocalHost.Status != 999 {
		t.Errorf("down leaf = %+v", leaf)
	}
	if doc.GlobalStatus != 999 {
		t.Errorf("master global status = %d, want 999 (a DOWN remote counts)", doc.GlobalStatus)
	}
	s.CheckAlive()
	if ev := drain(sub); len(ev) != 0 {
		t.Errorf("second check published %s", kinds(ev))
	}

	// Back: UP, and the probe statuses are those reported.
	if err := s.Ingest("test", fixtureDoc(t)); err != nil {
		t.Fatal(err)
	}
	ev = drain(sub)
	if got := kinds(ev); got != "host_up:leaf-1/" {
		t.Fatalf("events = %s", got)
	}
	if s.GlobalStatus() != 300 || ev[0].GlobalStatus != 300 || ev[0].NewStatus != 300 {
		t.Errorf("after UP: global status %d, the event's %d, host %d; want 300, 300, 300",
			s.GlobalStatus(), ev[0].GlobalStatus, ev[0].NewStatus)
	}

	// The local CRIT recovers: the leaf's CRIT is still the worst, and
	// the event says both.
	s.ProbeResult(result("crit", 100, "service up", 2))
	if ev := drain(sub); len(ev) != 1 || ev[0].GlobalStatus != 300 || ev[0].HostStatus != 100 {
		t.Errorf("recovery of the local CRIT: %+v, want global 300, host 100", ev)
	}
}

// The global status the state answers, and carries on its events, is the
// worst of every host's, whatever sequence of reports, DOWNs and removals
// got it there.
func TestGlobalStatusFollowsEveryHost(t *testing.T) {
	s, sub, clk := newState(t)
	worst := func() int {
		st := s.Local().Status
		for _, h := range s.Document().RemoteWigos {
			st = max(st, h.GlobalStatus)
		}
		return st
	}
	doc := func(i, status int) *model.Wigo {
		id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		return &model.Wigo{Uuid: id, IsAlive: true, Hostname: fmt.Sprintf("h%d", i),
			LocalHost: &model.Host{Name: fmt.Sprintf("h%d", i), Probes: map[string]*model.ProbeResult{"p": result("p", status, "", int64(i))}}}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	statuses := []int{100, 200, 300, 500}
	for step := range 400 {
		switch op := rnd.IntN(10); {
		case op < 6:
			i := rnd.IntN(8)
			if err := s.Ingest(fmt.Sprintf("src-%d", i), doc(i, statuses[rnd.IntN(len(statuses))])); err != nil {
				t.Fatal(err)
			}
		case op < 7:
			s.ProbeResult(result("local", statuses[rnd.IntN(len(statuses))], "", int64(step)))
		case op < 8:
			clk.Add(61 * time.Second)
			s.CheckAlive()
		default:
			if _, err := s.RemoveHost(fmt.Sprintf("h%d", rnd.IntN(8)), "test"); err != nil && !errors.Is(err, ErrNoSuchHost) {
				t.Fatal(err)
			}
		}
		want := worst()
		if got := s.GlobalStatus(); got != want {
			t.Fatalf("step %d: GlobalStatus %d, the hosts' worst %d", step, got, want)
		}
		for _, e := range drain(sub) {
			if e.GlobalStatus != 0 && e.GlobalStatus > want && e.Kind != event.HostRemoved {
				t.Fatalf("step %d: %s carries a global status %d above the hosts' worst %d", step, e.Kind, e.GlobalStatus, want)
			}
		}
	}
}

func nested() *model.Wigo {
	leaf := &model.Wigo{Uuid: "00000000-0000-0000-0000-00000000000c", IsAlive: true, Hostname: "leaf",
		LocalHost: &model.Host{Name: "leaf", Group: "web", Probes: map[string]*model.ProbeResult{"p": result("p", 200, "warn", 1)}}}
	mid := &model.Wigo{Uuid: "00000000-0000-0000-0000-00000000000b", IsAlive: true, Hostname: "mid",
		LocalHost:   &model.Host{Name: "mid", Probes: map[string]*model.ProbeResult{"q": result("q", 100, "", 1)}},
		RemoteWigos: map[string]*model.Wigo{leaf.Uuid: leaf}}
	return mid
}

func TestIngestNestedStaleAndSelf(t *testing.T) {
	s, sub, _ := newState(t)
	mid := nested()
	// A loop: mid also reports us, with something learned through us.
	mid.RemoteWigos[s.UUID()] = &model.Wigo{Uuid: s.UUID(), Hostname: "master-1", IsAlive: true,
		RemoteWigos: map[string]*model.Wigo{"x": {Uuid: "00000000-0000-0000-0000-00000000000d", Hostname: "viaus", IsAlive: true}}}
	if err := s.Ingest("test", mid); err != nil {
		t.Fatal(err)
	}
	doc := s.Document()
	m := doc.RemoteWigos["00000000-0000-0000-0000-00000000000b"]
	if m == nil || len(doc.RemoteWigos) != 1 {
		t.Fatalf("top level = %v", doc.RemoteWigos)
	}
	if l := m.RemoteWigos["00000000-0000-0000-0000-00000000000c"]; l == nil || l.LocalHost.Status != 200 {
		t.Fatalf("leaf not nested under mid: %+v", m.RemoteWigos)
	}
	if m.GlobalStatus != 200 || doc.GlobalStatus != 200 {
		t.Errorf("statuses mid=%d doc=%d, want 200", m.GlobalStatus, doc.GlobalStatus)
	}
	if _, ok := s.FindHost("viaus"); ok {
		t.Error("a host learned through ourselves was ingested")
	}
	if len(s.Remotes()) != 2 {
		t.Errorf("remotes = %d, want 2", len(s.Remotes()))
	}
	drain(sub)

	// mid stops carrying leaf: leaf is removed, once.
	mid = nested()
	mid.RemoteWigos = nil
	if err := s.Ingest("test", mid); err != nil {
		t.Fatal(err)
	}
	if got := kinds(drain(sub)); got != "host_removed:leaf/" {
		t.Fatalf("events = %s", got)
	}
	if _, ok := s.FindHost("leaf"); ok {
		t.Error("stale host still present")
	}
	hd, ok := s.HostDocument("mid")
	if !ok || hd.LocalHost.Name != "mid" || len(hd.RemoteWigos) != 0 {
		t.Errorf("host document = %+v", hd)
	}
}

func TestIngestRejectsBadParts(t *testing.T) {
	s, _, _ := newState(t)
	doc := nested()
	doc.LocalHost.Probes["bad"] = result("bad", 5000, "boom", 1)
	doc.LocalHost.Probes["evil/name"] = result("evil/name", 100, "", 1)
	doc.RemoteWigos["y"] = &model.Wigo{Uuid: "not a uuid!", Hostname: "h", IsAlive: true}
	doc.RemoteWigos["z"] = &model.Wigo{Uuid: "00000000-0000-0000-0000-00000000000e", Hostname: "ctl\x00", IsAlive: true}
	err := s.Ingest("test", doc)
	if err == nil {
		t.Fatal("no error for bad parts")
	}
	for _, want := range []string{"status 5000 out of range", `probe "evil/name"`, `invalid UUID "not a uuid!"`, "control character"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	h, ok := s.FindHost("mid")
	if !ok {
		t.Fatal("valid host not ingested")
	}
	if p := h.Probes["bad"]; p == nil || p.Status != 500 || !strings.Contains(p.Message, "invalid status 5000") {
		t.Errorf("bad-status probe = %+v", p)
	}
	if _, ok := h.Probes["evil/name"]; ok {
		t.Error("probe with a slash ingested")
	}
	if _, ok := s.FindHost("leaf"); !ok {
		t.Error("valid nested host lost because of an invalid sibling")
	}
	if err := s.Ingest("test", &model.Wigo{}); err == nil {
		t.Error("empty document accepted")
	}
}

func TestGroupSummary(t *testing.T) {
	s, _, _ := newState(t)
	if err := s.Ingest("test", fixtureDoc(t)); err != nil {
		t.Fatal(err)
	}
	g, ok := s.Group("web")
	if !ok || g.Status != 300 || len(g.Hosts) != 1 || g.Hosts[0].Name != "leaf-1" || !g.Hosts[0].IsAlive {
		t.Fatalf("group = %+v", g)
	}
	if p := g.Hosts[0].Probes; len(p) != 2 || p[0].Name != "warn" || p[1].Name != "load" {
		t.Errorf("probes not worst first: %+v", p)
	}
	if _, ok := s.Group("nope"); ok {
		t.Error("unknown group found")
	}
}

// Events from concurrent writers reach a subscriber in the order the state
// applied them: per probe, statuses never go backwards in the feed.
func TestConcurrentUpdatesKeepOrder(t *testing.T) {
	s, sub, _ := newState(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := string(rune('a' + w))
			for i := range 200 {
				s.ProbeResult(result(name, 100+i, "", int64(i)))
			}
		}()
	}
	wg.Wait()
	last := map[string]int{}
	for _, e := range drain(sub) {
		if e.NewStatus < last[e.Probe] {
			t.Fatalf("probe %s went from %d back to %d", e.Probe, last[e.Probe], e.NewStatus)
		}
		last[e.Probe] = e.NewStatus
	}
	if len(last) != 4 {
		t.Fatalf("saw %d probes", len(last))
	}
}

// A host that moves from one source to another is not removed when its old
// source stops listing it.
// A host carried by two sources stays with the first while it reports it
// (the second is refused and named on the host), and moves to the second
// once the first stops listing it.
func TestIngestHostBoundToFirstSource(t *testing.T) {
	s, sub, _ := newState(t)
	leaf := nested().RemoteWigos["00000000-0000-0000-0000-00000000000c"]
	a := &model.Wigo{Uuid: "00000000-0000-0000-0000-0000000000a1", Hostname: "a", IsAlive: true,
		RemoteWigos: map[string]*model.Wigo{leaf.Uuid: leaf}}
	b := &model.Wigo{Uuid: "00000000-0000-0000-0000-0000000000b1", Hostname: "b", IsAlive: true,
		RemoteWigos: map[string]*model.Wigo{leaf.Uuid: leaf}}
	if err := s.Ingest("10.0.0.1:4000", a); err != nil {
		t.Fatal(err)
	}
	err := s.Ingest("10.0.0.2:4000", b)
	if err == nil || !strings.Contains(err.Error(), "10.0.0.1:4000 already reports") {
		t.Fatalf("second claim of the leaf: %v, want a refusal naming the first source", err)
	}
	if h, _ := s.FindHost("leaf"); h.Source != "10.0.0.1:4000" || h.ClaimedBy != "10.0.0.2:4000" || h.Parent != a.Uuid {
		t.Fatalf("leaf source %q claimed by %q parent %q", h.Source, h.ClaimedBy, h.Parent)
	}
	drain(sub)
	a.RemoteWigos = nil
	if err := s.Ingest("10.0.0.1:4000", a); err != nil {
		t.Fatal(err)
	}
	if got := kinds(drain(sub)); got != "host_removed:leaf/" {
		t.Fatalf("events = %s", got)
	}
	if err := s.Ingest("10.0.0.2:4000", b); err != nil {
		t.Fatalf("once free, the second source may report the leaf: %v", err)
	}
	if h, ok := s.FindHost("leaf"); !ok || h.Source != "10.0.0.2:4000" || h.Parent != b.Uuid {
		t.Fatalf("leaf after the move: %+v", h)
	}
}

// A pulled remote that claims another host's UUID — at the top of its
// document or under RemoteWigos — does not overwrite the genuine host: its
// probes stay, no event is published for it, and the impostor's document
// is refused with what it carries under that UUID.
func TestIngestSpoofedUUIDRefused(t *testing.T) {
	s, sub, _ := newState(t)
	genuine := nested()
	if err := s.Ingest("10.0.0.1:4000", genuine); err != nil {
		t.Fatal(err)
	}
	drain(sub)
	before, _ := s.FindHost("mid")
	fake := &model.Wigo{Uuid: genuine.Uuid, Hostname: "mid", IsAlive: true, LocalHost: &model.Host{Name: "mid",
		Probes: map[string]*model.ProbeResult{"disk": result("disk", 300, "forged", 9)}},
		RemoteWigos: map[string]*model.Wigo{"x": {Uuid: "00000000-0000-0000-0000-0000000000f1", Hostname: "under-fake", IsAlive: true}}}
	for range 3 {
		if err := s.Ingest("10.0.0.66:4000", fake); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("spoofed document: %v, want refused", err)
		}
	}
	if ev := drain(sub); len(ev) != 0 {
		t.Fatalf("the impostor produced events: %s", kinds(ev))
	}
	after, _ := s.FindHost("mid")
	if after.Source != "10.0.0.1:4000" || after.ClaimedBy != "10.0.0.66:4000" || len(after.Probes) != len(before.Probes) ||
		after.Probes["disk"] != nil || after.Probes["q"] != before.Probes["q"] {
		t.Fatalf("genuine host changed: %+v", after)
	}
	if _, ok := s.FindHost("under-fake"); ok {
		t.Error("a host carried under the refused UUID was ingested")
	}
	// Nor can the impostor patch it.
	if err := s.Patch("10.0.0.66:4000", genuine.Uuid, []*model.ProbeResult{result("disk", 300, "forged", 9)}, nil); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("patch from another source: %v, want ErrUnknownHost", err)
	}
}

// The binding of a host to its source survives a restart: a restored host
// is refused to another source claiming its UUID before its own reported.
func TestRestoredHostKeepsItsSource(t *testing.T) {
	s, _, _ := newState(t)
	genuine := nested()
	s.Restore([]*Host{{UUID: genuine.Uuid, Name: "mid", Remote: true, Alive: true, Origin: genuine.Uuid,
		Source: "10.0.0.1:4000", Probes: map[string]*model.ProbeResult{"q": result("q", 100, "", 1)}}})
	if err := s.Ingest("10.0.0.66:4000", genuine); err == nil || !strings.Contains(err.Error(), "10.0.0.1:4000 already reports") {
		t.Fatalf("claim of a restored host by another source: %v, want refused", err)
	}
	if err := s.Ingest("10.0.0.1:4000", genuine); err != nil {
		t.Fatalf("its own source: %v", err)
	}
}
