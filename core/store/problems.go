package store

import (
	"context"
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// recordsProblem reports whether e opens, changes or resolves a problem.
func recordsProblem(e event.Event) bool {
	return e.Decision.Problem != nil || e.Decision.ProblemEnded || e.Kind == event.HostRemoved
}

// applyProblem writes e's change to the open problems inside tx.
func applyProblem(ctx context.Context, tx *txn, e event.Event) error {
	hk := ackHostKey(e.HostUUID, e.Host)
	switch {
	case e.Kind == event.HostRemoved:
		if _, err := tx.ExecContext(ctx, "DELETE FROM problems WHERE host_key = ?", hk); err != nil {
			return fmt.Errorf("forget the problems of host %s: %w", e.Host, err)
		}
	case e.Decision.Problem != nil:
		p := e.Decision.Problem
		if _, err := tx.ExecContext(ctx, `INSERT INTO problems (host_key, probe, host_uuid, host, grp, notified, since, renotified_at, escalated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host_key, probe) DO UPDATE SET host_uuid = excluded.host_uuid,
			host = excluded.host, grp = excluded.grp, notified = excluded.notified, since = excluded.since,
			renotified_at = excluded.renotified_at, escalated_at = excluded.escalated_at`,
			ackHostKey(p.HostUUID, p.Host), p.Probe, p.HostUUID, p.Host, p.Group, p.Notified,
			p.Since.UnixNano(), unixNano(p.Renotified), unixNano(p.Escalated)); err != nil {
			return fmt.Errorf("record the problem of %s/%s: %w", p.Host, p.Probe, err)
		}
	case e.Decision.ProblemEnded:
		if _, err := tx.ExecContext(ctx, "DELETE FROM problems WHERE host_key = ? AND probe = ?", hk, e.Probe); err != nil {
			return fmt.Errorf("forget the problem of %s/%s: %w", e.Host, e.Probe, err)
		}
	}
	return nil
}

// unixNano is t in unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is unixNano's inverse.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Problems returns the open problems recorded, for the decisions to
// restore on start.
func (s *Store) Problems(ctx context.Context) ([]event.Problem, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT host_uuid, host, grp, probe, notified, since, renotified_at, escalated_at
		FROM problems ORDER BY host, probe`)
	if err != nil {
		return nil, fmt.Errorf("read open problems: %w", err)
	}
	defer rows.Close()
	out := []event.Problem{}
	for rows.Next() {
		var p event.Problem
		var since, renotified, escalated int64
		if err := rows.Scan(&p.HostUUID, &p.Host, &p.Group, &p.Probe, &p.Notified, &since, &renotified, &escalated); err != nil {
			return nil, fmt.Errorf("read open problems: %w", err)
		}
		p.Since, p.Renotified, p.Escalated = time.Unix(0, since), fromUnixNano(renotified), fromUnixNano(escalated)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read open problems: %w", err)
	}
	return out, nil
}

// MaintenanceOpened returns the silences maintenance windows opened whose
// window has not ended at now, with its end, and forgets the others.
func (s *Store) MaintenanceOpened(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	if _, err := s.w.ExecContext(ctx, "DELETE FROM maintenance_opened WHERE end_at <= ?", now.UnixNano()); err != nil {
		return nil, fmt.Errorf("forget the maintenance windows that ended: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT id, end_at FROM maintenance_opened")
	if err != nil {
		return nil, fmt.Errorf("read the maintenance windows opened: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var end int64
		if err := rows.Scan(&id, &end); err != nil {
			return nil, fmt.Errorf("read the maintenance windows opened: %w", err)
		}
		out[id] = time.Unix(0, end)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the maintenance windows opened: %w", err)
	}
	return out, nil
}
