package store

import (
	"context"
	"fmt"

	"github.com/wigo-project/wigo/core/probe"
)

// SetHold records (or replaces) an operator's hold on a local probe.
func (s *Store) SetHold(ctx context.Context, h probe.Hold) error {
	if s.isClosed() {
		return ErrClosed
	}
	var until int64
	if !h.Until.IsZero() {
		until = h.Until.Unix()
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO probe_holds (probe, reason, by, since, until) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (probe) DO UPDATE SET reason = excluded.reason, by = excluded.by, since = excluded.since, until = excluded.until`,
		h.Probe, h.Reason, h.By, h.Since.Unix(), until); err != nil {
		return fmt.Errorf("record the hold of probe %s: %w", h.Probe, err)
	}
	return nil
}

// EndHold forgets the hold on probe name.
func (s *Store) EndHold(ctx context.Context, name string) error {
	if s.isClosed() {
		return ErrClosed
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM probe_holds WHERE probe = ?`, name); err != nil {
		return fmt.Errorf("forget the hold of probe %s: %w", name, err)
	}
	return nil
}

// Holds returns the holds recorded, for the probe manager on start.
func (s *Store) Holds(ctx context.Context) ([]probe.Hold, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT probe, reason, by, since, until FROM probe_holds ORDER BY probe`)
	if err != nil {
		return nil, fmt.Errorf("read probe holds: %w", err)
	}
	defer rows.Close()
	var out []probe.Hold
	for rows.Next() {
		var h probe.Hold
		var since, until int64
		if err := rows.Scan(&h.Probe, &h.Reason, &h.By, &since, &until); err != nil {
			return nil, fmt.Errorf("read probe holds: %w", err)
		}
		h.Since, h.Until = unixOrZero(since), unixOrZero(until)
		out = append(out, h)
	}
	return out, rows.Err()
}
