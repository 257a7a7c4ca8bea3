package store

import (
	"context"
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// recordsSilence reports whether e changes the silences or the subjects
// waiting for a silence's end.
func recordsSilence(e event.Event) bool {
	switch e.Kind {
	case event.SilenceSet, event.SilenceEnded, event.HostRemoved:
		return true
	}
	return e.Decision.Pending != nil || e.Decision.PendingEnded
}

// applySilence writes e's change to the silences inside tx.
func applySilence(ctx context.Context, tx *txn, e event.Event) error {
	switch {
	case e.Kind == event.SilenceSet && e.Silence != nil:
		s := e.Silence
		if _, err := tx.ExecContext(ctx, `INSERT INTO silences (id, host, grp, probe, start_at, end_at, author, comment, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, grp = excluded.grp, probe = excluded.probe,
			start_at = excluded.start_at, end_at = excluded.end_at, author = excluded.author,
			comment = excluded.comment, created_at = excluded.created_at`,
			s.ID, s.Host, s.Group, s.Probe, s.Start.UnixNano(), s.End.UnixNano(), s.Author, s.Comment, s.Created.UnixNano()); err != nil {
			return fmt.Errorf("record silence %s: %w", s.ID, err)
		}
		if s.Author == event.MaintenanceAuthor {
			if _, err := tx.ExecContext(ctx, `INSERT INTO maintenance_opened (id, end_at) VALUES (?, ?)
				ON CONFLICT (id) DO UPDATE SET end_at = excluded.end_at`, s.ID, s.End.UnixNano()); err != nil {
				return fmt.Errorf("record that maintenance opened %s: %w", s.ID, err)
			}
		}
	case e.Kind == event.SilenceEnded && e.Silence != nil:
		if _, err := tx.ExecContext(ctx, "DELETE FROM silences WHERE id = ?", e.Silence.ID); err != nil {
			return fmt.Errorf("forget silence %s: %w", e.Silence.ID, err)
		}
	case e.Kind == event.HostRemoved:
		if _, err := tx.ExecContext(ctx, "DELETE FROM silenced_pending WHERE host_key = ?", ackHostKey(e.HostUUID, e.Host)); err != nil {
			return fmt.Errorf("forget what host %s waits for: %w", e.Host, err)
		}
	}
	if p := e.Decision.Pending; p != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO silenced_pending (host_key, probe, host_uuid, host, grp, notified)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (host_key, probe) DO NOTHING`,
			ackHostKey(p.HostUUID, p.Host), p.Probe, p.HostUUID, p.Host, p.Group, p.Notified); err != nil {
			return fmt.Errorf("record that %s waits for a silence's end: %w", p.Host, err)
		}
	}
	if e.Decision.PendingEnded {
		if _, err := tx.ExecContext(ctx, "DELETE FROM silenced_pending WHERE host_key = ? AND probe = ?",
			ackHostKey(e.HostUUID, e.Host), e.Probe); err != nil {
			return fmt.Errorf("forget that %s waited for a silence's end: %w", e.Host, err)
		}
	}
	return nil
}

// Silences returns the silences recorded (not yet ended), for the
// decisions to restore on start.
func (s *Store) Silences(ctx context.Context) ([]event.Silence, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+silenceColumns+" FROM silences ORDER BY start_at, id")
	if err != nil {
		return nil, fmt.Errorf("read silences: %w", err)
	}
	defer rows.Close()
	out := []event.Silence{}
	for rows.Next() {
		si, err := scanSilence(rows)
		if err != nil {
			return nil, fmt.Errorf("read silences: %w", err)
		}
		out = append(out, si)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read silences: %w", err)
	}
	return out, nil
}

// SilencedPending returns the subjects waiting for a silence's end.
func (s *Store) SilencedPending(ctx context.Context) ([]event.Pending, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT host_uuid, host, grp, probe, notified FROM silenced_pending ORDER BY host, probe`)
	if err != nil {
		return nil, fmt.Errorf("read what waits for a silence's end: %w", err)
	}
	defer rows.Close()
	out := []event.Pending{}
	for rows.Next() {
		var p event.Pending
		if err := rows.Scan(&p.HostUUID, &p.Host, &p.Group, &p.Probe, &p.Notified); err != nil {
			return nil, fmt.Errorf("read what waits for a silence's end: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read what waits for a silence's end: %w", err)
	}
	return out, nil
}

// silenceColumns are the columns scanSilence reads, in its order.
const silenceColumns = "id, host, grp, probe, start_at, end_at, author, comment, created_at"

// scanSilence reads a silence of silenceColumns.
func scanSilence(r rowScanner) (event.Silence, error) {
	var si event.Silence
	var start, end, created int64
	if err := r.Scan(&si.ID, &si.Host, &si.Group, &si.Probe, &start, &end, &si.Author, &si.Comment, &created); err != nil {
		return si, err
	}
	si.Start, si.End, si.Created = time.Unix(0, start), time.Unix(0, end), time.Unix(0, created)
	return si, nil
}
