package store

import (
	"context"
	"fmt"

	"github.com/wigo-project/wigo/core/event"
)

// recordsSoft reports whether e starts, confirms or undoes a soft change.
func recordsSoft(e event.Event) bool {
	return e.Decision.Soft != nil || e.Decision.SoftEnded || e.Kind == event.HostRemoved
}

// applySoft writes e's change to the soft states inside tx.
func applySoft(ctx context.Context, tx *txn, e event.Event) error {
	hk := ackHostKey(e.HostUUID, e.Host)
	switch {
	case e.Kind == event.HostRemoved:
		if _, err := tx.ExecContext(ctx, "DELETE FROM soft_states WHERE host_key = ?", hk); err != nil {
			return fmt.Errorf("forget the soft changes of host %s: %w", e.Host, err)
		}
	case e.Decision.Soft != nil:
		s := e.Decision.Soft
		if _, err := tx.ExecContext(ctx, `INSERT INTO soft_states (host_key, probe, host_uuid, host, hard, status, count)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host_key, probe) DO UPDATE SET hard = excluded.hard, status = excluded.status, count = excluded.count`,
			hk, s.Probe, s.HostUUID, s.Host, s.Hard, s.Status, max(s.Count, 1)); err != nil {
			return fmt.Errorf("record the soft change of %s/%s: %w", s.Host, s.Probe, err)
		}
	case e.Decision.SoftEnded:
		if _, err := tx.ExecContext(ctx, "DELETE FROM soft_states WHERE host_key = ? AND probe = ?", hk, e.Probe); err != nil {
			return fmt.Errorf("forget the soft change of %s/%s: %w", e.Host, e.Probe, err)
		}
	}
	return nil
}

// SoftStates returns the soft changes recorded, with the results counted
// so far, for the decisions to restore on start.
func (s *Store) SoftStates(ctx context.Context) ([]event.Soft, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT host_uuid, host, probe, hard, status, count FROM soft_states ORDER BY host, probe`)
	if err != nil {
		return nil, fmt.Errorf("read soft changes: %w", err)
	}
	defer rows.Close()
	out := []event.Soft{}
	for rows.Next() {
		var v event.Soft
		if err := rows.Scan(&v.HostUUID, &v.Host, &v.Probe, &v.Hard, &v.Status, &v.Count); err != nil {
			return nil, fmt.Errorf("read soft changes: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read soft changes: %w", err)
	}
	return out, nil
}
