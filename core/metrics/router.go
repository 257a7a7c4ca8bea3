package metrics

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/sdk"
)

// Writer delivers a batch to one output instance; *plugin.Manager is one.
type Writer interface {
	Write(ctx context.Context, instance string, metrics []sdk.Metric) error
}

// Reasons a point is dropped, the "reason" label of
// wigo_output_points_dropped_total.
const (
	// DropQueueFull: the output's queue in the core was full (the output
	// is slower than the probes, or unreachable); the oldest points went.
	DropQueueFull = "queue_full"
	// DropOutput: the output plugin reported it dropped them (its own
	// buffer overflowed, or the backend rejected them).
	DropOutput = "output"
	// DropRefused: the plugin refused the batch with an error; resending
	// the same points would fail the same way.
	DropRefused = "refused"
	// DropShutdown: still queued when the daemon stopped.
	DropShutdown = "shutdown"
)

// Kinds are the events that carry probe results.
var Kinds = []event.Kind{event.ProbeUpdated, event.ProbeChanged, event.ProbeAppeared}

// RouterOptions configure a Router. Zero values take the defaults.
type RouterOptions struct {
	// Writer delivers batches. Required.
	Writer Writer
	// Outputs are the output instance names (block labels).
	Outputs []string
	// QueueSize is how many points each output may have waiting in the
	// core (10,000). When full, the oldest points are dropped.
	QueueSize int
	// BatchSize is the most points sent in one Write (500).
	BatchSize int
	// FlushInterval is the longest a point waits for its batch to fill (1 s).
	FlushInterval time.Duration
	// WriteTimeout bounds one Write (10 s).
	WriteTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before resending a batch
	// to an output that could not be reached (1 s doubling to 30 s).
	MinBackoff, MaxBackoff time.Duration
	// ShutdownTimeout bounds the last flush when Run's context ends (2 s).
	ShutdownTimeout time.Duration
	// LogEvery is the least time between two log lines about the same
	// output's losses or failures (1 min); the lines in between are counted
	// in the next one.
	LogEvery time.Duration
	// Logger receives the router's messages.
	Logger hclog.Logger
	// EventBuffer is the size of the bus subscription (8192 events).
	EventBuffer int
}

func (o *RouterOptions) defaults() {
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.BatchSize > o.QueueSize {
		o.BatchSize = o.QueueSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(o.MinBackoff, 30*time.Second)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 2 * time.Second
	}
	if o.LogEvery <= 0 {
		o.LogEvery = time.Minute
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = 8192
	}
}

// OutputStats are one output's counters since the Router was created.
type OutputStats struct {
	// Output is the instance name.
	Output string
	// Queued is how many points wait in the core's queue now.
	Queued int
	// Sent counts points handed to the output (Write returned).
	Sent uint64
	// Failed counts Write attempts that could not reach the output.
	Failed uint64
	// Dropped counts lost points by reason (Drop* constants).
	Dropped map[string]uint64
}

// Router turns probe events into points and feeds every output. Its
// methods are safe for concurrent use.
type Router struct {
	opts   RouterOptions
	log    hclog.Logger
	sub    atomic.Pointer[event.Subscription]
	events atomic.Uint64
	points atomic.Uint64

	// mu guards the outputs (SetOutputs changes them), the bus and the
	// context Run runs the senders in.
	mu      sync.RWMutex
	outputs []*output
	bus     *event.Bus
	ctx     context.Context
	wg      sync.WaitGroup
}

// NewRouter returns a Router for opts.Outputs; nothing runs until Run.
func NewRouter(opts RouterOptions) *Router {
	opts.defaults()
	r := &Router{opts: opts, log: opts.Logger}
	for _, name := range opts.Outputs {
		r.outputs = append(r.outputs, r.newOutput(name))
	}
	return r
}

func (r *Router) newOutput(name string) *output {
	return &output{
		name:      name,
		r:         r,
		q:         newQueue(r.opts.QueueSize),
		full:      make(chan struct{}, 1),
		log:       &rateLog{every: r.opts.LogEvery},
		failedLog: &rateLog{every: r.opts.LogEvery},
	}
}

