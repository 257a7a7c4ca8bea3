package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/store"
)

// Defaults applied by New to zero-valued Options fields.
const (
	// DefaultMaxAttempts bounds the attempts of one notification: with the
	// default backoff, ten attempts span about a quarter of an hour, long
	// enough to ride out a receiver's restart, short enough that a dead
	// letter is noticed the same day.
	DefaultMaxAttempts = 10
	// DefaultBackoffBase is the delay after the first failure.
	DefaultBackoffBase = time.Second
	// DefaultBackoffMax caps the delay between two attempts.
	DefaultBackoffMax = 5 * time.Minute
	// DefaultWorkers is how many Sends may run at once.
	DefaultWorkers = 16
	// DefaultSendTimeout bounds one Send, so a hung plugin cannot hold a
	// worker (and its host's queue) forever.
	DefaultSendTimeout = time.Minute
	// DefaultOwner is the claim owner of a pipeline given none.
	DefaultOwner = "local"
	// DefaultLeaseMargin is what a claim lasts beyond SendTimeout: the
	// time to record the result once the Send returned.
	DefaultLeaseMargin = 30 * time.Second
	// DefaultRetention is how long delivered rows stay in the outbox, for
	// looking back at what was sent.
	DefaultRetention = 24 * time.Hour
	// maxBatch is the most events committed in one outbox transaction: big
	// enough to amortise the fsync under a burst, small enough to keep the
	// write lock short.
	maxBatch = 256
)

// Sender delivers one notification to one notifier instance. It returns nil
// only when the notification was accepted (an HTTP 2xx, an SMTP 250): nil is
// what marks the row delivered. It must honour ctx. The daemon adapts the
// plugin host to it.
type Sender interface {
	Send(ctx context.Context, instance string, n *Notification) error
}

// ErrUnavailable is what a Sender wraps when the notification never reached
// a receiver because the notifier itself was not there (its plugin not
// running, restarting, or its process gone during the call). Such a failure
// spends none of the row's attempts: the row waits for the notifier
// (Resume) and is tried again every UnavailableRetry meanwhile.
var ErrUnavailable = errors.New("notifier unavailable")

// ErrInterrupted is what a Sender wraps, with ErrUnavailable, when the
// notifier went away during this very Send (its plugin process died in the
// call). Once is bad luck; a row whose every Send kills its plugin is
// poison, and holding it would hold its host's queue behind it forever: after
// MaxInterruptions such Sends in a row it becomes a dead letter.
var ErrInterrupted = errors.New("notifier stopped during the send")

// DefaultMaxInterruptions is how many Sends of one row may end with its
// notifier gone before the row is taken for the cause and dead-lettered.
const DefaultMaxInterruptions = 3

// UnavailableRetry is how soon a row whose notifier was unavailable is due
// again, should no Resume come first.
const UnavailableRetry = 5 * time.Second

// BatchSender is optionally implemented by a Sender that delivers many
// notifications to one instance in one call (the daemon's does, for a
// plugin declaring sdk.CapBatchNotify). For an instance that Batches, the
// pipeline sends its due rows together, BatchSize at most, never two of
// one host in a batch: each host's order is kept as with single sends.
// SendBatch returns one error per notification, in order, with Send's
// meaning, or an error for the whole call.
type BatchSender interface {
	Sender
	Batches(instance string) bool
	SendBatch(ctx context.Context, instance string, ns []*Notification) ([]error, error)
}

// DefaultBatchSize is the most notifications one batch carries.
const DefaultBatchSize = 64

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, instance string, n *Notification) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, instance string, n *Notification) error {
	return f(ctx, instance, n)
}

// Instance is one notifier: a notify block.
type Instance struct {
	// Name is the block's label, passed to Sender.Send.
	Name string
	// Filter selects the events this instance hears about.
	Filter Filter
	// FallbackFor names another instance this one backs up (the original's
	// "mail only when the HTTP callback failed"). For an event both accept,
	// this instance's row is held and released as soon as one delivery
	// attempt of the named instance fails (not only when it dead-letters:
	// a fallback that waits a quarter of an hour of retries is no
	// fallback), and cancelled when that delivery succeeds first. An event
	// the named instance does not accept reaches this instance directly.
	FallbackFor string
	// RenotifyEvery is how often an unresolved, unacknowledged problem this
	// instance heard of is sent again (core/decide decides when; 0 never).
	RenotifyEvery time.Duration
	// EscalateAfter and EscalateTo: a problem at this instance's level not
	// acknowledged within EscalateAfter goes once to instance EscalateTo
	// (core/decide decides when).
	EscalateAfter time.Duration
	EscalateTo    string
	// QuietHours, when set, puts off what is below its level for this
	// instance until they end (core/decide decides what and until when).
	QuietHours *QuietHours
}

