package store

import (
	"context"
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// recordsDelay reports whether e puts a change off for some notifier's
// quiet hours, or delivers what they put off.
func recordsDelay(e event.Event) bool {
	return len(e.Decision.Delayed) > 0 || e.Kind == event.Delayed && e.Decision.HeldBack == "" && len(e.Delays) > 0
}

// applyDelay writes e's delays inside tx, or forgets those e delivers:
// every row of its instance and host due at the same end.
func applyDelay(ctx context.Context, tx *txn, e event.Event) error {
	if e.Kind == event.Delayed {
		d := e.Delays[0]
		if _, err := tx.ExecContext(ctx, "DELETE FROM delays WHERE instance = ? AND host_key = ? AND until = ?",
			d.Instance, ackHostKey(d.HostUUID, d.Host), d.Until.UnixNano()); err != nil {
			return fmt.Errorf("forget the changes delivered to %s for host %s: %w", d.Instance, d.Host, err)
		}
		return nil
	}
	for _, d := range e.Decision.Delayed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO delays (instance, host_key, host_uuid, host, grp, probe, kind,
			old_status, new_status, at, until, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.Instance, ackHostKey(d.HostUUID, d.Host), d.HostUUID, d.Host, d.Group, d.Probe, string(d.Kind),
			d.OldStatus, d.NewStatus, d.Time.UnixNano(), d.Until.UnixNano(), d.Message); err != nil {
			return fmt.Errorf("record the change of %s put off for %s: %w", d.Host, d.Instance, err)
		}
	}
	return nil
}

// Delays returns the changes put off by quiet hours and not yet delivered,
// in the order they happened, for the decisions to restore on start.
func (s *Store) Delays(ctx context.Context) ([]event.Delay, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT instance, host_uuid, host, grp, probe, kind, old_status, new_status,
		at, until, message FROM delays ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read the changes put off by quiet hours: %w", err)
	}
	defer rows.Close()
	out := []event.Delay{}
	for rows.Next() {
		var d event.Delay
		var kind string
		var at, until int64
		if err := rows.Scan(&d.Instance, &d.HostUUID, &d.Host, &d.Group, &d.Probe, &kind, &d.OldStatus, &d.NewStatus,
			&at, &until, &d.Message); err != nil {
			return nil, fmt.Errorf("read the changes put off by quiet hours: %w", err)
		}
		d.Kind, d.Time, d.Until = event.Kind(kind), time.Unix(0, at), time.Unix(0, until)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the changes put off by quiet hours: %w", err)
	}
	return out, nil
}
