package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// ErrWriterRunning is returned by RunWriter and Consume when the Store
// already has a batching writer: Flush's guarantee and the order of ids
// both rely on there being one.
var ErrWriterRunning = errors.New("a log writer is already running on this store")

// finalFlushTimeout bounds the retries of the last commit made after the
// writer's context is cancelled, so shutdown cannot hang on a broken disk.
const finalFlushTimeout = 10 * time.Second

// writerState is one run of the batching writer. Store.writer keeps the
// latest one, running or finished, so Flush knows whether to ask it or
// report how it ended.
type writerState struct {
	done chan struct{} // closed when the run has returned
	err  error         // its result, set before done is closed
}

// Consume runs the batching writer on a bus subscription (subscribe with
// Lossless: true, so a slow disk slows the publisher instead of losing
// rows). It returns when ctx is done or the subscription is closed, after
// committing every logged event it received. On ctx cancellation it closes
// sub first and then drains what the bus had already delivered, so nothing
// published before the close is lost and no publisher stays blocked on a
// consumer that is gone. Stop the producers before cancelling ctx for a
// shutdown that loses nothing.
func (s *Store) Consume(ctx context.Context, sub *event.Subscription) error {
	defer sub.Close()
	return s.runWriter(ctx, sub.C, sub.Close)
}

// RunWriter is the batching writer on a plain channel: it keeps the events
// whose Logged() is true (log rows) or that change a host's record (see
// Hosts: what a restart restores) and commits them in transactions of up
// to Options.BatchSize events, at the latest Options.FlushInterval after
// the first event of a batch arrived; a log row and the host record it
// goes with are committed together. It returns nil when events is closed or ctx
// is done, after committing everything received, including whatever was
// already buffered in events when ctx was cancelled.
//
// A failing commit is retried with backoff, holding the batch and reading
// no further events, so a full or read-only disk turns into back-pressure,
// never into silently dropped rows. An error is returned only when the last
// batch still cannot be committed at shutdown, or the Store was closed.
//
// A Store runs one writer at a time (ErrWriterRunning otherwise): Flush's
// guarantee and ids in arrival order both rely on it.
func (s *Store) RunWriter(ctx context.Context, events <-chan event.Event) error {
	return s.runWriter(ctx, events, nil)
}

// Flush returns once every logged event that the writer had received, or
// that was waiting in its channel, when Flush was called is committed. For
// a Consume writer that means every event whose Publish returned before
// Flush was called.
//
// When no writer has started yet, Flush waits for one, so calling it right
// after `go s.Consume(...)` is not a race. When the last writer has already
// returned, Flush returns its result at once: it committed everything it
// received on its way out. Flush gives up with ctx's error if ctx ends
// first.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	w, closed := s.writer, s.closed
	s.mu.Unlock()
	if w == nil && closed {
		return ErrClosed
	}
	var done <-chan struct{} // nil (never ready) before any writer
	if w != nil {
		done = w.done
	}
	reply := make(chan error, 1)
	select {
	case s.flushReq <- reply:
	case <-done:
		return w.err
	case <-ctx.Done():
		return fmt.Errorf("flush logs: %w", ctx.Err())
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("flush logs: %w", ctx.Err())
	}
}