// Options configure a Pipeline.
type Options struct {
	// Store holds the outbox. Required.
	Store *store.Store
	// Sender delivers. Required.
	Sender Sender
	// Instances are the configured notifiers; see CheckInstances.
	Instances []Instance
	// Logger; nil means a null logger.
	Logger hclog.Logger
	// DashboardURL, when set, is the dashboard's public address
	// (http.public_url): each notification links to its host there.
	DashboardURL string
	// MaxAttempts before a row becomes a dead letter; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// MaxInterruptions before a row whose Sends keep ending with the
	// notifier gone (ErrInterrupted) becomes a dead letter; 0 means
	// DefaultMaxInterruptions. Counted by this run only: a restart gives
	// a suspect row a fresh count.
	MaxInterruptions int
	// BackoffBase and BackoffMax shape the retry delay: BackoffBase after
	// the first failure, doubling up to BackoffMax, with jitter. 0 means
	// the default.
	BackoffBase, BackoffMax time.Duration
	// Workers is how many Sends may run at once; 0 means DefaultWorkers.
	Workers int
	// BatchSize is the most notifications one send carries when Sender is
	// a BatchSender; 0 means DefaultBatchSize, 1 sends one at a time.
	BatchSize int
	// SendTimeout bounds one Send; 0 means DefaultSendTimeout.
	SendTimeout time.Duration
	// Retention is how long delivered rows are kept; 0 means
	// DefaultRetention.
	Retention time.Duration
	// Owner names this master in its claims on outbox rows: masters
	// sharing a database need one each (the daemon gives its UUID). ""
	// means DefaultOwner. A pipeline starting releases the claims its
	// owner's previous run left.
	Owner string
	// Lease is how long a claimed row is this master's alone, after
	// which another may deliver it; 0 means SendTimeout plus
	// DefaultLeaseMargin. It must be longer than SendTimeout, so that no
	// Send outlives its claim.
	Lease time.Duration
	// OnEnqueued, when set, is called with the event ids of each committed
	// outbox batch, synchronously, after the commit: from then on those
	// notifications survive a crash. Tests and benchmarks use it.
	OnEnqueued func(eventIDs []string)
}

// Stats are the pipeline's counters, for /metrics.
type Stats struct {
	// Pending rows wait for delivery (first attempt or retry).
	Pending int
	// Held rows are fallbacks waiting on their primary.
	Held int
	// Dead rows are dead letters.
	Dead int
	// Delivered counts successful Sends since New.
	Delivered uint64
	// Failed counts failed Sends (attempts) since New.
	Failed uint64
	// DeadLettered counts rows that became dead letters since New.
	DeadLettered uint64
}

// ErrRunning is returned by Run when the pipeline is already running.
var ErrRunning = errors.New("notification pipeline is already running")

// Pipeline is the notification pipeline. Its methods are safe for
// concurrent use.
type Pipeline struct {
	opts Options
	log  hclog.Logger
	st   *store.Store
	// instances are the notifiers; prepare reads them under enqMu,
	// others under instMu, and SetInstances takes both.
	instances []Instance
	instMu    sync.Mutex

	running atomic.Bool
	// wake pokes the dispatcher: new rows, a retried dead letter.
	wake chan struct{}

	// enqMu keeps Enqueue and Prepare from interleaving their batches.
	enqMu sync.Mutex

	// interrupted counts, per outbox row id, its Sends in a row that ended
	// with the notifier gone. Only record (the dispatcher) touches it.
	interrupted map[int64]int

	delivered, failed, deadLettered atomic.Uint64
	// health is each instance's recent outcomes (Health).
	health deliveries
}

