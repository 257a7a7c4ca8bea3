package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// sharedChannel is the PostgreSQL channel on which a Store announces the
// acknowledgements and silences it writes, in the transaction that writes
// them: the other masters on the database hear of a change exactly when
// it is committed, never of one rolled back.
const sharedChannel = "wigo_shared"

// What a SharedChange is about.
const (
	SharedAck     = "ack"
	SharedSilence = "silence"
)

// maxAnnouncedMessage bounds the log message an announcement carries:
// PostgreSQL refuses a payload of 8,000 bytes or more.
const maxAnnouncedMessage = 4000

// SharedChange is an acknowledgement or a silence that another master on
// the same database changed, as WatchShared hears of it. The row itself
// is the store's: read it with Ack or Silence, which say how it is now.
type SharedChange struct {
	// Origin is the master that made the change (its Options.Instance).
	Origin string `json:"o"`
	// Kind is SharedAck or SharedSilence.
	Kind string `json:"k"`
	// Host and Probe name an acknowledgement: the host's UUID (its name
	// when it has none) and the probe ("" for the host's own). Probe "*"
	// means every acknowledgement of the host (it was removed).
	Host  string `json:"h,omitempty"`
	Probe string `json:"p,omitempty"`
	// Silence is the ID of a silence.
	Silence string `json:"s,omitempty"`
	// Removed says that the change removed the acknowledgement or ended
	// the silence.
	Removed bool `json:"r,omitempty"`
	// Log is the row the origin logged for the change, when it logged
	// one, so that dashboards elsewhere show it as it is stored.
	Log *model.LogEntry `json:"l,omitempty"`
	// All is set, with nothing else, when the listening connection has
	// just been (re)established: changes may have been missed meanwhile,
	// so everything is to be read again.
	All bool `json:"-"`
}

// announce queues, inside tx, the announcement of each acknowledgement or
// silence e changes (PostgreSQL only: one master per SQLite file). NOTIFY
// is delivered on commit, and not at all on rollback.
func (s *Store) announce(ctx context.Context, tx *txn, e event.Event) error {
	if !s.d.postgres || e.Shared {
		return nil
	}
	var changes []SharedChange
	logged := func(c SharedChange) SharedChange {
		if e.Logged() {
			l := e.LogEntry()
			if e.Log != nil {
				l = *e.Log
			}
			if len(l.Message) > maxAnnouncedMessage {
				cut := maxAnnouncedMessage
				for cut > 0 && !utf8.RuneStart(l.Message[cut]) {
					cut--
				}
				l.Message = l.Message[:cut] + "…"
			}
			c.Log = &l
		}
		return c
	}
	if recordsAck(e) {
		switch {
		case e.Kind == event.Acknowledged && e.Ack != nil:
			changes = append(changes, logged(SharedChange{Kind: SharedAck, Host: ackHostKey(e.Ack.HostUUID, e.Ack.Host), Probe: e.Ack.Probe}))
		case e.Kind == event.AckRemoved && e.Ack != nil:
			changes = append(changes, logged(SharedChange{Kind: SharedAck, Host: ackHostKey(e.Ack.HostUUID, e.Ack.Host), Probe: e.Ack.Probe, Removed: true}))
		case e.Kind == event.HostRemoved:
			changes = append(changes, SharedChange{Kind: SharedAck, Host: ackHostKey(e.HostUUID, e.Host), Probe: "*", Removed: true})
		}
		if a := e.Decision.AckEnded; a != nil && e.Kind != event.HostRemoved {
			changes = append(changes, SharedChange{Kind: SharedAck, Host: ackHostKey(a.HostUUID, a.Host), Probe: a.Probe, Removed: true})
		}
	}
	if (e.Kind == event.SilenceSet || e.Kind == event.SilenceEnded) && e.Silence != nil {
		changes = append(changes, logged(SharedChange{Kind: SharedSilence, Silence: e.Silence.ID, Removed: e.Kind == event.SilenceEnded}))
	}
	for _, c := range changes {
		c.Origin = s.opts.Instance
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("announce a change of %s: %w", c.Kind, err)
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", sharedChannel, string(b)); err != nil {
			return fmt.Errorf("announce a change of %s: %w", c.Kind, err)
		}
	}
	return nil
}

// Shares reports whether the Store's database may be shared with other
// masters (PostgreSQL), whose changes WatchShared then hears of.
func (s *Store) Shares() bool { return s.d.postgres }

// watchBackoff bounds the wait between two attempts at the listening
// connection: a restarted server is listened to again within it.
const watchBackoff = 5 * time.Second

// WatchShared calls on with each acknowledgement or silence another
// master on the database changes, within moments of its commit, until ctx
// is done. It keeps one connection of its own, LISTENing; when that
// connection breaks (the server restarted, the network failed) it
// reconnects with backoff, and after every (re)connection calls on with
// All set, since changes made meanwhile were not heard. The Store's own
// changes are not reported. on is called from one goroutine, in order.
// On SQLite (one master per file) it waits for ctx and returns nil.
func (s *Store) WatchShared(ctx context.Context, on func(SharedChange)) error {
	if !s.d.postgres {
		<-ctx.Done()
		return nil
	}
	backoff := 100 * time.Millisecond
	for {
		err := s.listen(ctx, on, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("not hearing the other masters' acknowledgements and silences, will retry",
			"retry_in", backoff, "error", redactError(err, s.dsn))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, watchBackoff)
	}
}

// listen runs one listening connection until it fails or ctx is done;
// up is called once it listens.
func (s *Store) listen(ctx context.Context, on func(SharedChange), up func()) error {
	cctx, cancel := context.WithTimeout(ctx, postgresConnectTimeout)
	conn, err := pgx.Connect(cctx, s.dsn)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+sharedChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	up()
	s.log.Debug("listening to the other masters' changes", "channel", sharedChannel)
	on(SharedChange{All: true})
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for a notification: %w", err)
		}
		var c SharedChange
		if err := json.Unmarshal([]byte(n.Payload), &c); err != nil {
			s.log.Warn("unreadable announcement of a change ignored", "channel", n.Channel, "error", err)
			continue
		}
		if c.Origin == s.opts.Instance {
			continue
		}
		on(c)
	}
}

// Ack returns the acknowledgement recorded for host (its UUID, or name
// when it has none) and probe ("" for the host's own); false when there is
// none.
func (s *Store) Ack(ctx context.Context, host, probe string) (event.Ack, bool, error) {
	a, err := scanAck(s.r.QueryRowContext(ctx, "SELECT "+ackColumns+" FROM acks WHERE host_key = ? AND probe = ?", host, probe))
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("read the acknowledgement of %s/%s: %w", host, probe, err)
	}
	return a, true, nil
}

// Silence returns silence id as recorded; false when it is not (ended,
// or never set).
func (s *Store) Silence(ctx context.Context, id string) (event.Silence, bool, error) {
	si, err := scanSilence(s.r.QueryRowContext(ctx, "SELECT "+silenceColumns+" FROM silences WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return si, false, nil
	}
	if err != nil {
		return si, false, fmt.Errorf("read silence %s: %w", id, err)
	}
	return si, true, nil
}
