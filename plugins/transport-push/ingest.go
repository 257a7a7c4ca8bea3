package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wigo-project/wigo/sdk"
)

// Batching of updates into the core. Thousands of clients each sending an
// update every few seconds would otherwise cost one gRPC call to the core
// per update, which measured as about half of the master's CPU; batched,
// the call is paid once per batch. Each session has at most one update in
// flight (it waits for the core's answer before acknowledging), so batches
// never reorder a client's updates.
const (
	// batchLinger is how long a batch waits for company after its first
	// update: the latency added to an acknowledgement at low load.
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

// ingester hands session updates to the core, in batches when the core
// takes them (sdk.BatchHost), else one Ingest per document.
type ingester struct {
	log   hclog.Logger
	host  sdk.Host
	batch sdk.BatchHost
	// single is set once the core answered that it takes no batches.
	single atomic.Bool
	in     chan *pendingUpdate
	stop   chan struct{}
	wg     sync.WaitGroup
}

type pendingUpdate struct {
	u    sdk.Update
	size int
	done chan error
}

func newIngester(log hclog.Logger, host sdk.Host) *ingester {
	in := &ingester{log: log, host: host, in: make(chan *pendingUpdate, batchMax), stop: make(chan struct{})}
	in.batch, _ = host.(sdk.BatchHost)
	if in.batch != nil {
		for range batchWorkers {
			in.wg.Add(1)
			go in.run()
		}
	}
	return in
}

// close stops the workers; updates still waiting are answered with an error.
func (in *ingester) close() {
	close(in.stop)
	in.wg.Wait()
	for {
		select {
		case p := <-in.in:
			p.done <- errStopping
		default:
			return
		}
	}
}

// ingest hands u to the core and returns its answer: nil, a *sdk.RemoteError
// (parts refused), sdk.ErrNeedDocument (a patch the core cannot apply), or
// another error when the core could not be reached.
func (in *ingester) ingest(ctx context.Context, u sdk.Update) error {
	size := len(u.Document)
	for _, p := range u.Probes {
		size += len(p.JSON)
	}
	if in.batch == nil || in.single.Load() || size > batchSoloBytes {
		return in.one(ctx, u)
	}
	p := &pendingUpdate{u: u, size: size, done: make(chan error, 1)}
	select {
	case in.in <- p:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-in.stop:
		return errStopping
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// one ingests u on its own: documents through Ingest, patches through a
// batch of one (or, for a core without batches, as a request for the
// document).
func (in *ingester) one(ctx context.Context, u sdk.Update) error {
	if len(u.Document) > 0 {
		return in.host.Ingest(ctx, u.Source, u.Document)
	}
	if in.batch == nil || in.single.Load() {
		return sdk.ErrNeedDocument
	}
	errs, err := in.batch.IngestBatch(ctx, []sdk.Update{u})
	if err != nil {
		return err
	}
	return errs[0]
}

func (in *ingester) run() {
	defer in.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var batch []*pendingUpdate
		select {
		case p := <-in.in:
			batch = append(batch, p)
		case <-in.stop:
			return
		}
		size := batch[0].size
		timer.Reset(batchLinger)
	collect:
		for len(batch) < batchMax && size < batchMaxBytes {
			select {
			case p := <-in.in:
				batch = append(batch, p)
				size += p.size
			case <-timer.C:
				break collect
			case <-in.stop:
				break collect
			}
		}
		timer.Stop()
		in.flush(batch)
	}
}

// flush sends one batch and answers each of its updates.
func (in *ingester) flush(batch []*pendingUpdate) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	updates := make([]sdk.Update, len(batch))
	for i, p := range batch {
		updates[i] = p.u
	}
	errs, err := in.batch.IngestBatch(ctx, updates)
	if status.Code(err) == codes.Unimplemented {
		// An older core: one Ingest per document from now on.
		if !in.single.Swap(true) {
			in.log.Info("the core takes no batches: ingesting documents one by one")
		}
		for _, p := range batch {
			p.done <- in.one(ctx, p.u)
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.done <- err
			continue
		}
		p.done <- errs[i]
	}
}
