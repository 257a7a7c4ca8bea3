package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// HostRecord is what the store keeps of one host so a restart can restore
// it: the host as the last event about it left it, and the last known
// result of each probe (as of its last status change).
type HostRecord struct {
	UUID    string
	Name    string
	Group   string
	Version string
	Parent  string
	Origin  string
	// Source delivered the host's documents (state.Host.Source).
	Source string
	// Remote is false for the local host of the instance that wrote it.
	Remote bool
	// Alive is false once the host was DOWN.
	Alive bool
	// LastHeard is when the instance last heard of the host.
	LastHeard time.Time
	Probes    map[string]*model.ProbeResult
}

// recordsHost reports whether e changes the hosts and host_probes tables.
// Events of a host without a UUID (an instance that has none yet) and
// push-client requests are not about a host's state.
func recordsHost(e event.Event) bool {
	if e.HostUUID == "" {
		return false
	}
	switch e.Kind {
	case event.ProbeChanged, event.ProbeAppeared, event.ProbeDisappeared,
		event.HostAppeared, event.HostDown, event.HostUp, event.HostRemoved:
		return true
	}
	return false
}

// hostTx applies the host-state part of a batch of events inside the
// writer's transaction. Host rows are upserted once per host and batch, at
// the end (a burst of a host's probe events costs one host write); removals
// and probe rows are applied in event order.
type hostTx struct {
	tx                       *txn
	upsertProbe, deleteProbe *sql.Stmt
	pending                  map[string]event.Event // latest event per host still to upsert
	// recorded is the Store's memory of the host rows as committed (see
	// Store.recorded); written records what this transaction changes in
	// it, applied by commit only once the transaction is committed.
	recorded map[string]hostRow
	written  map[string]*hostRow // nil value: the row was deleted
}

// hostRow is a host row but for last_heard: when nothing else changed, a
// probe's change does not rewrite its host (SaveLastHeard keeps last_heard).
type hostRow struct {
	name, grp, version, parent, origin, source string
	remote, alive                              bool
}

func rowOf(e event.Event) hostRow {
	f := e.Facts
	return hostRow{name: e.Host, grp: e.Group, version: f.Version, parent: f.Parent, origin: f.Origin, source: f.Source, remote: e.Remote, alive: f.Alive}
}

func (h *hostTx) stmt(ctx context.Context, p **sql.Stmt, query string) (*sql.Stmt, error) {
	if *p == nil {
		st, err := h.tx.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		*p = st
	}
	return *p, nil
}

func (h *hostTx) close() {
	for _, st := range []*sql.Stmt{h.upsertProbe, h.deleteProbe} {
		if st != nil {
			st.Close()
		}
	}
}

func (h *hostTx) apply(ctx context.Context, e event.Event) error {
	if h.pending == nil {
		h.pending = make(map[string]event.Event)
	}
	if h.written == nil {
		h.written = make(map[string]*hostRow)
	}
	switch e.Kind {
	case event.HostRemoved:
		delete(h.pending, e.HostUUID)
		h.written[e.HostUUID] = nil
		if _, err := h.tx.ExecContext(ctx, "DELETE FROM host_probes WHERE host_uuid = ?", e.HostUUID); err != nil {
			return fmt.Errorf("forget probes of host %s: %w", e.Host, err)
		}
		if _, err := h.tx.ExecContext(ctx, "DELETE FROM hosts WHERE uuid = ?", e.HostUUID); err != nil {
			return fmt.Errorf("forget host %s: %w", e.Host, err)
		}
		return nil
	case event.ProbeChanged, event.ProbeAppeared:
		if e.New == nil {
			break
		}
		st, err := h.stmt(ctx, &h.upsertProbe, `INSERT INTO host_probes (host_uuid, name, status, result) VALUES (?, ?, ?, ?)
			ON CONFLICT (host_uuid, name) DO UPDATE SET status = excluded.status, result = excluded.result`)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, e.HostUUID, e.Probe, e.NewStatus, encodeResult(e.New)); err != nil {
			return fmt.Errorf("record probe %s of host %s: %w", e.Probe, e.Host, err)
		}
	case event.ProbeDisappeared:
		st, err := h.stmt(ctx, &h.deleteProbe, "DELETE FROM host_probes WHERE host_uuid = ? AND name = ?")
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, e.HostUUID, e.Probe); err != nil {
			return fmt.Errorf("forget probe %s of host %s: %w", e.Probe, e.Host, err)
		}
	}
	h.pending[e.HostUUID] = e
	return nil
}