// New checks opts and returns a pipeline ready to Run.
func New(opts Options) (*Pipeline, error) {
	if opts.Store == nil {
		return nil, errors.New("notification pipeline: no store")
	}
	if opts.Sender == nil {
		return nil, errors.New("notification pipeline: no sender")
	}
	if err := CheckInstances(opts.Instances); err != nil {
		return nil, fmt.Errorf("notification pipeline: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxInterruptions <= 0 {
		opts.MaxInterruptions = DefaultMaxInterruptions
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffBase)
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = DefaultSendTimeout
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Owner == "" {
		opts.Owner = DefaultOwner
	}
	if opts.Lease <= 0 {
		opts.Lease = opts.SendTimeout + DefaultLeaseMargin
	}
	if opts.Lease <= opts.SendTimeout {
		// A Send outliving its claim would find the row claimed again,
		// perhaps by this very pipeline, and its result refused.
		return nil, fmt.Errorf("notification pipeline: the lease (%s) must outlast a Send (%s)", opts.Lease, opts.SendTimeout)
	}
	return &Pipeline{
		opts:        opts,
		log:         opts.Logger.Named("notify"),
		st:          opts.Store,
		instances:   opts.Instances,
		interrupted: map[int64]int{},
		wake:        make(chan struct{}, 1),
		health:      deliveries{by: map[string]*InstanceHealth{}},
	}, nil
}

func (p *Pipeline) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Enqueue filters events for every instance and writes the notifications
// that pass to the outbox, all in one transaction, returning the event ids
// of the events that produced at least one row. When it returns nil they are
// durable and will be delivered, by this run or the next. Run calls it for
// events from its subscription; it is exported for callers outside the bus
// (a test notification from the API).
func (p *Pipeline) Enqueue(ctx context.Context, events ...event.Event) ([]string, error) {
	p.enqMu.Lock()
	defer p.enqMu.Unlock()
	entries, err := p.prepare(events)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	if _, err := p.st.EnqueueOutbox(ctx, time.Now(), entries...); err != nil {
		return nil, err
	}
	return p.committed(entries), nil
}

// Prepare implements store.Outbox: the store's writer queues the
// notifications of the events it stores in the same transaction (run the
// pipeline with a nil subscription then). Events must come in bus order,
// each once.
func (p *Pipeline) Prepare(events []event.Event) ([]store.OutboxEntry, error) {
	p.enqMu.Lock()
	defer p.enqMu.Unlock()
	return p.prepare(events)
}

// Committed implements store.Outbox: the rows are durable, deliver them.
func (p *Pipeline) Committed(entries []store.OutboxEntry) { p.committed(entries) }

// prepare filters events for every instance and builds their outbox rows,
// Callers hold enqMu.
func (p *Pipeline) prepare(events []event.Event) ([]store.OutboxEntry, error) {
	var entries []store.OutboxEntry
	for _, e := range events {
		if e.Decision.HeldBack != "" {
			// Decided in the core (core/decide): the log says why.
			continue
		}
		var accepted []Instance
		for _, in := range p.instances {
			// A fallback follows its primary: its quiet hours, and the
			// delayed event that ends them.
			primaryTo := e.Kind == event.Delayed && in.FallbackFor != "" && slices.Contains(e.Decision.To, in.FallbackFor)
			if e.Decision.To != nil && !slices.Contains(e.Decision.To, in.Name) && !primaryTo {
				// Decided in the core: this event is for those only.
				continue
			}
			if delayedFor(e, in.Name) || in.FallbackFor != "" && delayedFor(e, in.FallbackFor) {
				// Decided in the core: put off by this instance's quiet
				// hours (or its primary's), it comes with their end's
				// delayed event.
				continue
			}
			// An escalation is addressed: its target takes it whatever its
			// own filter (the level was the escalating block's). So are
			// the changes a quiet hours' end delivers: each passed this
			// instance's filter when it was put off.
			if e.Kind == event.Escalation || e.Kind == event.Delayed || in.Filter.Accepts(e) {
				accepted = append(accepted, in)
			}
		}
		if len(accepted) == 0 {
			continue
		}
		id := uuid.NewString()
		key := idempotencyKey(e)
		n, ok := Build(e, id)
		if !ok {
			continue
		}
		if p.opts.DashboardURL != "" && e.Host != "" {
			n.DashboardUrl = p.opts.DashboardURL + "#/host/" + url.PathEscape(e.Host)
		}
		payload, err := json.Marshal(n)
		if err != nil {
			return entries, fmt.Errorf("encode notification %s: %w", id, err)
		}
		for _, in := range accepted {
			entry := store.OutboxEntry{EventID: id, Instance: in.Name, Host: e.Host, Payload: payload, Key: key}
			if in.FallbackFor != "" && acceptedBy(accepted, in.FallbackFor) {
				entry.FallbackFor = in.FallbackFor
			}
			entries = append(entries, entry)
		}
	}
	return entries, nil
}

// committed reports committed rows to OnEnqueued and wakes the dispatcher;
// it returns their event ids, each once, in order.
func (p *Pipeline) committed(entries []store.OutboxEntry) []string {
	var ids []string
	for i, e := range entries {
		if i == 0 || entries[i-1].EventID != e.EventID {
			ids = append(ids, e.EventID)
		}
	}
	if p.opts.OnEnqueued != nil {
		p.opts.OnEnqueued(ids)
	}
	p.poke()
	return ids
}

// idempotencyKey is the Key of e's outbox rows: for a probe's change,
// what every master observing it derives alike (store.IdempotencyKey),
// so that masters sharing a database queue it once; "" for the other
// events, each master's own (a master's renotify, an operator's ack).
func idempotencyKey(e event.Event) string {
	if e.Kind != event.ProbeChanged || e.HostUUID == "" || e.New == nil {
		return ""
	}
	at := e.New.ProbeDate
	if at == "" && e.New.Timestamp != 0 {
		at = strconv.FormatInt(e.New.Timestamp, 10)
	}
	if at == "" {
		return ""
	}
	return store.IdempotencyKey(e.HostUUID, e.Probe, e.Kind, e.OldStatus, e.NewStatus, at)
}

// delayedFor reports whether the core put e off for instance (quiet hours).
func delayedFor(e event.Event, instance string) bool {
	for _, d := range e.Decision.Delayed {
		if d.Instance == instance {
			return true
		}
	}
	return false
}

func acceptedBy(instances []Instance, name string) bool {
	for _, in := range instances {
		if in.Name == name {
			return true
		}
	}
	return false
}

// Run consumes sub (which may be nil: delivery only) and delivers the outbox
// until ctx is cancelled, starting with whatever a previous run left
// pending: those rows are made due at once, whatever backoff the previous
// run had scheduled. Stop Run (cancel ctx and wait for it to return)
// before closing the Store. Events still buffered in sub when ctx ends are enqueued before
// Run returns; Sends in flight are cancelled and their rows stay pending for
// the next run. Run returns nil after a cancellation.
func (p *Pipeline) Run(ctx context.Context, sub *event.Subscription) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer p.running.Store(false)
	if n, err := p.st.RescheduleOutbox(ctx, time.Now()); err != nil {
		// Not fatal: the rows are still delivered, at their old times.
		p.log.Warn("cannot reschedule pending notifications", "error", err)
	} else if n > 0 {
		p.log.Info("notifications left pending by the previous run are due now", "rows", n)
	}
	if n, err := p.st.ReleaseOutboxLeases(ctx, p.opts.Owner); err != nil {
		p.log.Warn("cannot release the notifications claimed by the previous run", "error", err)
	} else if n > 0 {
		p.log.Info("notifications claimed by the previous run are free again", "rows", n)
	}
	p.releaseOrphans(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { p.dispatch(ctx) })
	wg.Go(func() { p.prune(ctx) })
	if sub != nil {
		p.ingest(ctx, sub)
	}
	wg.Wait()
	return nil
}