// Subscribe subscribes the router to bus. Call it before the probes start
// so the first results are not missed; Run then consumes the subscription.
// The subscription is lossy: a router that falls behind never slows the
// state down, and the events it missed are counted (EventsDropped). With no
// output configured it does not subscribe (nobody would read the points)
// until SetOutputs adds one.
func (r *Router) Subscribe(bus *event.Bus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bus = bus
	if len(r.outputs) == 0 {
		return
	}
	r.sub.Store(bus.Subscribe(event.SubscribeOptions{Kinds: Kinds, Buffer: r.opts.EventBuffer}))
}

// SetOutputs changes the output instances (a reload): new names get a
// queue and a sender at once; a name no longer there has its sender
// stopped after one last flush of its queue (bounded by ShutdownTimeout),
// before SetOutputs returns, so its plugin receives what was queued for it
// before it is closed. Names kept keep their queue and counters.
func (r *Router) SetOutputs(names []string) {
	r.mu.Lock()
	byName := make(map[string]*output, len(r.outputs))
	for _, o := range r.outputs {
		byName[o.name] = o
	}
	keep := make([]*output, 0, len(names))
	for _, n := range names {
		o := byName[n]
		if o == nil {
			o = r.newOutput(n)
			if r.ctx != nil && r.ctx.Err() == nil {
				r.start(o)
			}
		}
		delete(byName, n)
		keep = append(keep, o)
	}
	r.outputs = keep
	if len(keep) > 0 && r.sub.Load() == nil && r.bus != nil {
		sub := r.bus.Subscribe(event.SubscribeOptions{Kinds: Kinds, Buffer: r.opts.EventBuffer})
		r.sub.Store(sub)
		if r.ctx != nil && r.ctx.Err() == nil {
			r.wg.Add(1)
			go func(ctx context.Context) {
				defer r.wg.Done()
				r.consume(ctx, sub)
			}(r.ctx)
		}
	}
	r.mu.Unlock()
	for _, o := range byName {
		if o.stop != nil {
			o.stop()
			<-o.done
		}
	}
}

// start runs o's sender in Run's context; r.mu is held.
func (r *Router) start(o *output) {
	ctx, cancel := context.WithCancel(r.ctx)
	o.stop, o.done = cancel, make(chan struct{})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(o.done)
		defer cancel()
		o.run(ctx)
	}()
}

// EventsDropped is how many probe events the router's subscription missed
// because it could not keep up.
func (r *Router) EventsDropped() uint64 {
	if s := r.sub.Load(); s != nil {
		return s.Dropped()
	}
	return 0
}

// Run consumes the subscription (if Subscribe was called) and runs one
// sender per output until ctx is done, then gives the senders
// ShutdownTimeout to deliver what is queued, and returns. It returns only
// after ctx is done, even with no output.
func (r *Router) Run(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	for _, o := range r.outputs {
		r.start(o)
	}
	if sub := r.sub.Load(); sub != nil {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.consume(ctx, sub)
		}()
	}
	r.mu.Unlock()
	// With nothing to run (no output configured) Run still lasts until ctx
	// ends, as its callers expect of a component's Run.
	<-ctx.Done()
	r.mu.Lock() // no SetOutputs starts a sender after this
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Router) consume(ctx context.Context, sub *event.Subscription) {
	defer sub.Close()
	var buf []sdk.Metric
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			r.events.Add(1)
			buf = Points(buf[:0], &e)
			if len(buf) > 0 {
				r.Add(buf)
			}
		}
	}
}

// Add queues points for every output without ever waiting: an output whose
// queue is full loses its oldest points instead. The points are copied.
func (r *Router) Add(points []sdk.Metric) {
	r.points.Add(uint64(len(points)))
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, o := range r.outputs {
		o.add(points)
	}
}

// Stats returns every output's counters, in configuration order.
func (r *Router) Stats() []OutputStats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]OutputStats, 0, len(r.outputs))
	for _, o := range r.outputs {
		out = append(out, o.stats())
	}
	return out
}