// finish upserts the host rows the batch touched.
func (h *hostTx) finish(ctx context.Context) error {
	if len(h.pending) == 0 {
		return nil
	}
	st, err := h.tx.PrepareContext(ctx, `INSERT INTO hosts (uuid, name, grp, version, parent, origin, source, remote, alive, last_heard)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, grp = excluded.grp, version = excluded.version,
			parent = excluded.parent, origin = excluded.origin, source = excluded.source, remote = excluded.remote, alive = excluded.alive,
			last_heard = max(hosts.last_heard, excluded.last_heard)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for id, e := range h.pending {
		row := rowOf(e)
		if w, ok := h.written[id]; !ok || w != nil {
			// Not deleted in this transaction: the committed row is known.
			if old, ok := h.recorded[id]; ok && old == row {
				continue
			}
		}
		f := e.Facts
		if _, err := st.ExecContext(ctx, id, e.Host, e.Group, f.Version, f.Parent, f.Origin, f.Source,
			e.Remote, f.Alive, f.Heard.UnixNano()); err != nil {
			return fmt.Errorf("record host %s: %w", e.Host, err)
		}
		h.written[id] = &row
	}
	return nil
}

// commit applies what the committed transaction wrote to the Store's
// memory of host rows.
func (h *hostTx) commit() {
	for id, row := range h.written {
		if row == nil {
			delete(h.recorded, id)
		} else {
			h.recorded[id] = *row
		}
	}
}

// encodeResult is the JSON kept for a probe result. A result whose raw
// Value or Detail is not valid JSON (never produced by the core's parser,
// but a plugin could) is kept without them rather than not at all: the
// status is what a restart needs.
func encodeResult(r *model.ProbeResult) string {
	b, err := json.Marshal(r)
	if err != nil {
		c := *r
		c.Value, c.Detail = nil, nil
		if b, err = json.Marshal(&c); err != nil {
			b, _ = json.Marshal(&model.ProbeResult{Name: r.Name, Status: r.Status, Message: r.Message})
		}
	}
	return string(b)
}

// Hosts returns every recorded host with its probes, sorted by name then
// UUID. A probe row whose result cannot be decoded is restored with its
// status and a message saying so, and logged; it is never dropped.
func (s *Store) Hosts(ctx context.Context) ([]HostRecord, error) {
	rows, err := s.r.QueryContext(ctx,
		"SELECT uuid, name, grp, version, parent, origin, source, remote, alive, last_heard FROM hosts")
	if err != nil {
		return nil, fmt.Errorf("read hosts: %w", err)
	}
	byID := map[string]*HostRecord{}
	for rows.Next() {
		var h HostRecord
		var heard int64
		if err := rows.Scan(&h.UUID, &h.Name, &h.Group, &h.Version, &h.Parent, &h.Origin, &h.Source, &h.Remote, &h.Alive, &heard); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read hosts: %w", err)
		}
		h.LastHeard = time.Unix(0, heard)
		h.Probes = map[string]*model.ProbeResult{}
		byID[h.UUID] = &h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read hosts: %w", err)
	}
	prows, err := s.r.QueryContext(ctx, "SELECT host_uuid, name, status, result FROM host_probes")
	if err != nil {
		return nil, fmt.Errorf("read host probes: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var hostID, name, result string
		var status int
		if err := prows.Scan(&hostID, &name, &status, &result); err != nil {
			return nil, fmt.Errorf("read host probes: %w", err)
		}
		h := byID[hostID]
		if h == nil {
			continue // its host was removed in a transaction that did not finish cleanly
		}
		var p model.ProbeResult
		if err := json.Unmarshal([]byte(result), &p); err != nil || p.Name != name || p.Status != status {
			s.log.Warn("recorded probe result unreadable; restoring its status only",
				"host", h.Name, "probe", name, "status", status, "error", err)
			p = model.ProbeResult{Name: name, Status: status, Message: "(last result unreadable in the database)"}
		}
		h.Probes[name] = &p
	}
	if err := prows.Err(); err != nil {
		return nil, fmt.Errorf("read host probes: %w", err)
	}
	out := make([]HostRecord, 0, len(byID))
	for _, h := range byID {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].UUID < out[j].UUID
	})
	return out, nil
}

// SaveLastHeard records when each host (by UUID) was last heard of, in one
// transaction, for hosts already recorded; a time older than the recorded
// one changes nothing. The daemon calls it every minute and at shutdown:
// a host that reports the same thing for hours produces no event, and a
// write per update would cost more than everything else the store does.
func (s *Store) SaveLastHeard(ctx context.Context, heard map[string]time.Time) error {
	if len(heard) == 0 {
		return nil
	}
	if s.isClosed() {
		return ErrClosed
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save last heard: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	st, err := tx.PrepareContext(ctx, "UPDATE hosts SET last_heard = ? WHERE uuid = ? AND last_heard < ?")
	if err != nil {
		return fmt.Errorf("save last heard: %w", err)
	}
	defer st.Close()
	for id, t := range heard {
		ns := t.UnixNano()
		if _, err := st.ExecContext(ctx, ns, id, ns); err != nil {
			return fmt.Errorf("save last heard of %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save last heard: %w", err)
	}
	return nil
}