// releaseOrphans releases the held fallbacks of notifiers no longer
// configured: nothing would ever release them otherwise.
func (p *Pipeline) releaseOrphans(ctx context.Context) {
	p.instMu.Lock()
	names := make([]string, 0, len(p.instances))
	for _, in := range p.instances {
		names = append(names, in.Name)
	}
	p.instMu.Unlock()
	if n, err := p.st.ReleaseOrphanedOutbox(ctx, time.Now(), names); err != nil {
		p.log.Warn("cannot release fallbacks of removed notifiers", "error", err)
	} else if n > 0 {
		p.log.Info("released fallback notifications whose primary notifier is no longer configured", "rows", n)
	}
}

// SetInstances replaces the notifiers (a reload): events committed from
// now on are filtered for the new set. Rows already in the outbox keep
// their instance; those of a removed one are not sent anywhere else.
func (p *Pipeline) SetInstances(ctx context.Context, instances []Instance) error {
	if err := CheckInstances(instances); err != nil {
		return fmt.Errorf("notification pipeline: %w", err)
	}
	p.enqMu.Lock()
	p.instMu.Lock()
	p.instances = instances
	p.instMu.Unlock()
	p.enqMu.Unlock()
	// A removed notifier's health goes too (Health lists it again while
	// the outbox still holds rows of it).
	p.health.mu.Lock()
	for name := range p.health.by {
		if !acceptedBy(instances, name) {
			delete(p.health.by, name)
		}
	}
	p.health.mu.Unlock()
	p.releaseOrphans(ctx)
	p.poke()
	return nil
}