func (s *Store) runWriter(ctx context.Context, events <-chan event.Event, closeSource func()) (err error) {
	w := &writerState{done: make(chan struct{})}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.writerRunning:
		s.mu.Unlock()
		return ErrWriterRunning
	}
	s.writer = w
	s.writerRunning = true
	outbox := s.outbox
	s.mu.Unlock()
	defer func() {
		w.err = err
		s.mu.Lock()
		s.writerRunning = false
		s.mu.Unlock()
		close(w.done)
	}()

	size := s.opts.BatchSize
	batch := make([]event.Event, 0, size)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var due <-chan time.Time // non-nil while a batch is waiting

	// commit writes the batch in transactions of at most size rows,
	// retrying until it succeeds or stop is done. Committed rows leave the
	// batch at once, so a failure half-way never commits a row twice.
	//
	// The metric points waiting (points) ride in the first transaction;
	// without a batch they are committed alone, when histDue fires or
	// historyBatch of them wait: one commit every few seconds rather than
	// one per probe result.
	var points []point
	histTimer := time.NewTimer(time.Hour)
	histTimer.Stop()
	var histDue <-chan time.Time // non-nil while points are waiting
	commit := func(stop context.Context) error {
		for len(batch) > 0 || len(points) > 0 {
			n := min(len(batch), size)
			if err := s.commitWithRetry(stop, batch[:n], outbox, points); err != nil {
				return err
			}
			batch = append(batch[:0], batch[n:]...)
			points = points[:0]
		}
		timer.Stop()
		due = nil
		histTimer.Stop()
		histDue = nil
		return nil
	}
	// With an outbox every event is the batch's business: one that is
	// neither logged nor recorded may still be notified.
	// But a probe_updated that is not kept came for its metrics only
	// (historyPoints): it is no notifier's kind.
	keep := kept
	if outbox != nil {
		keep = func(e event.Event) bool { return !e.Shared && (e.Kind != event.ProbeUpdated || kept(e)) }
	}
	add := func(e event.Event) error {
		waiting := len(points)
		if points = s.historyPoints(points, e); waiting == 0 && len(points) > 0 {
			histTimer.Reset(s.opts.History.Flush)
			histDue = histTimer.C
		}
		if !keep(e) {
			if len(points) >= historyBatch {
				return commit(ctx)
			}
			return nil
		}
		batch = append(batch, e)
		if len(batch) == 1 {
			timer.Reset(s.opts.FlushInterval)
			due = timer.C
		}
		if len(batch) >= size {
			return commit(ctx)
		}
		return nil
	}
	// finish commits what is left with a bounded amount of retrying,
	// whatever the state of ctx.
	finish := func() error {
		fctx, cancel := context.WithTimeout(context.Background(), finalFlushTimeout)
		defer cancel()
		if err := commit(fctx); err != nil {
			return fmt.Errorf("log writer: %d rows not committed at shutdown: %w", len(batch), err)
		}
		return nil
	}

	for {
		select {
		case e, ok := <-events:
			if !ok {
				return finish()
			}
			if err := add(e); errors.Is(err, ErrClosed) {
				return fmt.Errorf("log writer: %w", err)
			}
			// Any other error means ctx is done: the next turn takes the
			// ctx.Done branch, which drains and retries.

		case <-due:
			due = nil
			if err := commit(ctx); errors.Is(err, ErrClosed) {
				return fmt.Errorf("log writer: %w", err)
			}

		case <-histDue:
			histDue = nil
			if err := commit(ctx); errors.Is(err, ErrClosed) {
				return fmt.Errorf("log writer: %w", err)
			}

		case reply := <-s.flushReq:
			// Take exactly what is queued now: events queued later are not
			// this Flush's business, and a busy publisher must not keep it
			// waiting forever.
			closed := false
			for n := len(events); n > 0; n-- {
				e, ok := <-events
				if !ok {
					closed = true
					break
				}
				if err := add(e); err != nil {
					break
				}
			}
			if err := commit(ctx); err != nil {
				reply <- fmt.Errorf("flush logs: %w", err)
			} else {
				reply <- nil
			}
			if closed {
				return finish()
			}

		case <-ctx.Done():
			if closeSource != nil {
				// Closing the subscription makes the bus stop sending and
				// close the channel; everything it delivered before that
				// is still in the buffer and is drained here.
				closeSource()
				for e := range events {
					points = s.historyPoints(points, e)
					if keep(e) {
						batch = append(batch, e)
					}
				}
			} else {
				for n := len(events); n > 0; n-- {
					e, ok := <-events
					if !ok {
						break
					}
					points = s.historyPoints(points, e)
					if keep(e) {
						batch = append(batch, e)
					}
				}
			}
			return finish()
		}
	}
}

// kept reports whether the writer stores anything for e: a log row, a
// change to the record of hosts and probes or to the acknowledgements,
// silences, soft changes and problems a restart restores.
//
// A change another master made (Shared) is that master's to store.
func kept(e event.Event) bool {
	if e.Shared {
		return false
	}
	return e.Logged() || recordsHost(e) || recordsAck(e) || recordsSilence(e) || recordsSoft(e) || recordsProblem(e)
}

// commitWithRetry stores a batch of events in one transaction (their log
// rows, their changes to the record of hosts and, with an outbox, their
// notifications) with the metric points waiting, retrying a failure with
// capped exponential backoff until it succeeds, stop is done or the Store is
// closed. The insert itself runs on a background context: cancelling stop
// must never abort a commit under way.
func (s *Store) commitWithRetry(stop context.Context, events []event.Event, outbox Outbox, points []point) error {
	var entries []OutboxEntry
	if outbox != nil && len(events) > 0 {
		var err error
		if entries, err = outbox.Prepare(events); err != nil {
			// Only an unencodable event gets here; its log row and host
			// record are still worth keeping.
			s.log.Error("notifications of a batch not queued", "events", len(events), "error", err)
		}
	}
	backoff := 50 * time.Millisecond
	logged := 0
	for _, e := range events {
		if e.Logged() {
			logged++
		}
	}
	for attempt := 1; ; attempt++ {
		err := s.insertEvents(context.Background(), events, entries, points...)
		if err == nil {
			if attempt > 1 {
				s.log.Info("log rows committed after retrying", "events", len(events), "attempts", attempt)
			}
			break
		}
		if errors.Is(err, ErrClosed) || s.isClosed() {
			return ErrClosed
		}
		s.log.Error("committing log rows failed, will retry", "events", len(events), "attempt", attempt, "retry_in", backoff, "error", err)
		t := time.NewTimer(backoff)
		select {
		case <-stop.Done():
			t.Stop()
			return fmt.Errorf("commit %d events: %w", len(events), err)
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	if len(entries) > 0 {
		outbox.Committed(entries)
	}
	if s.opts.OnCommit != nil && logged > 0 {
		s.opts.OnCommit(logged)
	}
	s.log.Trace("events committed", "events", len(events), "log_rows", logged, "metric_points", len(points))
	return nil
}
