package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/storetest"
)

// allOf is an instance hearing every probe change and host event.
func allOf(name string) Instance {
	f := defaults()
	f.MinLevel = 100
	return Instance{Name: name, Filter: f}
}

// change is a probe change that every allOf instance accepts.
func change(host, probe string) event.Event {
	return event.Event{Kind: event.ProbeChanged, Host: host, Group: "g", Probe: probe, OldStatus: 100, NewStatus: 300,
		Old: &model.ProbeResult{Name: probe, Status: 100}, New: &model.ProbeResult{Name: probe, Status: 300, Message: "bad"},
		HostStatus: 300, ProbesInError: []string{probe}}
}

// call is one Send as a test Sender saw it.
type call struct {
	instance string
	n        *Notification
	at       time.Time
	err      error
}

// recorder is a Sender whose answer is decided per call by fn, and which
// reports every call on a channel and in a list.
type recorder struct {
	mu    sync.Mutex
	calls []call
	fn    func(ctx context.Context, instance string, n *Notification, attempt int) error
	// tries counts calls per instance+event.
	tries map[string]int
	ch    chan call
}

func newRecorder(fn func(ctx context.Context, instance string, n *Notification, attempt int) error) *recorder {
	return &recorder{fn: fn, tries: map[string]int{}, ch: make(chan call, 10000)}
}

func (r *recorder) Send(ctx context.Context, instance string, n *Notification) error {
	r.mu.Lock()
	key := instance + "/" + n.EventId
	r.tries[key]++
	attempt := r.tries[key]
	r.mu.Unlock()
	var err error
	if r.fn != nil {
		err = r.fn(ctx, instance, n, attempt)
	}
	c := call{instance: instance, n: n, at: time.Now(), err: err}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	r.ch <- c
	return err
}

func (r *recorder) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// start runs a pipeline on st until the test ends (or stop is called) and
// returns it with a bus feeding it.
func start(t *testing.T, opts Options) (p *Pipeline, bus *event.Bus, stop func()) {
	t.Helper()
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	bus = event.NewBus()
	sub := bus.Subscribe(event.SubscribeOptions{Lossless: true, Kinds: Kinds})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, sub) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			sub.Close()
		})
	}
	t.Cleanup(stop)
	return p, bus, stop
}

// eventually polls cond until it holds or the deadline passes. Polling the
// store is the synchronisation: nothing here sleeps for a guessed duration.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func counts(t *testing.T, st *store.Store) map[store.OutboxState]int {
	t.Helper()
	c, err := st.CountOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// acks collects OnEnqueued ids.
type acks struct {
	mu  sync.Mutex
	ids []string
}

func (a *acks) add(ids []string) {
	a.mu.Lock()
	a.ids = append(a.ids, ids...)
	a.mu.Unlock()
}

func (a *acks) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

func (a *acks) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ids...)
}

func TestDeliverFromBus(t *testing.T) {
	st := storetest.Open(t)
	rec := newRecorder(nil)
	quiet := allOf("quiet")
	quiet.Filter.OnProbeChange = false
	p, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http"), quiet}})
	bus.Publish(change("web-1", "load"))
	c := <-rec.ch
	if c.instance != "http" || c.n.Hostname != "web-1" || c.n.Probe != "load" || c.n.EventId == "" ||
		len(c.n.HostProbesInError) != 1 || c.n.HostProbesInError[0] != "load" {
		t.Fatalf("sent %+v to %s", c.n, c.instance)
	}
	eventually(t, "delivered row", func() bool { return counts(t, st)[store.OutboxDelivered] == 1 })
	if s := p.Stats(); s.Delivered != 1 || s.Pending != 0 || s.Failed != 0 {
		t.Errorf("stats = %+v", s)
	}
	if n := len(rec.snapshot()); n != 1 {
		t.Errorf("%d sends, want 1 (the quiet instance filters probe changes)", n)
	}
}