// ingest moves events from the bus to the outbox, committing whatever has
// accumulated in one transaction.
func (p *Pipeline) ingest(ctx context.Context, sub *event.Subscription) {
	batch := make([]event.Event, 0, maxBatch)
	for {
		select {
		case <-ctx.Done():
			p.drain(sub)
			return
		case e, ok := <-sub.C:
			if !ok {
				<-ctx.Done()
				return
			}
			batch = append(batch[:0], e)
		fill:
			for len(batch) < maxBatch {
				select {
				case e, ok := <-sub.C:
					if !ok {
						break fill
					}
					batch = append(batch, e)
				default:
					break fill
				}
			}
			p.enqueueRetrying(ctx, batch)
		}
	}
}

// enqueueRetrying retries a failing outbox write (a full disk, a locked
// file) rather than drop events: the bus is lossless, so the wait pushes
// back on the publisher instead of losing anything.
func (p *Pipeline) enqueueRetrying(ctx context.Context, batch []event.Event) {
	delay := 100 * time.Millisecond
	for {
		_, err := p.Enqueue(ctx, batch...)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			// Shutting down: one last try outside the cancelled context.
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = p.Enqueue(sctx, batch...)
			cancel()
			if err != nil {
				p.log.Error("notifications lost at shutdown: outbox write failed", "events", len(batch), "error", err)
			}
			return
		}
		p.log.Error("cannot write notifications to the outbox; retrying", "events", len(batch), "retry_in", delay, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

// drain enqueues what the bus already handed over, so a clean shutdown loses
// no event that was published before it.
func (p *Pipeline) drain(sub *event.Subscription) {
	var batch []event.Event
	for {
		select {
		case e, ok := <-sub.C:
			if ok {
				batch = append(batch, e)
				continue
			}
		default:
		}
		break
	}
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.Enqueue(ctx, batch...); err != nil {
		p.log.Error("notifications lost at shutdown: outbox write failed", "events", len(batch), "error", err)
	}
}

// result is one finished Send.
type result struct {
	row store.OutboxRow
	err error
	// aborted: the Send was cut short by shutdown; not an attempt.
	aborted bool
}

// dispatch is the single goroutine that decides what to send. Being the
// only one to claim due rows and to record results is what makes the
// in-flight set safe: a row is forgotten as in flight only after its result
// is committed. Rows are claimed (store.ClaimOutbox) so that masters
// sharing a database never send one row at the same time; a claimed row
// is nobody else's until its lease ends, in flight here or not.
func (p *Pipeline) dispatch(ctx context.Context) {
	workers := p.opts.Workers
	inflight := make(map[int64]bool, workers)
	busy := 0 // sends (single or batch) in flight
	done := make(chan []result, workers)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var pending []result
	// unrecorded are outcomes whose commit failed (the database away):
	// committed again on the next turns, under the claims they were sent
	// under, rather than forgotten, which would send their rows again
	// once those claims ran out, to receivers that have them already.
	// Their rows stay in flight meanwhile.
	var unrecorded []store.OutboxResult
	// carry holds rows claimed for this master that no send took yet.
	var carry []claimed
	errDelay := 100 * time.Millisecond

	record := func() {
		for _, r := range pending {
			if r.aborted {
				delete(inflight, r.row.ID) // not an attempt: nothing to record
			}
		}
		unrecorded = append(unrecorded, p.outcomes(pending)...)
		pending = pending[:0]
		if len(unrecorded) == 0 {
			return
		}
		if err := p.complete(unrecorded); err != nil {
			if ctx.Err() == nil {
				p.log.Error("cannot record delivery results; will retry", "results", len(unrecorded), "retry_in", errDelay, "error", err)
				errDelay = min(errDelay*2, maxErrDelay)
				return
			}
			// Shutting down: the rows stay pending in the database and
			// are sent again (at least once), which beats losing them.
			p.log.Error("cannot record delivery results at shutdown; they will be sent again", "results", len(unrecorded), "error", err)
		}
		for _, r := range unrecorded {
			delete(inflight, r.ID)
		}
		unrecorded = unrecorded[:0]
	}

	for {
		// Collect every finished Send, commit them together.
	collect:
		for {
			select {
			case rs := <-done:
				pending = append(pending, rs...)
				busy--
			default:
				break collect
			}
		}
		record()

		if ctx.Err() != nil {
			for ; busy > 0; busy-- {
				pending = append(pending, <-done...)
				record()
			}
			return
		}

		wait := time.Duration(-1)
		now := time.Now()
		// No claim while outcomes wait for the database: a claim could
		// take one of their own rows again, and fence their result off.
		if free := workers - busy; free > 0 && len(unrecorded) == 0 {
			// Rows claimed on an earlier turn that found no free send are
			// sent first, while the claim is young; an older one is left
			// to run out, for whoever claims the row next.
			kept := carry[:0]
			for _, c := range carry {
				if now.Sub(c.at) < p.opts.Lease/2 {
					kept = append(kept, c)
				}
			}
			carry = kept
			rows, err := p.st.ClaimOutbox(ctx, p.opts.Owner, now, p.opts.Lease, max(0, free*p.batchSize()-len(carry)))
			if err != nil {
				if ctx.Err() == nil {
					p.log.Error("cannot read due notifications", "retry_in", errDelay, "error", err)
				}
				wait, errDelay = errDelay, min(errDelay*2, maxErrDelay)
			} else {
				errDelay = 100 * time.Millisecond
				fresh := make([]store.OutboxRow, 0, len(carry)+len(rows))
				for _, c := range carry {
					fresh = append(fresh, c.row)
				}
				claimedAt := map[int64]time.Time{}
				for _, c := range carry {
					claimedAt[c.row.ID] = c.at
				}
				for _, row := range rows {
					if !inflight[row.ID] {
						fresh = append(fresh, row)
						claimedAt[row.ID] = now
					}
				}
				groups := p.groups(fresh, free)
				sent := map[int64]bool{}
				for _, group := range groups {
					for _, row := range group {
						sent[row.ID] = true
					}
				}
				carry = carry[:0]
				for _, row := range fresh {
					if !sent[row.ID] {
						carry = append(carry, claimed{row: row, at: claimedAt[row.ID]})
					}
				}
				for _, group := range groups {
					for _, row := range group {
						inflight[row.ID] = true
					}
					busy++
					go p.deliver(ctx, group, done)
				}
			}
		}
		if wait < 0 {
			next, ok, err := p.st.NextOutboxAttempt(ctx, now)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					p.log.Error("cannot read the next notification attempt", "error", err)
				}
				wait = errDelay
			case ok:
				wait = max(time.Until(next), time.Millisecond)
			}
		}
		if len(unrecorded) > 0 && (wait < 0 || wait > errDelay) {
			// Outcomes wait for the database: try them again soon.
			wait = errDelay
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
		case <-p.wake:
		case rs := <-done:
			pending = append(pending, rs...)
			busy--
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// claimed is a row this master claimed (at) and has not sent yet.
type claimed struct {
	row store.OutboxRow
	at  time.Time
}

// batchSize is how many rows one send may carry: 1 unless the Sender
// takes batches.
func (p *Pipeline) batchSize() int {
	if _, ok := p.opts.Sender.(BatchSender); ok {
		return p.opts.BatchSize
	}
	return 1
}

// groups splits due rows into at most limit sends: an instance that takes
// batches gets its rows together, BatchSize at most per send (ClaimOutbox
// gives at most one row per instance and host, so a batch never holds two
// of one host); any other row is a send of its own. Rows left over wait
// for the next turn.
func (p *Pipeline) groups(rows []store.OutboxRow, limit int) [][]store.OutboxRow {
	bs, _ := p.opts.Sender.(BatchSender)
	batches := map[string]bool{}
	var out [][]store.OutboxRow
	open := map[string]int{} // instance → index in out of its open group
	for _, row := range rows {
		in := row.Instance
		if _, asked := batches[in]; !asked {
			batches[in] = bs != nil && p.opts.BatchSize > 1 && bs.Batches(in)
		}
		if i, ok := open[in]; ok && len(out[i]) < p.opts.BatchSize {
			out[i] = append(out[i], row)
			continue
		}
		if len(out) == limit {
			continue
		}
		if batches[in] {
			open[in] = len(out)
		}
		out = append(out, []store.OutboxRow{row})
	}
	return out
}

// deliver runs one send of rows (one row, or a batch for one instance) and
// reports their results on done (buffered to the number of workers, so
// this never blocks).
func (p *Pipeline) deliver(ctx context.Context, rows []store.OutboxRow, done chan<- []result) {
	results := make([]result, len(rows))
	ns := make([]*Notification, 0, len(rows))
	at := make([]int, 0, len(rows))
	for i, row := range rows {
		results[i].row = row
		var n Notification
		if err := json.Unmarshal(row.Payload, &n); err != nil {
			// Cannot succeed on any retry: straight to the dead letters.
			results[i].err = fmt.Errorf("%w: decode payload: %w", errPermanent, err)
			continue
		}
		ns, at = append(ns, &n), append(at, i)
	}
	if len(ns) > 0 {
		sctx, cancel := context.WithTimeout(ctx, p.opts.SendTimeout)
		errs := p.safeSend(sctx, rows[0].Instance, ns)
		cancel()
		for j, i := range at {
			results[i].err = errs[j]
			results[i].aborted = errs[j] != nil && ctx.Err() != nil
		}
	}
	done <- results
}

var errPermanent = errors.New("permanent failure")

// safeSend sends ns to instance, in one batch when there are several (the
// Sender is then a BatchSender), and returns one error per notification.
// It turns a Sender's panic into errors: one broken notifier must not take
// the daemon down with it.
func (p *Pipeline) safeSend(ctx context.Context, instance string, ns []*Notification) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			errs = fill(len(ns), fmt.Errorf("sender panicked: %v", r))
		}
	}()
	if len(ns) == 1 {
		return []error{p.opts.Sender.Send(ctx, instance, ns[0])}
	}
	errs, err := p.opts.Sender.(BatchSender).SendBatch(ctx, instance, ns)
	if err != nil {
		return fill(len(ns), err)
	}
	if len(errs) != len(ns) {
		return fill(len(ns), fmt.Errorf("%w: the sender answered %d results for %d notifications", ErrUnavailable, len(errs), len(ns)))
	}
	return errs
}

