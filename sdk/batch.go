package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Batching of updates into the core. Thousands of remotes each sending an
// update every few seconds would otherwise cost one gRPC call to the core
// per update, which measured as about half of a push master's CPU; batched,
// the call is paid once per batch.
const (
	// batchLinger is how long a batch waits for company after its first
	// update by default (WithLinger): the latency added to an
	// acknowledgement at low load.
	batchLinger = 5 * time.Millisecond
	// batchMax and batchMaxBytes bound one call; documents bigger than
	// batchSoloBytes (a mid master's whole tree) go on their own.
	batchMax       = 512
	batchMaxBytes  = 8 << 20
	batchSoloBytes = 1 << 20
	// batchWorkers calls may be in flight at once, so one slow batch does
	// not hold back every client.
	batchWorkers = 2
	// batchTimeout bounds one call to the core.
	batchTimeout = 30 * time.Second
)

// Batcher hands updates from many goroutines to the core in IngestBatch
// calls, when the core takes them (BatchHost), else one Ingest per
// document. Updates from one goroutine keep their order when it waits for
// each answer (Ingest returns once the core has answered), as a transport
// that acknowledges what the core stored does.
type Batcher struct {
	log    hclog.Logger
	host   Host
	batch  BatchHost
	linger time.Duration
	// single is set once the core answered that it takes no batches.
	single atomic.Bool
	queue  chan *pendingUpdate
	stop   chan struct{}
	wg     sync.WaitGroup
}

type pendingUpdate struct {
	u    Update
	size int
	done chan error
}

// ErrBatcherClosed answers updates handed to a closed Batcher.
var ErrBatcherClosed = errors.New("batcher closed")

// BatcherOption configures a Batcher.
type BatcherOption func(*Batcher)

// WithLinger sets how long a batch waits for company after its first
// update (5 ms by default): the latency added to each answer, against
// how many updates share one call to the core. Updates nobody waits on
// in a hurry (a host that answered with nothing new) can wait a good
// part of a second, and then cost the core one call per hundreds.
func WithLinger(d time.Duration) BatcherOption {
	return func(b *Batcher) {
		if d > 0 {
			b.linger = d
		}
	}
}

// NewBatcher returns a Batcher over host; log says when the core takes no
// batches. Close it when done.
func NewBatcher(log hclog.Logger, host Host, opts ...BatcherOption) *Batcher {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	b := &Batcher{log: log, host: host, linger: batchLinger, queue: make(chan *pendingUpdate, batchMax), stop: make(chan struct{})}
	for _, o := range opts {
		o(b)
	}
	b.batch, _ = host.(BatchHost)
	if b.batch != nil {
		for range batchWorkers {
			b.wg.Add(1)
			go b.run()
		}
	}
	return b
}

// Close stops the workers; updates still waiting are answered with
// ErrBatcherClosed.
func (b *Batcher) Close() {
	close(b.stop)
	b.wg.Wait()
	for {
		select {
		case p := <-b.queue:
			p.done <- ErrBatcherClosed
		default:
			return
		}
	}
}

// TakesPatches reports whether the core takes probe patches (and so the
// patch of nothing that says a host answered unchanged): it takes
// batches, and has not answered that it does not. A transport that could
// send a patch sends the document instead when it does not.
func (b *Batcher) TakesPatches() bool { return b.batch != nil && !b.single.Load() }

// Ingest hands u to the core and returns its answer: nil, a *RemoteError
// (parts refused), ErrNeedDocument (a patch the core cannot apply), or
// another error when the core could not be reached.
func (b *Batcher) Ingest(ctx context.Context, u Update) error {
	size := len(u.Document)
	for _, p := range u.Probes {
		size += len(p.JSON)
	}
	if b.batch == nil || b.single.Load() || size > batchSoloBytes {
		return b.one(ctx, u)
	}
	select {
	case <-b.stop:
		return ErrBatcherClosed
	default:
	}
	p := &pendingUpdate{u: u, size: size, done: make(chan error, 1)}
	select {
	case b.queue <- p:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-b.stop:
		return ErrBatcherClosed
	}
	// done is buffered: an answer that comes after stop or ctx is dropped.
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-b.stop:
		return ErrBatcherClosed
	}
}

// one ingests u on its own: documents through Ingest, patches through a
// batch of one (or, for a core without batches, as a request for the
// document).
func (b *Batcher) one(ctx context.Context, u Update) error {
	if len(u.Document) > 0 {
		return b.host.Ingest(ctx, u.Source, u.Document)
	}
	if b.batch == nil || b.single.Load() {
		return ErrNeedDocument
	}
	errs, err := b.batch.IngestBatch(ctx, []Update{u})
	if err != nil {
		return err
	}
	return errs[0]
}

func (b *Batcher) run() {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var batch []*pendingUpdate
		select {
		case p := <-b.queue:
			batch = append(batch, p)
		case <-b.stop:
			return
		}
		size := batch[0].size
		timer.Reset(b.linger)
	collect:
		for len(batch) < batchMax && size < batchMaxBytes {
			select {
			case p := <-b.queue:
				batch = append(batch, p)
				size += p.size
			case <-timer.C:
				break collect
			case <-b.stop:
				break collect
			}
		}
		timer.Stop()
		b.flush(batch)
	}
}

// flush sends one batch and answers each of its updates.
func (b *Batcher) flush(batch []*pendingUpdate) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	updates := make([]Update, len(batch))
	for i, p := range batch {
		updates[i] = p.u
	}
	errs, err := b.batch.IngestBatch(ctx, updates)
	if status.Code(err) == codes.Unimplemented {
		// An older core: one Ingest per document from now on.
		if !b.single.Swap(true) {
			b.log.Info("the core takes no batches: ingesting documents one by one")
		}
		for _, p := range batch {
			p.done <- b.one(ctx, p.u)
		}
		return
	}
	if err == nil && len(errs) != len(batch) {
		err = fmt.Errorf("ingest batch: %d answers for %d updates", len(errs), len(batch))
	}
	for i, p := range batch {
		if err != nil {
			p.done <- err
			continue
		}
		p.done <- errs[i]
	}
}
