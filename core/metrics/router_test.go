package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/sdk"
)

func TestPoints(t *testing.T) {
	e := event.Event{Kind: event.ProbeUpdated, Host: "web-1", Group: "front", Probe: "disk", Time: time.Unix(5, 0),
		New: &model.ProbeResult{Name: "disk", Timestamp: 1764000000, Metrics: []model.Metric{
			{Tags: map[string]string{"Mount Point": "/var/lib", "HOSTNAME": "spoof", "empty": "", "dev": "sda:1"}, Value: 91},
			{Value: 3},
		}}}
	ps := Points(nil, &e)
	if len(ps) != 2 {
		t.Fatalf("points %+v", ps)
	}
	p := ps[0]
	if p.Hostname != "web-1" || p.Group != "front" || p.Probe != "disk" || p.Value != 91 || !p.Time.Equal(time.Unix(1764000000, 0)) {
		t.Errorf("point %+v", p)
	}
	want := map[string]string{"mount_point": "/var/lib", "dev": "sda_1"}
	if fmt.Sprint(p.Tags) != fmt.Sprint(want) {
		t.Errorf("tags %v, want %v", p.Tags, want)
	}
	if ps[1].Tags != nil {
		t.Errorf("untagged point got tags %v", ps[1].Tags)
	}
	e.New = &model.ProbeResult{Name: "x"}
	if ps := Points(nil, &e); len(ps) != 0 {
		t.Errorf("a result without metrics gave %v", ps)
	}
}

func TestSanitizeTagAndLabelName(t *testing.T) {
	for in, want := range map[string]string{"a-b_c.d/e": "a-b_c.d/e", "a b=c": "a_b_c", "été": "été", "x\xffy": "x_y", "日本": "日本", "€": "_"} {
		if got := sdk.SanitizeTag(in); got != want {
			t.Errorf("SanitizeTag(%q) = %q, want %q", in, got, want)
		}
	}
	if got := LabelName("Mount-Point"); got != "tag_mount_point" {
		t.Errorf("LabelName = %q", got)
	}
}

func TestDroppedInError(t *testing.T) {
	n, ok := DroppedInError(&sdk.RemoteError{Msg: "dropped 42 points: 42 over buffer_size"})
	if !ok || n != 42 {
		t.Errorf("got %d %v", n, ok)
	}
	if _, ok := DroppedInError(errors.New("connection refused")); ok {
		t.Error("no count in an unrelated error")
	}
}

func TestQueueDropsOldest(t *testing.T) {
	q := newQueue(3)
	mk := func(vs ...float64) []sdk.Metric {
		var out []sdk.Metric
		for _, v := range vs {
			out = append(out, sdk.Metric{Value: v})
		}
		return out
	}
	if lost, n := q.push(mk(1, 2)); lost != 0 || n != 2 {
		t.Fatal(lost, n)
	}
	if lost, n := q.push(mk(3, 4)); lost != 1 || n != 3 {
		t.Fatal(lost, n)
	}
	if b := q.take(3, true); len(b) != 3 || b[0].Value != 2 || b[2].Value != 4 {
		t.Fatalf("take %+v", b)
	}
	if lost, _ := q.push(mk(5, 6, 7, 8, 9)); lost != 2 {
		t.Fatal(lost)
	}
	if b := q.take(10, true); b != nil {
		t.Fatal("whole batch of 10 taken from 3")
	}
	if b := q.take(2, false); len(b) != 2 || b[0].Value != 7 {
		t.Fatalf("take %+v", b)
	}
}

// fakeWriter records batches; per instance it can block, fail, or report
// losses.
type fakeWriter struct {
	mu      sync.Mutex
	got     map[string][]int
	block   map[string]chan struct{}
	fail    map[string]error
	written chan string
}

func newFakeWriter() *fakeWriter {
	return &fakeWriter{got: map[string][]int{}, block: map[string]chan struct{}{}, fail: map[string]error{}, written: make(chan string, 100)}
}

func (w *fakeWriter) Write(ctx context.Context, instance string, ms []sdk.Metric) error {
	w.mu.Lock()
	block, fail := w.block[instance], w.fail[instance]
	w.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	w.mu.Lock()
	w.got[instance] = append(w.got[instance], len(ms))
	w.mu.Unlock()
	select {
	case w.written <- instance:
	default:
	}
	return nil
}