func fill(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// maxErrDelay caps the dispatcher's wait between two tries of a failing
// database: once it is back, what waits goes out within this.
const maxErrDelay = 5 * time.Second

// outcomes turns finished Sends into the results to record (counting
// them, logging them and updating the health of their instances, once
// per Send), leaving out those cut short by shutdown.
func (p *Pipeline) outcomes(results []result) []store.OutboxResult {
	now := time.Now()
	out := make([]store.OutboxResult, 0, len(results))
	for _, r := range results {
		if r.aborted {
			continue
		}
		res := store.OutboxResult{ID: r.row.ID, EventID: r.row.EventID, Instance: r.row.Instance, Err: r.err, Lease: r.row.Lease}
		poison := false
		if errors.Is(r.err, ErrInterrupted) {
			p.interrupted[r.row.ID]++
			poison = p.interrupted[r.row.ID] >= p.opts.MaxInterruptions
		}
		if poison || !errors.Is(r.err, ErrUnavailable) {
			// Dead, or a receiver answered: the count starts again. A try
			// while the plugin is still down (unavailable, not
			// interrupted) neither adds to it nor clears it.
			delete(p.interrupted, r.row.ID)
		}
		switch {
		case poison:
			// Counted as an attempt and dead-lettered: the queue behind
			// it moves, and the operator sees which row and why.
			res.Err = fmt.Errorf("the notifier stopped during each of %d sends of this notification in a row, so it is taken for the cause: %w",
				p.opts.MaxInterruptions, r.err)
			res.Dead = true
			p.failed.Add(1)
			p.deadLettered.Add(1)
			p.health.failed(r.row.Instance, now, r.err, true)
			p.log.Error("notification dead-lettered: its notifier stops every time it is sent; retry it from the API", "instance", r.row.Instance,
				"host", r.row.Host, "event_id", r.row.EventID, "id", r.row.ID, "sends", p.opts.MaxInterruptions, "error", r.err)
		case r.err == nil:
			p.delivered.Add(1)
			p.health.succeeded(r.row.Instance, now)
			p.log.Debug("notification delivered", "instance", r.row.Instance, "host", r.row.Host,
				"event_id", r.row.EventID, "attempt", r.row.Attempts+1)
		case errors.Is(r.err, ErrUnavailable) && !errors.Is(r.err, context.DeadlineExceeded):
			// (A Send that ran out of time may have reached its receiver:
			// that one is an attempt.)
			// Nobody received it: not an attempt. Fallbacks are released
			// all the same, so a crashed notifier does not silence a
			// problem its fallback could report.
			res.NotAttempt = true
			res.NextAttempt = now.Add(UnavailableRetry)
			p.log.Debug("notifier unavailable; notification waits for it", "instance", r.row.Instance,
				"host", r.row.Host, "event_id", r.row.EventID, "error", r.err)
		default:
			p.failed.Add(1)
			attempt := r.row.Attempts + 1
			res.Dead = attempt >= p.opts.MaxAttempts || errors.Is(r.err, errPermanent)
			p.health.failed(r.row.Instance, now, r.err, res.Dead)
			if res.Dead {
				p.deadLettered.Add(1)
				p.log.Error("notification dead-lettered; retry it from the API", "instance", r.row.Instance,
					"host", r.row.Host, "event_id", r.row.EventID, "id", r.row.ID, "attempts", attempt, "error", r.err)
			} else {
				delay := backoff(attempt, p.opts.BackoffBase, p.opts.BackoffMax, rand.Float64)
				res.NextAttempt = now.Add(delay)
				p.log.Warn("notification delivery failed; will retry", "instance", r.row.Instance,
					"host", r.row.Host, "event_id", r.row.EventID, "attempt", attempt, "retry_in", delay, "error", r.err)
			}
		}
		out = append(out, res)
	}
	return out
}

// complete commits outcomes in one transaction.
func (p *Pipeline) complete(out []store.OutboxResult) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	refused, err := p.st.CompleteOutbox(ctx, time.Now(), out...)
	for _, id := range refused {
		// Its Send outlived the lease and another master claimed the
		// row: that one's result counts (the receiver may hear twice).
		p.log.Warn("delivery result refused: the claim on the notification ran out and another master took it", "id", id)
	}
	return err
}

