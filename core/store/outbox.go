package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// OutboxState is the life-cycle state of an outbox row. See
// migrations/0002_outbox.sql for what each one means.
type OutboxState string

// The states of an outbox row.
const (
	// OutboxPending rows wait for their first or next delivery attempt.
	OutboxPending OutboxState = "pending"
	// OutboxHeld rows are fallbacks waiting for their primary to fail.
	OutboxHeld OutboxState = "held"
	// OutboxDelivered rows were sent successfully.
	OutboxDelivered OutboxState = "delivered"
	// OutboxDead rows exhausted their attempts: dead letters.
	OutboxDead OutboxState = "dead"
	// OutboxCancelled rows are fallbacks whose primary succeeded.
	OutboxCancelled OutboxState = "cancelled"
)

// ErrNotFound is returned when a row asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// ErrNotDead is returned by RetryOutbox for a row that is not a dead letter:
// retrying a pending or delivered row would send it twice for no reason.
var ErrNotDead = errors.New("outbox row is not a dead letter")

// OutboxEntry is one notification to enqueue for one notifier instance.
type OutboxEntry struct {
	// EventID identifies the event; every instance's row of one event
	// shares it, which is how a fallback row finds its primary.
	EventID string
	// Instance is the notify block's label.
	Instance string
	// Host orders delivery: rows of one (Instance, Host) are sent in id
	// order, one at a time.
	Host string
	// Payload is the notification as sent, built once so retries resend
	// the same bytes.
	Payload []byte
	// FallbackFor, when set, makes the row held until the delivery of the
	// same event to that instance fails (then it becomes pending) or
	// succeeds (then it is cancelled).
	FallbackFor string
	// Key, when set, names the change the row notifies the same way on
	// every master that observes it (IdempotencyKey): a second row with
	// the Key of one already queued for the same Instance is not inserted,
	// so masters sharing a database queue each change once.
	Key string
}

// IdempotencyKey is the Key of the notification of a probe's change:
// the host's UUID, the probe, the transition and the probe result's own
// time, which every master that pulls or is pushed the same result sees
// alike (its clock is the probed host's, not the master's).
func IdempotencyKey(hostUUID, probe string, kind event.Kind, from, to int, resultTime string) string {
	return fmt.Sprintf("%s/%s/%s/%d>%d/%s", hostUUID, probe, kind, from, to, resultTime)
}

// OutboxRow is a stored outbox row.
type OutboxRow struct {
	ID          int64
	EventID     string
	Instance    string
	Host        string
	State       OutboxState
	FallbackFor string
	Payload     []byte
	// Attempts is how many deliveries failed so far.
	Attempts int
	// NextAttempt is when a pending row becomes due.
	NextAttempt time.Time
	Created     time.Time
	Updated     time.Time
	// LastError is the error of the latest failed attempt.
	LastError string
	// LeaseOwner claimed the row for delivery until LeaseUntil
	// (ClaimOutbox); Lease is the generation of that claim, which its
	// result must carry (OutboxResult.Lease).
	LeaseOwner string
	LeaseUntil time.Time
	Lease      int64
}

// OutboxResult is the outcome of one delivery attempt, applied by
// RecordOutboxResults.
type OutboxResult struct {
	ID int64
	// EventID and Instance of the row, to release or cancel its fallbacks.
	EventID  string
	Instance string
	// Err is nil for a successful delivery.
	Err error
	// Dead marks a failure as the last attempt: the row becomes a dead
	// letter. Ignored when Err is nil.
	Dead bool
	// NextAttempt is when a failed, not dead, row is due again.
	NextAttempt time.Time
	// NotAttempt marks a failure that never reached a receiver (the
	// notifier plugin was not running): the row waits until NextAttempt
	// without spending one of its attempts.
	NotAttempt bool
	// Lease is the generation of the claim the row was delivered under
	// (OutboxRow.Lease of ClaimOutbox's row); the result is refused when
	// the row has been claimed again since. 0 (a row from DueOutbox)
	// applies the result whoever holds the row.
	Lease int64
}

const outboxColumns = "id, event_id, instance, host, state, fallback_for, payload, attempts, next_at, created_at, updated_at, last_error, lease_owner, lease_until, lease_gen"

