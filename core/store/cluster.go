package store

import (
	"context"
	"fmt"
	"time"
)

// masterForgotten is how long a master's row stays once it stops beating:
// a master taken out of service drops off the list after a day.
const masterForgotten = 24 * time.Hour

// Master is one master's heartbeat row: who it is and when the database
// last heard from it.
type Master struct {
	Instance string    `json:"Uuid"`
	Hostname string    `json:"Hostname"`
	URL      string    `json:"Url,omitempty"`
	Version  string    `json:"Version,omitempty"`
	Started  time.Time `json:"Started"`
	// Beat is the database's time of its latest heartbeat.
	Beat time.Time `json:"LastSeen"`
}

// dbNow is the SQL of the database's clock in unix nanoseconds: the
// server's on PostgreSQL (one clock for every master), the process's on
// SQLite (one master), bound as the argument now.
func (s *Store) dbNow(now time.Time) (string, []any) {
	if s.d.postgres {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000000 AS BIGINT)", nil
	}
	return "?", []any{now.UnixNano()}
}

// Heartbeat records that master m is alive now and returns every master's
// row (m's included) with the database's time, in one transaction, and
// forgets the masters silent for a day.
func (s *Store) Heartbeat(ctx context.Context, m Master) ([]Master, time.Time, error) {
	fail := func(err error) ([]Master, time.Time, error) {
		return nil, time.Time{}, fmt.Errorf("heartbeat of %s: %w", m.Instance, err)
	}
	if s.isClosed() {
		return fail(ErrClosed)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = tx.Rollback() }()
	nowSQL, nowArg := s.dbNow(time.Now())
	var now int64
	if err := tx.QueryRowContext(ctx, "SELECT "+nowSQL, nowArg...).Scan(&now); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO masters (instance, hostname, url, version, started_at, beat_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (instance) DO UPDATE SET hostname = excluded.hostname, url = excluded.url, version = excluded.version,
		started_at = excluded.started_at, beat_at = excluded.beat_at`,
		m.Instance, m.Hostname, m.URL, m.Version, m.Started.UnixNano(), now); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM masters WHERE beat_at < ?", now-masterForgotten.Nanoseconds()); err != nil {
		return fail(err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT instance, hostname, url, version, started_at, beat_at FROM masters ORDER BY hostname, instance")
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var out []Master
	for rows.Next() {
		var r Master
		var started, beat int64
		if err := rows.Scan(&r.Instance, &r.Hostname, &r.URL, &r.Version, &started, &beat); err != nil {
			return fail(err)
		}
		r.Started, r.Beat = time.Unix(0, started), time.Unix(0, beat)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	rows.Close()
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return out, time.Unix(0, now), nil
}

// Cluster is what GET /api/cluster answers: this master, whether it
// reaches its database, and the other masters the database heard from.
type Cluster struct {
	// Backend is "sqlite" or "postgres".
	Backend  string         `json:"Backend"`
	Database DatabaseHealth `json:"Database"`
	Self     Master         `json:"Self"`
	Peers    []PeerHealth   `json:"Peers"`
}

// DatabaseHealth says whether this master's last heartbeat reached the
// database.
type DatabaseHealth struct {
	Reachable bool `json:"Reachable"`
	// Error is why the last heartbeat failed; Since is when the database
	// became reachable or unreachable (zero before the first beat).
	Error string    `json:"Error,omitempty"`
	Since time.Time `json:"Since,omitzero"`
}

// PeerHealth is another master as the database last heard from it.
type PeerHealth struct {
	Master
	// Up is true while its last heartbeat is at most the peer timeout old.
	Up bool `json:"Up"`
	// LagSeconds is how long ago, on the database's clock, it last beat:
	// about a second or less for a master that is up.
	LagSeconds float64 `json:"LagSeconds"`
}