// backoff is the delay after the attempt-th failure: base·2^(attempt-1)
// capped at maxDelay, with "equal jitter" (half fixed, half random) so
// notifiers failing together do not retry in lockstep, while each delay
// stays at least half the nominal one and the sequence never decreases
// before the cap.
func backoff(attempt int, base, maxDelay time.Duration, rnd func() float64) time.Duration {
	d := maxDelay
	if attempt < 1 {
		attempt = 1
	}
	if shift := attempt - 1; shift < 32 {
		if nominal := base << shift; nominal > 0 && nominal < maxDelay {
			d = nominal
		}
	}
	half := d / 2
	return half + time.Duration(rnd()*float64(d-half))
}

// prune deletes old delivered rows once an hour.
func (p *Pipeline) prune(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := p.st.PruneOutbox(ctx, time.Now().Add(-p.opts.Retention))
			if err != nil && ctx.Err() == nil {
				p.log.Warn("cannot prune delivered notifications", "error", err)
			} else if n > 0 {
				p.log.Debug("pruned delivered notifications", "rows", n)
			}
		}
	}
}

// Resume sends instance's pending notifications now: its notifier is back
// (the plugin manager reports it running again), so what waited for it
// goes out at once rather than at its backed-off time.
func (p *Pipeline) Resume(ctx context.Context, instance string) error {
	n, err := p.st.ResumeOutbox(ctx, instance, time.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		p.log.Info("notifier back: pending notifications resumed", "instance", instance, "notifications", n)
	}
	p.poke()
	return nil
}

// Retry turns the dead letter id back into a pending notification and wakes
// the dispatcher. Errors wrap store.ErrNotFound or store.ErrNotDead.
func (p *Pipeline) Retry(ctx context.Context, id int64) error {
	if err := p.st.RetryOutbox(ctx, id, time.Now()); err != nil {
		return err
	}
	p.log.Info("dead letter queued again", "id", id)
	p.poke()
	return nil
}

// Stats returns the counters; the gauges come from the outbox (a quick
// grouped count), the totals from this process.
func (p *Pipeline) Stats() Stats {
	s := Stats{Delivered: p.delivered.Load(), Failed: p.failed.Load(), DeadLettered: p.deadLettered.Load()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := p.st.CountOutbox(ctx)
	if err != nil {
		p.log.Warn("cannot count outbox rows", "error", err)
		return s
	}
	s.Pending, s.Held, s.Dead = counts[store.OutboxPending], counts[store.OutboxHeld], counts[store.OutboxDead]
	return s
}