// Points is how many points the router has produced since it was created.
func (r *Router) Points() uint64 { return r.points.Load() }

// droppedRe finds the count in an output's loss report.
var droppedRe = regexp.MustCompile(`dropped (\d+) points?`)

// DroppedInError reads the number of points an output plugin says it
// dropped from its error: the text "dropped N points" anywhere in the
// message. ok is false when the error says nothing of the kind.
func DroppedInError(err error) (n uint64, ok bool) {
	if err == nil {
		return 0, false
	}
	m := droppedRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	n, perr := strconv.ParseUint(m[1], 10, 64)
	return n, perr == nil
}

// output is one output instance: its queue, its sender and its counters.
type output struct {
	name string
	r    *Router
	q    *queue
	// full wakes the sender when a whole batch is waiting.
	full chan struct{}

	sent, failed atomic.Uint64
	mu           sync.Mutex
	dropped      map[string]uint64
	// log and failedLog rate-limit the lines about losses and about
	// failed writes separately, so one never hides the other.
	log, failedLog *rateLog
	// stop ends the sender Run or SetOutputs started; done is closed when
	// it has returned.
	stop context.CancelFunc
	done chan struct{}
}

func (o *output) add(points []sdk.Metric) {
	lost, n := o.q.push(points)
	if lost > 0 {
		o.drop(DropQueueFull, uint64(lost), errors.New("queue full: output is slower than the probes or unreachable"))
	}
	if n >= o.r.opts.BatchSize {
		select {
		case o.full <- struct{}{}:
		default:
		}
	}
}

// drop counts lost points and logs them, at most once per LogEvery.
func (o *output) drop(reason string, n uint64, cause error) {
	o.mu.Lock()
	if o.dropped == nil {
		o.dropped = make(map[string]uint64)
	}
	o.dropped[reason] += n
	total := o.dropped[reason]
	o.mu.Unlock()
	if suppressed, ok := o.log.allow(time.Now()); ok {
		o.r.log.Warn("metric points dropped", "output", o.name, "reason", reason, "points", n,
			"total", total, "lines_suppressed", suppressed, "error", cause)
	}
}

func (o *output) stats() OutputStats {
	s := OutputStats{Output: o.name, Queued: o.q.len(), Sent: o.sent.Load(), Failed: o.failed.Load(), Dropped: map[string]uint64{}}
	o.mu.Lock()
	for k, v := range o.dropped {
		s.Dropped[k] = v
	}
	o.mu.Unlock()
	return s
}

// run sends batches until ctx is done, then flushes once more.
func (o *output) run(ctx context.Context) {
	t := time.NewTicker(o.r.opts.FlushInterval)
	defer t.Stop()
	backoff := o.r.opts.MinBackoff
	for {
		whole := false
		select {
		case <-ctx.Done():
			o.shutdown()
			return
		case <-o.full:
			whole = true
		case <-t.C:
		}
		for {
			batch := o.q.take(o.r.opts.BatchSize, whole)
			if batch == nil {
				break
			}
			if !o.send(ctx, batch, &backoff) {
				o.shutdown()
				return
			}
			// After a flush on the ticker, only whole batches go at once;
			// the rest waits for the next tick to fill up.
			whole = true
		}
	}
}

// send writes one batch, retrying with backoff while the output cannot be
// reached. It reports false when ctx ended first (the batch is then
// counted as dropped at shutdown).
func (o *output) send(ctx context.Context, batch []sdk.Metric, backoff *time.Duration) bool {
	for {
		wctx, cancel := context.WithTimeout(ctx, o.r.opts.WriteTimeout)
		err := o.r.opts.Writer.Write(wctx, o.name, batch)
		cancel()
		if o.settle(batch, err) {
			*backoff = o.r.opts.MinBackoff
			return true
		}
		o.failed.Add(1)
		if suppressed, ok := o.failedLog.allow(time.Now()); ok {
			o.r.log.Warn("metric output unreachable, will retry", "output", o.name, "points", len(batch),
				"queued", o.q.len(), "retry_in", *backoff, "lines_suppressed", suppressed, "error", err)
		}
		select {
		case <-ctx.Done():
			o.drop(DropShutdown, uint64(len(batch)), ctx.Err())
			return false
		case <-time.After(*backoff):
		}
		*backoff = min(*backoff*2, o.r.opts.MaxBackoff)
	}
}