func TestRetryWithBackoffThenDelivered(t *testing.T) {
	st := storetest.Open(t)
	const failures = 3
	rec := newRecorder(func(_ context.Context, _ string, _ *Notification, attempt int) error {
		if attempt <= failures {
			return fmt.Errorf("attempt %d: 503", attempt)
		}
		return nil
	})
	base := 20 * time.Millisecond
	p, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http")},
		BackoffBase: base, BackoffMax: time.Second})
	bus.Publish(change("web-1", "load"))
	eventually(t, "delivery", func() bool { return counts(t, st)[store.OutboxDelivered] == 1 })
	calls := rec.snapshot()
	if len(calls) != failures+1 {
		t.Fatalf("%d attempts, want %d", len(calls), failures+1)
	}
	successes := 0
	for i, c := range calls {
		if c.err == nil {
			successes++
		}
		if i == 0 {
			continue
		}
		// The n-th retry waits at least half of base·2^(n-1): timers never
		// fire early, so this holds on any machine however slow.
		gap := c.at.Sub(calls[i-1].at)
		if floor := base << (i - 1) / 2; gap < floor {
			t.Errorf("gap before attempt %d = %v, want ≥ %v", i+1, gap, floor)
		}
	}
	if successes != 1 {
		t.Errorf("%d successful sends, want exactly 1", successes)
	}
	if s := p.Stats(); s.Delivered != 1 || s.Failed != failures {
		t.Errorf("stats = %+v", s)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	base, maxDelay := time.Second, 5*time.Minute
	prevHi := time.Duration(0)
	for attempt := 1; attempt <= 20; attempt++ {
		lo := backoff(attempt, base, maxDelay, func() float64 { return 0 })
		hi := backoff(attempt, base, maxDelay, func() float64 { return 1 })
		if lo > hi || hi > maxDelay || lo < prevHi/2 {
			t.Errorf("attempt %d: [%v, %v]", attempt, lo, hi)
		}
		if attempt <= 8 && hi != base<<(attempt-1) {
			t.Errorf("attempt %d: nominal %v, want %v", attempt, hi, base<<(attempt-1))
		}
		if lo < prevHi/2 {
			t.Errorf("attempt %d: delay decreased", attempt)
		}
		prevHi = hi
	}
	if got := backoff(100, base, maxDelay, func() float64 { return 1 }); got != maxDelay {
		t.Errorf("attempt 100: %v, want the cap", got)
	}
}

func TestDeadLetterListedAndRetriedOverHTTP(t *testing.T) {
	st := storetest.Open(t)
	var healthy atomic.Bool
	rec := newRecorder(func(context.Context, string, *Notification, int) error {
		if healthy.Load() {
			return nil
		}
		return errors.New("connection refused")
	})
	p, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http")},
		MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()

	bus.Publish(change("web-1", "load"))
	eventually(t, "dead letter", func() bool { return counts(t, st)[store.OutboxDead] == 1 })
	if n := len(rec.snapshot()); n != 3 {
		t.Errorf("%d attempts before the dead letter, want MaxAttempts=3", n)
	}

	var page Page
	getJSON(t, srv.URL+"/api/notifications/dead", http.StatusOK, &page)
	if page.Total != 1 || len(page.Notifications) != 1 {
		t.Fatalf("dead letters = %+v", page)
	}
	dl := page.Notifications[0]
	if dl.State != "dead" || dl.Attempts != 3 || dl.LastError != "connection refused" || dl.Instance != "http" {
		t.Errorf("dead letter = %+v", dl)
	}
	var n Notification
	if err := json.Unmarshal(dl.Notification, &n); err != nil || n.Hostname != "web-1" {
		t.Errorf("dead letter payload = %s (%v)", dl.Notification, err)
	}
	getJSON(t, srv.URL+"/api/notifications", http.StatusOK, &page)
	if page.Total != 1 {
		t.Errorf("GET /api/notifications total = %d, want 1", page.Total)
	}
	getJSON(t, srv.URL+"/api/notifications?limit=-1", http.StatusBadRequest, nil)

	post(t, srv.URL+"/api/notifications/abc/retry", http.StatusBadRequest)
	post(t, srv.URL+"/api/notifications/999/retry", http.StatusNotFound)
	healthy.Store(true)
	post(t, fmt.Sprintf("%s/api/notifications/%d/retry", srv.URL, dl.Id), http.StatusOK)
	eventually(t, "retried dead letter delivered", func() bool { return counts(t, st)[store.OutboxDelivered] == 1 })
	post(t, fmt.Sprintf("%s/api/notifications/%d/retry", srv.URL, dl.Id), http.StatusConflict)
	if s := p.Stats(); s.Dead != 0 || s.DeadLettered != 1 || s.Delivered != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func getJSON(t *testing.T, u string, status int, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d %s, want %d", u, resp.StatusCode, body, status)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", u, err, body)
		}
	}
}