func scanOutbox(rows *sql.Rows) (OutboxRow, error) {
	var r OutboxRow
	var state, payload string
	var next, created, updated, leased int64
	err := rows.Scan(&r.ID, &r.EventID, &r.Instance, &r.Host, &state, &r.FallbackFor, &payload,
		&r.Attempts, &next, &created, &updated, &r.LastError, &r.LeaseOwner, &leased, &r.Lease)
	r.State = OutboxState(state)
	r.Payload = []byte(payload)
	r.NextAttempt, r.Created, r.Updated = time.Unix(0, next), time.Unix(0, created), time.Unix(0, updated)
	if leased != 0 {
		r.LeaseUntil = time.Unix(0, leased)
	}
	return r, err
}

func collectOutbox(rows *sql.Rows) ([]OutboxRow, error) {
	defer rows.Close()
	out := []OutboxRow{}
	for rows.Next() {
		r, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EnqueueOutbox inserts entries in one transaction, in order (so ids, and
// with them the per-host delivery order, follow the slice), and returns
// their ids once committed, 0 for an entry whose Key was already queued
// for its instance (by another master). A row is durable when this
// returns nil: that is the at-least-once promise's starting point.
func (s *Store) EnqueueOutbox(ctx context.Context, now time.Time, entries ...OutboxEntry) ([]int64, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	ids, err := s.enqueueOutbox(ctx, now, entries)
	if err != nil {
		return nil, fmt.Errorf("enqueue %d notifications: %w", len(entries), err)
	}
	return ids, nil
}

func (s *Store) enqueueOutbox(ctx context.Context, now time.Time, entries []OutboxEntry) ([]int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	ids, err := insertOutbox(ctx, tx, now, entries)
	if err != nil {
		return nil, err
	}
	return ids, tx.Commit()
}

// insertOutbox inserts entries, in order, inside tx, but those whose Key
// is queued already (their id is 0).
func insertOutbox(ctx context.Context, tx *txn, now time.Time, entries []OutboxEntry) ([]int64, error) {
	query := `INSERT INTO outbox
		(event_id, instance, host, state, fallback_for, payload, next_at, created_at, updated_at, dedup_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	if tx.d.postgres {
		// pgx has no LastInsertId: the id comes back as a row.
		query += " RETURNING id"
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	ns := now.UnixNano()
	ids := make([]int64, 0, len(entries))
	for _, e := range entries {
		state := OutboxPending
		if e.FallbackFor != "" {
			state = OutboxHeld
		}
		var key any // NULL: no key, never a conflict
		if e.Key != "" {
			key = e.Key
		}
		args := []any{e.EventID, e.Instance, e.Host, string(state), e.FallbackFor, string(e.Payload), ns, ns, ns, key}
		var id int64
		if tx.d.postgres {
			if err = stmt.QueryRowContext(ctx, args...).Scan(&id); errors.Is(err, sql.ErrNoRows) {
				err = nil // queued already
			}
		} else {
			var res sql.Result
			if res, err = stmt.ExecContext(ctx, args...); err == nil {
				if n, _ := res.RowsAffected(); n == 1 {
					id, err = res.LastInsertId()
				}
			}
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Outbox turns the events of the batching writer into notifications. The
// writer inserts them in the transaction that stores the same events' log
// rows and host records, so a status change is durable with its
// notification or not at all: after a crash, a restart neither derives
// again a change that was already queued (a second notification of it) nor
// believes a change that was never queued was notified.
type Outbox interface {
	// Prepare returns the outbox rows of events, given in bus order. It is
	// called once per batch, before its transaction, which may be retried
	// with the same rows.
	Prepare(events []event.Event) ([]OutboxEntry, error)
	// Committed is called once the rows Prepare returned are committed.
	Committed(entries []OutboxEntry)
}

// SetOutbox makes the batching writer queue o's notifications of the events
// it stores, in the same transactions. Call it before Consume or RunWriter.
func (s *Store) SetOutbox(o Outbox) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outbox = o
}

// DueOutbox returns up to limit pending rows due at now that are at the head
// of their (instance, host) queue, i.e. no older pending row of the same
// instance and host exists. That condition is what delivers a host's events
// in order: row N+1 is not due while row N waits for a retry. Rows come
// oldest-due first.
//
// It reads through the writer connection: the caller acts on the answer
// (sends the row), so it must see every commit made so far, including its
// own.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxRow, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	rows, err := s.w.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox o
		WHERE o.state = 'pending' AND o.next_at <= ?
		  AND NOT EXISTS (SELECT 1 FROM outbox p
		                  WHERE p.state = 'pending' AND p.instance = o.instance
		                    AND p.host = o.host AND p.id < o.id)
		ORDER BY o.next_at, o.id LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", err)
	}
	out, err := collectOutbox(rows)
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", err)
	}
	return out, nil
}

// NextOutboxAttempt is the earliest next attempt time after now among
// pending rows, so the dispatcher knows how long it may sleep; ok is false
// when no row waits for a later time.
func (s *Store) NextOutboxAttempt(ctx context.Context, now time.Time) (t time.Time, ok bool, err error) {
	if s.isClosed() {
		return time.Time{}, false, ErrClosed
	}
	var ns sql.NullInt64
	// A row another master holds is due again when its lease runs out.
	err = s.w.QueryRowContext(ctx, "SELECT MIN(max(next_at, lease_until)) FROM outbox WHERE state = 'pending' AND max(next_at, lease_until) > ?",
		now.UnixNano()).Scan(&ns)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next notification attempt: %w", err)
	}
	if !ns.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(0, ns.Int64), true, nil
}

// RecordOutboxResults applies delivery outcomes in one transaction (one
// fsync for a whole batch of completions), like CompleteOutbox, leaving
// out in silence the results it refuses.
func (s *Store) RecordOutboxResults(ctx context.Context, now time.Time, results ...OutboxResult) error {
	_, err := s.CompleteOutbox(ctx, now, results...)
	return err
}

// CompleteOutbox applies delivery outcomes in one transaction (one
// fsync for a whole batch of completions):
//   - success: the row is delivered, and the held fallback rows of the
//     same event waiting on this instance are cancelled;
//   - failure: attempts+1, last_error, and either next_at or the dead
//     state; the held fallback rows waiting on this instance are released
//     (made pending, due now).
//
// Only pending rows are updated, so a result for a row that was changed
// meanwhile (retried by hand after a restart) is ignored; so is a result
// whose Lease is not the row's latest claim (the lease ran out and another
// master claimed the row). It returns the ids of the results it refused,
// which changed nothing, fallbacks included.
func (s *Store) CompleteOutbox(ctx context.Context, now time.Time, results ...OutboxResult) (refused []int64, err error) {
	if len(results) == 0 {
		return nil, nil
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	refused, err = s.completeOutbox(ctx, now, results)
	if err != nil {
		return nil, fmt.Errorf("record %d delivery results: %w", len(results), err)
	}
	return refused, nil
}

func (s *Store) completeOutbox(ctx context.Context, now time.Time, results []OutboxResult) ([]int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	ns := now.UnixNano()
	var refused []int64
	// applied runs the update of r's own row, and reports whether it
	// changed it: with a Lease, only under that claim.
	applied := func(r OutboxResult, query string, args ...any) (bool, error) {
		query += " WHERE id = ? AND state = 'pending'"
		args = append(args, r.ID)
		if r.Lease != 0 {
			query += " AND lease_gen = ?"
			args = append(args, r.Lease)
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		if n == 0 && err == nil && r.Lease != 0 {
			refused = append(refused, r.ID)
		}
		return n == 1 || r.Lease == 0, err
	}
	for _, r := range results {
		if r.Err == nil {
			ok, err := applied(r, `UPDATE outbox SET state = 'delivered', updated_at = ?, last_error = '', lease_until = 0`, ns)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'cancelled', updated_at = ?
				WHERE event_id = ? AND fallback_for = ? AND state = 'held'`, ns, r.EventID, r.Instance); err != nil {
				return nil, err
			}
			continue
		}
		state := OutboxPending
		next := r.NextAttempt.UnixNano()
		if r.Dead {
			state, next = OutboxDead, ns
		}
		spent := 1
		if r.NotAttempt {
			spent = 0
		}
		ok, err := applied(r, `UPDATE outbox SET state = ?, attempts = attempts + ?, next_at = ?,
			updated_at = ?, last_error = ?, lease_until = 0`,
			string(state), spent, next, ns, truncateError(r.Err.Error()))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', next_at = ?, updated_at = ?
			WHERE event_id = ? AND fallback_for = ? AND state = 'held'`, ns, ns, r.EventID, r.Instance); err != nil {
			return nil, err
		}
	}
	return refused, tx.Commit()
}

// ClaimOutbox claims for owner, until now+lease, up to limit of the rows
// DueOutbox would return that no other claim holds (none, or one whose
// lease has run out), and returns them with their claim's generation
// (OutboxRow.Lease), oldest-due first. Masters sharing a database each
// claim different rows: on PostgreSQL the rows are locked FOR UPDATE SKIP
// LOCKED, so a claim in progress is passed over rather than waited for;
// SQLite's single writer makes each claim whole by itself. A master that
// dies mid-delivery holds its rows until its lease runs out; then they are
// anyone's, and its late result is refused (CompleteOutbox).
func (s *Store) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxRow, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	lock := ""
	if s.d.postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.w.QueryContext(ctx, `UPDATE outbox SET lease_owner = ?, lease_until = ?, lease_gen = lease_gen + 1
		WHERE id IN (SELECT o.id FROM outbox o
			WHERE o.state = 'pending' AND o.next_at <= ? AND o.lease_until <= ?
			  AND NOT EXISTS (SELECT 1 FROM outbox p
			                  WHERE p.state = 'pending' AND p.instance = o.instance
			                    AND p.host = o.host AND p.id < o.id)
			ORDER BY o.next_at, o.id LIMIT ?`+lock+`)
		RETURNING `+outboxColumns, owner, now.Add(lease).UnixNano(), now.UnixNano(), now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim due notifications: %w", err)
	}
	out, err := collectOutbox(rows)
	if err != nil {
		return nil, fmt.Errorf("claim due notifications: %w", err)
	}
	// RETURNING follows no ORDER BY.
	slices.SortFunc(out, func(a, b OutboxRow) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ReleaseOutboxLeases ends the claims owner holds, so that its rows are
// due at once: a master calls it at start, its previous run being over.
func (s *Store) ReleaseOutboxLeases(ctx context.Context, owner string) (int64, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	res, err := s.w.ExecContext(ctx, "UPDATE outbox SET lease_until = 0 WHERE lease_owner = ? AND lease_until <> 0 AND state = 'pending'", owner)
	if err != nil {
		return 0, fmt.Errorf("release the notifications claimed by %s: %w", owner, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// truncateError bounds a stored error: a plugin could return a whole HTTP
// error page, and the row is listed by the API.
func truncateError(s string) string {
	const limit = 2000
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

// ResumeOutbox makes every pending row of instance due at now: its notifier
// is back after an outage, and rows that waited for it (and the rows queued
// behind them) go out at once instead of at their backed-off time. It
// returns the number of rows made due.
func (s *Store) ResumeOutbox(ctx context.Context, instance string, now time.Time) (int64, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	res, err := s.w.ExecContext(ctx, `UPDATE outbox SET next_at = ? WHERE instance = ? AND state = 'pending' AND next_at > ?`,
		now.UnixNano(), instance, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("resume notifications of %s: %w", instance, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// RetryOutbox turns the dead letter id back into a pending row due at now
// with its attempt count reset. It fails with ErrNotFound when no row has
// that id and ErrNotDead when the row is not a dead letter.
func (s *Store) RetryOutbox(ctx context.Context, id int64, now time.Time) error {
	if s.isClosed() {
		return ErrClosed
	}
	res, err := s.w.ExecContext(ctx, `UPDATE outbox SET state = 'pending', attempts = 0, next_at = ?, updated_at = ?
		WHERE id = ? AND state = 'dead'`, now.UnixNano(), now.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("retry notification %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var state string
	err = s.w.QueryRowContext(ctx, "SELECT state FROM outbox WHERE id = ?", id).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("retry notification %d: %w", id, ErrNotFound)
	case err != nil:
		return fmt.Errorf("retry notification %d: %w", id, err)
	}
	return fmt.Errorf("retry notification %d (%s): %w", id, state, ErrNotDead)
}

// OutboxQuery selects rows for ListOutbox.
type OutboxQuery struct {
	// States limits the rows to these states; empty means pending, held
	// and dead (what is still to be done or looked at).
	States []OutboxState
	// Limit is the page size: 0 means DefaultLimit, above MaxLimit means
	// MaxLimit, negative is an error.
	Limit int
	// Offset skips that many rows of the oldest-first order; negative is an
	// error.
	Offset int
}

// ListOutbox returns a page of rows in the given states, oldest first, and
// the total number of rows in those states.
func (s *Store) ListOutbox(ctx context.Context, q OutboxQuery) ([]OutboxRow, int, error) {
	if q.Limit < 0 || q.Offset < 0 {
		return nil, 0, fmt.Errorf("%w: negative limit or offset", ErrInvalidQuery)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	states := q.States
	if len(states) == 0 {
		states = []OutboxState{OutboxPending, OutboxHeld, OutboxDead}
	}
	args := make([]any, 0, len(states)+2)
	for _, st := range states {
		args = append(args, string(st))
	}
	in := "state IN (?" + strings.Repeat(", ?", len(states)-1) + ")"
	var total int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE "+in, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list notifications: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE "+in+" ORDER BY id LIMIT ? OFFSET ?",
		append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list notifications: %w", err)
	}
	out, err := collectOutbox(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list notifications: %w", err)
	}
	return out, total, nil
}

// GetOutbox returns the row id, or an error wrapping ErrNotFound.
func (s *Store) GetOutbox(ctx context.Context, id int64) (OutboxRow, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE id = ?", id)
	if err != nil {
		return OutboxRow{}, fmt.Errorf("get notification %d: %w", id, err)
	}
	out, err := collectOutbox(rows)
	if err != nil {
		return OutboxRow{}, fmt.Errorf("get notification %d: %w", id, err)
	}
	if len(out) == 0 {
		return OutboxRow{}, fmt.Errorf("get notification %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// CountOutbox returns the number of rows in each state (states without rows
// are absent), for metrics.
func (s *Store) CountOutbox(ctx context.Context) (map[OutboxState]int, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT state, COUNT(*) FROM outbox GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	defer rows.Close()
	out := map[OutboxState]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count notifications: %w", err)
		}
		out[OutboxState(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	return out, nil
}

// CountOutboxByInstance counts the rows still to be dealt with (pending,
// held, dead) per notifier instance and state.
func (s *Store) CountOutboxByInstance(ctx context.Context) (map[string]map[OutboxState]int, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT instance, state, COUNT(*) FROM outbox WHERE state IN ('pending', 'held', 'dead') GROUP BY instance, state")
	if err != nil {
		return nil, fmt.Errorf("count notifications per instance: %w", err)
	}
	defer rows.Close()
	out := map[string]map[OutboxState]int{}
	for rows.Next() {
		var instance, st string
		var n int
		if err := rows.Scan(&instance, &st, &n); err != nil {
			return nil, fmt.Errorf("count notifications per instance: %w", err)
		}
		if out[instance] == nil {
			out[instance] = map[OutboxState]int{}
		}
		out[instance][OutboxState(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count notifications per instance: %w", err)
	}
	return out, nil
}

// PruneOutbox deletes delivered and cancelled rows last updated before
// before, in chunks of short transactions, and returns how many went.
// Pending, held and dead rows are never pruned: they are work not done.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		if s.isClosed() {
			return total, ErrClosed
		}
		res, err := s.w.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
			WHERE state IN ('delivered', 'cancelled') AND updated_at < ? LIMIT ?)`, before.UnixNano(), pruneChunk)
		if err != nil {
			return total, fmt.Errorf("prune notifications: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// RescheduleOutbox makes every pending row due at now (attempt counts are
// kept) and returns how many rows it moved forward. The pipeline calls it at
// start-up: a restart usually follows a fix (a receiver's address, a
// plugin's upgrade), so waiting out a backoff computed by the previous run
// would only delay the backlog.
func (s *Store) RescheduleOutbox(ctx context.Context, now time.Time) (int64, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	res, err := s.w.ExecContext(ctx, "UPDATE outbox SET next_at = ? WHERE state = 'pending' AND next_at > ?",
		now.UnixNano(), now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("reschedule notifications: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ReleaseOrphanedOutbox makes pending the held rows whose primary instance
// is not in instances (its notify block was removed from the configuration,
// so its delivery will never succeed or fail to release them) and returns
// how many it released.
func (s *Store) ReleaseOrphanedOutbox(ctx context.Context, now time.Time, instances []string) (int64, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	q := "UPDATE outbox SET state = 'pending', next_at = ?, updated_at = ? WHERE state = 'held'"
	args := []any{now.UnixNano(), now.UnixNano()}
	if len(instances) > 0 {
		q += " AND fallback_for NOT IN (?" + strings.Repeat(", ?", len(instances)-1) + ")"
		for _, in := range instances {
			args = append(args, in)
		}
	}
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("release orphaned fallback notifications: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