func (w *fakeWriter) total(instance string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, x := range w.got[instance] {
		n += x
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func points(n int) []sdk.Metric {
	out := make([]sdk.Metric, n)
	for i := range out {
		out[i] = sdk.Metric{Hostname: "h", Probe: "p", Value: float64(i)}
	}
	return out
}

// TestStuckOutputBlocksNobody: one output hangs; Add never waits, the
// other output gets everything, the stuck one drops its oldest points and
// counts them.
func TestStuckOutputBlocksNobody(t *testing.T) {
	w := newFakeWriter()
	w.block["stuck"] = make(chan struct{})
	r := NewRouter(RouterOptions{Writer: w, Outputs: []string{"stuck", "fine"}, QueueSize: 100, BatchSize: 10,
		FlushInterval: 20 * time.Millisecond, WriteTimeout: time.Minute, LogEvery: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for i := range 100 {
		r.Add(points(10)) // never blocks
		// Paced on the healthy output, so only the stuck one overflows.
		waitFor(t, "the healthy output", func() bool { return w.total("fine") == (i+1)*10 })
	}
	// 10 in flight, 100 queued, the rest dropped and counted.
	waitFor(t, "the stuck output's counters", func() bool {
		s := r.Stats()[0]
		return s.Queued == 100 && s.Dropped[DropQueueFull] == 890
	})
	if s := r.Stats()[1]; s.Sent != 1000 || len(s.Dropped) != 0 {
		t.Errorf("healthy output stats %+v", s)
	}
	close(w.block["stuck"])
	waitFor(t, "the stuck output drains", func() bool { return w.total("stuck") == 110 })
	cancel()
	<-done
}

// TestUnreachableOutputRetries: ErrUnavailable-like errors keep the batch
// and retry; a "dropped N points" report is counted, not retried; any
// other plugin error drops the batch as refused.
func TestUnreachableOutputRetries(t *testing.T) {
	w := newFakeWriter()
	w.fail["o"] = errors.New("output \"o\": plugin unavailable")
	r := NewRouter(RouterOptions{Writer: w, Outputs: []string{"o"}, BatchSize: 5, FlushInterval: 10 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	r.Add(points(5))
	waitFor(t, "failures", func() bool { return r.Stats()[0].Failed >= 2 })
	w.mu.Lock()
	w.fail["o"] = nil
	w.mu.Unlock()
	waitFor(t, "delivery after the outage", func() bool { return w.total("o") == 5 })

	w.mu.Lock()
	w.fail["o"] = fmt.Errorf("output \"o\": %w", &sdk.RemoteError{Msg: "dropped 7 points: 7 over buffer_size (10)"})
	w.mu.Unlock()
	r.Add(points(5))
	waitFor(t, "the loss counted", func() bool { return r.Stats()[0].Dropped[DropOutput] == 7 })

	w.mu.Lock()
	w.fail["o"] = fmt.Errorf("output \"o\": %w", &sdk.RemoteError{Msg: "not configured"})
	w.mu.Unlock()
	r.Add(points(5))
	waitFor(t, "the refusal counted", func() bool { return r.Stats()[0].Dropped[DropRefused] == 5 })
}

// TestRouterFollowsTheBus: probe events with metrics become points.
func TestRouterFollowsTheBus(t *testing.T) {
	bus := event.NewBus()
	w := newFakeWriter()
	r := NewRouter(RouterOptions{Writer: w, Outputs: []string{"o"}, FlushInterval: 10 * time.Millisecond})
	r.Subscribe(bus)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	res := &model.ProbeResult{Name: "load", Timestamp: 1, Metrics: []model.Metric{{Value: 1}, {Value: 2}}}
	bus.Publish(
		event.Event{Kind: event.ProbeUpdated, Host: "h", Probe: "load", New: res},
		event.Event{Kind: event.HostDown, Host: "h"},
		event.Event{Kind: event.ProbeDisappeared, Host: "h", Probe: "load", Old: res},
	)
	waitFor(t, "two points", func() bool { return w.total("o") == 2 })
	cancel()
	<-done
	if r.Points() != 2 {
		t.Errorf("points %d", r.Points())
	}
}