func post(t *testing.T, u string, status int) {
	t.Helper()
	resp, err := http.Post(u, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("POST %s: %d %s, want %d", u, resp.StatusCode, body, status)
	}
}

func TestPerHostOrderUnderRetries(t *testing.T) {
	st := storetest.Open(t)
	bDone := make(chan struct{})
	var bSent atomic.Int32
	rec := newRecorder(func(ctx context.Context, _ string, n *Notification, attempt int) error {
		switch {
		case n.Hostname == "B":
			if bSent.Add(1) == 3 {
				close(bDone)
			}
			return nil
		case n.Probe == "a1" && attempt <= 2:
			return errors.New("503")
		case n.Probe == "a1":
			// Host B must have flowed completely while A's first event
			// was failing; wait for it (bounded, so a bug fails the test
			// instead of hanging it).
			select {
			case <-bDone:
			case <-time.After(10 * time.Second):
				return errors.New("host B never delivered while A was retrying")
			}
		}
		return nil
	})
	_, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http")},
		BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	bus.Publish(change("A", "a1"), change("A", "a2"), change("B", "b1"), change("B", "b2"), change("B", "b3"), change("A", "a3"))
	eventually(t, "all delivered", func() bool { return counts(t, st)[store.OutboxDelivered] == 6 })

	var aOrder []string
	a1Success, bLast := -1, -1
	for i, c := range rec.snapshot() {
		if c.n.Hostname == "A" {
			aOrder = append(aOrder, c.n.Probe)
			if c.n.Probe == "a1" && c.err == nil {
				a1Success = i
			}
		} else {
			bLast = i
		}
	}
	// Every attempt at host A, in order: a1 three times, then a2, a3.
	if got := strings.Join(aOrder, ","); got != "a1,a1,a1,a2,a3" {
		t.Errorf("host A attempts = %s, want a1,a1,a1,a2,a3", got)
	}
	if bLast > a1Success {
		t.Errorf("host B was held behind host A (last B send at %d, a1 success at %d)", bLast, a1Success)
	}
}

func TestFallbackOnlyWhenPrimaryFails(t *testing.T) {
	st := storetest.Open(t)
	var httpDown atomic.Bool
	rec := newRecorder(func(_ context.Context, instance string, _ *Notification, _ int) error {
		if instance == "http" && httpDown.Load() {
			return errors.New("500")
		}
		return nil
	})
	mail := allOf("mail")
	mail.FallbackFor = "http"
	_, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http"), mail},
		MaxAttempts: 2, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})

	// HTTP works: mail is never sent, its row is cancelled.
	bus.Publish(change("web-1", "ok"))
	eventually(t, "fallback cancelled", func() bool {
		c := counts(t, st)
		return c[store.OutboxDelivered] == 1 && c[store.OutboxCancelled] == 1
	})
	// HTTP fails: mail goes out.
	httpDown.Store(true)
	bus.Publish(change("web-1", "broken"))
	eventually(t, "fallback delivered, primary dead", func() bool {
		c := counts(t, st)
		return c[store.OutboxDelivered] == 2 && c[store.OutboxDead] == 1
	})
	for _, c := range rec.snapshot() {
		if c.instance == "mail" && c.n.Probe != "broken" {
			t.Errorf("mail sent for %s, whose HTTP delivery worked", c.n.Probe)
		}
	}
}

func TestRestartDeliversWhatWasPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wigo.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A receiver that never answers: every Send hangs until shutdown.
	var started atomic.Int32
	hang := newRecorder(func(ctx context.Context, _ string, _ *Notification, _ int) error {
		started.Add(1)
		<-ctx.Done()
		return ctx.Err()
	})
	var acked acks
	_, bus, stop := start(t, Options{Store: st, Sender: hang, Instances: []Instance{allOf("http")}, OnEnqueued: acked.add})
	const n = 20
	for i := range n {
		bus.Publish(change(fmt.Sprintf("host-%d", i%5), fmt.Sprintf("p%d", i)))
	}
	eventually(t, "all enqueued and some sends hanging", func() bool { return acked.len() == n && started.Load() > 0 })
	stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if c := counts(t, st2); c[store.OutboxPending] != n {
		t.Fatalf("after the stop %v, want %d pending", c, n)
	}
	rec := newRecorder(nil)
	_, _, stop2 := start(t, Options{Store: st2, Sender: rec, Instances: []Instance{allOf("http")}})
	defer stop2()
	got := map[string]int{}
	for range n {
		c := <-rec.ch
		got[c.n.EventId]++
	}
	for _, id := range acked.all() {
		if got[id] != 1 {
			t.Errorf("event %s delivered %d times after restart, want 1", id, got[id])
		}
	}
	eventually(t, "all marked delivered", func() bool { return counts(t, st2)[store.OutboxDelivered] == n })
}