// settle accounts for a Write's outcome; false means the output could not
// be reached and the batch must be sent again.
func (o *output) settle(batch []sdk.Metric, err error) bool {
	if err == nil {
		o.sent.Add(uint64(len(batch)))
		return true
	}
	var remote *sdk.RemoteError
	if !errors.As(err, &remote) {
		return false
	}
	// The plugin took the batch and answered: it either reports what it
	// lost or refuses the points outright. Neither gets better by resending.
	if n, ok := DroppedInError(err); ok {
		o.sent.Add(uint64(len(batch)))
		if n > 0 {
			o.drop(DropOutput, n, err)
		}
		return true
	}
	o.drop(DropRefused, uint64(len(batch)), err)
	return true
}

// shutdown gives what is still queued one last chance, bounded by
// ShutdownTimeout, and counts the rest as dropped.
func (o *output) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), o.r.opts.ShutdownTimeout)
	defer cancel()
	for {
		batch := o.q.take(o.r.opts.BatchSize, false)
		if batch == nil {
			return
		}
		if ctx.Err() != nil {
			o.drop(DropShutdown, uint64(len(batch)), ctx.Err())
			continue
		}
		err := o.r.opts.Writer.Write(ctx, o.name, batch)
		if !o.settle(batch, err) {
			o.drop(DropShutdown, uint64(len(batch)), fmt.Errorf("last flush: %w", err))
		}
	}
}

// queue is a bounded FIFO of points that drops its oldest on overflow. Its
// ring grows on demand up to its limit, so an idle or healthy output costs
// little memory whatever QueueSize says.
type queue struct {
	mu    sync.Mutex
	limit int
	buf   []sdk.Metric // ring; len(buf) is the current capacity
	head  int
	n     int
}

func newQueue(limit int) *queue { return &queue{limit: limit, buf: make([]sdk.Metric, min(limit, 64))} }

// grow makes room for want points if the limit allows. mu is held.
func (q *queue) grow(want int) {
	if want <= len(q.buf) || len(q.buf) == q.limit {
		return
	}
	size := len(q.buf)
	for size < want {
		size *= 2
	}
	size = min(size, q.limit)
	nb := make([]sdk.Metric, size)
	for i := 0; i < q.n; i++ {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

// push appends points, evicting the oldest when full; it returns how many
// were lost and the new length.
func (q *queue) push(points []sdk.Metric) (lost, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(points) > q.limit {
		lost += len(points) - q.limit
		points = points[len(points)-q.limit:]
	}
	q.grow(q.n + len(points))
	size := len(q.buf)
	if over := q.n + len(points) - size; over > 0 {
		for i := 0; i < over; i++ {
			q.buf[(q.head+i)%size] = sdk.Metric{}
		}
		q.head = (q.head + over) % size
		q.n -= over
		lost += over
	}
	for _, p := range points {
		q.buf[(q.head+q.n)%size] = p
		q.n++
	}
	return lost, q.n
}

// take removes up to max points from the front; with whole it takes
// nothing unless max points are there.
func (q *queue) take(max int, whole bool) []sdk.Metric {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 || (whole && q.n < max) {
		return nil
	}
	k := min(max, q.n)
	out := make([]sdk.Metric, k)
	size := len(q.buf)
	for i := range out {
		j := (q.head + i) % size
		out[i] = q.buf[j]
		q.buf[j] = sdk.Metric{}
	}
	q.head = (q.head + k) % size
	q.n -= k
	return out
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// rateLog lets one line through per period and counts the others.
type rateLog struct {
	mu         sync.Mutex
	every      time.Duration
	last       time.Time
	suppressed int
}

func (l *rateLog) allow(now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return 0, false
	}
	suppressed, l.suppressed, l.last = l.suppressed, 0, now
	return suppressed, true
}
