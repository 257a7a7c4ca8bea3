package daemon

import (
	"context"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store"
)

// sharedFlushTimeout bounds the wait for this master's own changes to be
// committed before another's is compared with the store.
const sharedFlushTimeout = 5 * time.Second

// followShared applies the acknowledgements and silences the other masters
// on the database give, remove, set and end, until ctx is done: each is
// read back from the store and published through the state as a Shared
// event, so the decisions hold back what the other master's hold back and
// the dashboards show it, while the store logs and notifies nothing of it
// twice. Nothing to follow on SQLite, whose file has one master.
func (d *Daemon) followShared(ctx context.Context) {
	if !d.store.Shares() {
		return
	}
	if err := d.store.WatchShared(ctx, func(c store.SharedChange) { d.applyShared(ctx, c) }); err != nil {
		d.log.Error("stopped following the other masters' acknowledgements and silences", "error", err)
	}
}

// applyShared brings what the decisions hold of c's subject (everything,
// for c.All) to what the store records.
func (d *Daemon) applyShared(ctx context.Context, c store.SharedChange) {
	// A change of this master's own still in the writer is not yet in the
	// store: committed first, it is not taken for one the store lacks.
	fctx, cancel := context.WithTimeout(ctx, sharedFlushTimeout)
	err := d.store.Flush(fctx)
	cancel()
	if err != nil {
		// The listening connection breaks too when the database is gone;
		// its reconnection reads everything again.
		d.log.Warn("another master's change not applied: this master's own are not stored yet", "kind", c.Kind, "error", err)
		return
	}
	switch {
	case c.All:
		err = d.resyncShared(ctx)
	case c.Kind == store.SharedAck && c.Probe == "*":
		for _, a := range d.decider.Acks() {
			if hostKeyOf(a) == c.Host {
				if err = d.syncAck(ctx, c.Host, a.Probe, nil); err != nil {
					break
				}
			}
		}
	case c.Kind == store.SharedAck:
		err = d.syncAck(ctx, c.Host, c.Probe, c.Log)
	case c.Kind == store.SharedSilence:
		err = d.syncSilence(ctx, c.Silence, c.Log)
	}
	if err != nil {
		d.log.Error("another master's change not applied", "kind", c.Kind, "error", err)
	}
}

// hostKeyOf is how the store keys a's host: its UUID, or its name.
func hostKeyOf(a event.Ack) string {
	if a.HostUUID != "" {
		return a.HostUUID
	}
	return a.Host
}

// syncAck makes the decisions' acknowledgement of host (its store key) and
// probe the store's.
func (d *Daemon) syncAck(ctx context.Context, host, probe string, log *model.LogEntry) error {
	stored, ok, err := d.store.Ack(ctx, host, probe)
	if err != nil {
		return err
	}
	held, had := d.decider.Ack(host, host, probe)
	switch {
	case ok && (!had || !sameAck(stored, held)):
		d.log.Debug("acknowledgement given on another master", "target", stored.Target(), "author", stored.Author)
		d.state.SharedAck(stored, false, log)
	case !ok && had:
		d.log.Debug("acknowledgement removed on another master", "target", held.Target())
		d.state.SharedAck(held, true, log)
	}
	return nil
}

// syncSilence makes the decisions' silence id the store's.
func (d *Daemon) syncSilence(ctx context.Context, id string, log *model.LogEntry) error {
	stored, ok, err := d.store.Silence(ctx, id)
	if err != nil {
		return err
	}
	held, had := d.decider.Silence(id)
	switch {
	case ok && (!had || !sameSilence(stored, held)):
		d.log.Debug("silence set on another master", "id", id, "author", stored.Author)
		d.state.SharedSilence(stored, false, log)
	case !ok && had:
		d.log.Debug("silence ended on another master", "id", id)
		d.state.SharedSilence(held, true, log)
	}
	return nil
}

// resyncShared compares every acknowledgement and silence the decisions
// hold with the store's, after changes may have gone unheard.
func (d *Daemon) resyncShared(ctx context.Context) error {
	acks, err := d.store.Acks(ctx)
	if err != nil {
		return err
	}
	type ackKey struct{ host, probe string }
	keys := map[ackKey]bool{}
	for _, a := range acks {
		keys[ackKey{hostKeyOf(a), a.Probe}] = true
	}
	for _, a := range d.decider.Acks() {
		keys[ackKey{hostKeyOf(a), a.Probe}] = true
	}
	for k := range keys {
		if err := d.syncAck(ctx, k.host, k.probe, nil); err != nil {
			return err
		}
	}
	silences, err := d.store.Silences(ctx)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, si := range silences {
		ids[si.ID] = true
	}
	for _, si := range d.decider.Silences() {
		ids[si.ID] = true
	}
	for id := range ids {
		if err := d.syncSilence(ctx, id, nil); err != nil {
			return err
		}
	}
	return nil
}

// sameAck reports whether a and b are the same acknowledgement, times
// compared as instants (the store's have no monotonic reading).
func sameAck(a, b event.Ack) bool {
	return a.HostUUID == b.HostUUID && a.Host == b.Host && a.Probe == b.Probe && a.Status == b.Status &&
		a.Author == b.Author && a.Comment == b.Comment && a.Sticky == b.Sticky && a.Time.Equal(b.Time) && a.Expires.Equal(b.Expires)
}

// sameSilence reports whether a and b are the same silence, as sameAck.
func sameSilence(a, b event.Silence) bool {
	return a.ID == b.ID && a.Host == b.Host && a.Group == b.Group && a.Probe == b.Probe && a.Author == b.Author &&
		a.Comment == b.Comment && a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.Created.Equal(b.Created)
}