// TestHTTPReceiverFailingThenRecovering posts like notify-http (the
// original's form field) to a real HTTP server that answers 500 to the first
// requests: every event arrives, and only retries explain extra requests.
func TestHTTPReceiverFailingThenRecovering(t *testing.T) {
	const failFirst, events = 7, 30
	var mu sync.Mutex
	requests, failed := 0, 0
	okByEvent := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n Notification
		if err := json.Unmarshal([]byte(r.PostFormValue("Notification")), &n); err != nil || n.EventId == "" {
			http.Error(w, "bad notification", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		requests++
		if requests <= failFirst {
			failed++
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		okByEvent[n.EventId]++
	}))
	defer srv.Close()

	sender := SenderFunc(func(ctx context.Context, _ string, n *Notification) error {
		body, err := json.Marshal(n)
		if err != nil {
			return err
		}
		form := url.Values{"Notification": {string(body)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("POST %s: %s", srv.URL, resp.Status)
		}
		return nil
	})
	st := storetest.Open(t)
	var acked acks
	p, bus, _ := start(t, Options{Store: st, Sender: sender, Instances: []Instance{allOf("http")},
		BackoffBase: 2 * time.Millisecond, BackoffMax: 20 * time.Millisecond, OnEnqueued: acked.add})
	for i := range events {
		bus.Publish(change(fmt.Sprintf("host-%d", i%4), fmt.Sprintf("p%d", i)))
	}
	eventually(t, "every event delivered", func() bool { return counts(t, st)[store.OutboxDelivered] == events })
	mu.Lock()
	defer mu.Unlock()
	for _, id := range acked.all() {
		if okByEvent[id] != 1 {
			t.Errorf("event %s accepted %d times, want 1", id, okByEvent[id])
		}
	}
	if len(okByEvent) != events || requests != events+failed || failed != failFirst {
		t.Errorf("%d events accepted of %d; %d requests = %d + %d failures", len(okByEvent), events, requests, events, failed)
	}
	if s := p.Stats(); s.Failed != failFirst || s.Delivered != events {
		t.Errorf("stats = %+v", s)
	}
}

// A notifier that is not there (its plugin down) spends no attempts, however
// long it stays away: more rounds than MaxAttempts leave the rows pending
// with 0 attempts, and Resume sends them, in order, the moment it is back.
func TestUnavailableNotifierSpendsNoAttempts(t *testing.T) {
	st := storetest.Open(t)
	var down atomic.Bool
	down.Store(true)
	rec := newRecorder(func(context.Context, string, *Notification, int) error {
		if down.Load() {
			return fmt.Errorf("notify %q: %w: plugin unavailable", "http", ErrUnavailable)
		}
		return nil
	})
	p, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http")},
		MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	bus.Publish(change("web-1", "load"), change("web-1", "disk"))
	var recorded time.Time
	for round := 0; round < 6; round++ {
		c := <-rec.ch // the head row of web-1, tried and unavailable
		if c.err == nil {
			t.Fatal("delivered while down")
		}
		// Resume only once this try's outcome is in the store, or the
		// outcome would push the row back after the Resume.
		eventually(t, "the result recorded", func() bool {
			rows, _, err := st.ListOutbox(context.Background(), store.OutboxQuery{})
			if err != nil || len(rows) != 2 || !rows[0].Updated.After(recorded) || rows[0].LastError == "" {
				return false
			}
			recorded = rows[0].Updated
			return true
		})
		if err := p.Resume(context.Background(), "http"); err != nil {
			t.Fatal(err)
		}
	}
	rows, _, err := st.ListOutbox(context.Background(), store.OutboxQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.State != store.OutboxPending || r.Attempts != 0 {
			t.Fatalf("row after 6 unavailable rounds: %+v, want pending with 0 attempts", r)
		}
	}
	down.Store(false)
	if err := p.Resume(context.Background(), "http"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both delivered", func() bool { return counts(t, st)[store.OutboxDelivered] == 2 })
	var order []string
	for _, c := range rec.snapshot() {
		if c.err == nil {
			order = append(order, c.n.Probe)
		}
	}
	if strings.Join(order, " ") != "load disk" {
		t.Errorf("delivered %v, want load then disk", order)
	}
}

// A notification whose every Send kills its notifier's plugin is poison: it
// spends no attempts for a crash or two, but after MaxInterruptions Sends in
// a row that ended with the plugin gone it is dead-lettered with that
// reason, and the host's queue behind it moves on.
func TestPoisonNotificationDeadLettered(t *testing.T) {
	st := storetest.Open(t)
	rec := newRecorder(func(_ context.Context, _ string, n *Notification, _ int) error {
		if n.Probe == "poison" {
			return fmt.Errorf("notify %q: %w: %w: connection reset", "http", ErrUnavailable, ErrInterrupted)
		}
		return nil
	})
	p, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http")}, MaxInterruptions: 3})
	bus.Publish(change("web-1", "poison"), change("web-1", "disk"))
	var recorded time.Time
	for round := 1; round <= 3; round++ {
		if c := <-rec.ch; c.n.Probe != "poison" {
			t.Fatalf("send %d was of %s, want the head row (poison)", round, c.n.Probe)
		}
		eventually(t, "the result recorded", func() bool {
			rows, _, err := st.ListOutbox(context.Background(), store.OutboxQuery{})
			if err != nil || len(rows) == 0 || !strings.Contains(string(rows[0].Payload), `"poison"`) || !rows[0].Updated.After(recorded) || rows[0].LastError == "" {
				return false
			}
			recorded = rows[0].Updated
			return true
		})
		rows, _, _ := st.ListOutbox(context.Background(), store.OutboxQuery{})
		if round < 3 && (rows[0].State != store.OutboxPending || rows[0].Attempts != 0) {
			t.Fatalf("after %d interrupted sends: %s with %d attempts, want pending with none", round, rows[0].State, rows[0].Attempts)
		}
		if err := p.Resume(context.Background(), "http"); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "disk delivered behind the poison row", func() bool { return counts(t, st)[store.OutboxDelivered] == 1 })
	rows, _, err := st.ListOutbox(context.Background(), store.OutboxQuery{States: []store.OutboxState{store.OutboxDead}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !strings.Contains(rows[0].LastError, "stopped during each of 3 sends") {
		t.Fatalf("dead letters %+v, want the poison row, saying why", rows)
	}
	if n := len(rec.snapshot()); n != 4 {
		t.Errorf("%d sends, want 3 of poison and 1 of disk", n)
	}
}
