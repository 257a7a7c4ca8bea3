package store

import (
	"context"
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// recordsAck reports whether e gives, removes or ends an acknowledgement.
func recordsAck(e event.Event) bool {
	switch e.Kind {
	case event.Acknowledged, event.AckRemoved, event.HostRemoved:
		return true
	}
	return e.Decision.AckEnded != nil
}

func ackHostKey(uuid, name string) string {
	if uuid != "" {
		return uuid
	}
	return name
}

// applyAck writes e's change to the acknowledgements inside tx.
func applyAck(ctx context.Context, tx *txn, e event.Event) error {
	if e.Kind == event.Acknowledged && e.Ack != nil {
		a := e.Ack
		var expires int64
		if !a.Expires.IsZero() {
			expires = a.Expires.UnixNano()
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO acks (host_key, probe, host_uuid, host, status, author, comment, sticky, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (host_key, probe) DO UPDATE SET host_uuid = excluded.host_uuid, host = excluded.host,
			status = excluded.status, author = excluded.author, comment = excluded.comment, sticky = excluded.sticky,
			created_at = excluded.created_at, expires_at = excluded.expires_at`,
			ackHostKey(a.HostUUID, a.Host), a.Probe, a.HostUUID, a.Host, a.Status, a.Author, a.Comment, a.Sticky, a.Time.UnixNano(), expires)
		if err != nil {
			return fmt.Errorf("record acknowledgement of %s: %w", a.Target(), err)
		}
		return nil
	}
	if e.Kind == event.HostRemoved {
		if _, err := tx.ExecContext(ctx, "DELETE FROM acks WHERE host_key = ?", ackHostKey(e.HostUUID, e.Host)); err != nil {
			return fmt.Errorf("forget acknowledgements of host %s: %w", e.Host, err)
		}
	}
	for _, a := range []*event.Ack{e.Ack, e.Decision.AckEnded} {
		if a == nil || (a == e.Ack && e.Kind != event.AckRemoved) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM acks WHERE host_key = ? AND probe = ?", ackHostKey(a.HostUUID, a.Host), a.Probe); err != nil {
			return fmt.Errorf("forget acknowledgement of %s: %w", a.Target(), err)
		}
	}
	return nil
}

// Acks returns the acknowledgements recorded, for the decisions to restore
// on start.
func (s *Store) Acks(ctx context.Context) ([]event.Ack, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+ackColumns+" FROM acks ORDER BY host, probe")
	if err != nil {
		return nil, fmt.Errorf("read acknowledgements: %w", err)
	}
	defer rows.Close()
	out := []event.Ack{}
	for rows.Next() {
		a, err := scanAck(rows)
		if err != nil {
			return nil, fmt.Errorf("read acknowledgements: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read acknowledgements: %w", err)
	}
	return out, nil
}

// ackColumns are the columns scanAck reads, in its order.
const ackColumns = "host_uuid, host, probe, status, author, comment, sticky, created_at, expires_at"

// rowScanner is a row of *sql.Rows or *sql.Row.
type rowScanner interface{ Scan(dest ...any) error }

// scanAck reads an acknowledgement of ackColumns.
func scanAck(r rowScanner) (event.Ack, error) {
	var a event.Ack
	var at, expires int64
	if err := r.Scan(&a.HostUUID, &a.Host, &a.Probe, &a.Status, &a.Author, &a.Comment, &a.Sticky, &at, &expires); err != nil {
		return a, err
	}
	a.Time = time.Unix(0, at)
	if expires != 0 {
		a.Expires = time.Unix(0, expires)
	}
	return a, nil
}
