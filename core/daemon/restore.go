package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/decide"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/store"
)

// lastHeardInterval is how often the time each remote host was last heard
// of is saved. It bounds how far "not heard since" can be off after a
// kill -9; a clean stop saves it exactly.
const lastHeardInterval = 30 * time.Second

// restore loads what the previous run of this instance recorded (every
// host with the last known status of its probes) into st, before any probe
// or transport runs, so that changes are computed against it (see
// core/state/restore.go).
//
// Flap detection replays the changes logged since flapSince, so that a
// subject flapping before the restart still flaps after it (and is not
// announced again).
//
// The open problems come back with their renotify and escalation timers
// where they were. A probe left at a problem, or a remote host left DOWN,
// that the store holds no problem of (it had no timer to keep, or the
// database is from before problems were kept) is an open problem as if
// notified at now: renotified an interval later, not at once; unless a
// silence or a DOWN parent held it back from a status that was none.
// Changes put off by quiet hours wait for their end again.
func restore(st *state.State, decider *decide.Decider, db *store.Store, now, flapSince time.Time, log hclog.Logger) error {
	records, err := db.Hosts(context.Background())
	if err != nil {
		return fmt.Errorf("restore the state recorded by the previous run: %w", err)
	}
	acks, err := db.Acks(context.Background())
	if err != nil {
		return fmt.Errorf("restore the acknowledgements recorded by the previous run: %w", err)
	}
	silences, err := db.Silences(context.Background())
	if err != nil {
		return fmt.Errorf("restore the silences recorded by the previous run: %w", err)
	}
	pending, err := db.SilencedPending(context.Background())
	if err != nil {
		return fmt.Errorf("restore the silences recorded by the previous run: %w", err)
	}
	decider.Restore(acks, silences, pending)
	soft, err := db.SoftStates(context.Background())
	if err != nil {
		return fmt.Errorf("restore the soft changes recorded by the previous run: %w", err)
	}
	decider.RestoreSoft(soft)
	delays, err := db.Delays(context.Background())
	if err != nil {
		return fmt.Errorf("restore the changes put off by quiet hours: %w", err)
	}
	decider.RestoreDelays(delays)
	hosts := make([]*state.Host, 0, len(records))
	probes, down := 0, 0
	for _, r := range records {
		hosts = append(hosts, &state.Host{
			UUID: r.UUID, Name: r.Name, Group: r.Group, Version: r.Version,
			Parent: r.Parent, Origin: r.Origin, Source: r.Source, Remote: r.Remote, Alive: r.Alive,
			LastUpdate: r.LastHeard, Probes: r.Probes,
		})
		probes += len(r.Probes)
		if r.Remote && !r.Alive {
			down++
		}
	}
	st.Restore(hosts)
	changes, err := db.Changes(context.Background(), flapSince)
	if err != nil {
		return fmt.Errorf("restore the recent changes for flap detection: %w", err)
	}
	byName := make(map[string]store.HostRecord, len(records))
	for _, r := range records {
		byName[r.Name] = r
	}
	kept := changes[:0]
	for _, e := range changes {
		r, ok := byName[e.Host]
		if !ok {
			continue // a host removed since
		}
		e.HostUUID = r.UUID
		if e.NewStatus == 0 {
			e.NewStatus = recordedStatus(r, e.Probe) // logged before statuses were
		}
		kept = append(kept, e)
	}
	decider.RestoreChanges(kept)
	open, err := db.Problems(context.Background())
	if err != nil {
		return fmt.Errorf("restore the open problems recorded by the previous run: %w", err)
	}
	// Subjects by host UUID (name when it has none) and probe.
	subject := func(p event.Pending) [2]string {
		if p.HostUUID != "" {
			return [2]string{p.HostUUID, p.Probe}
		}
		return [2]string{p.Host, p.Probe}
	}
	recorded := make(map[[2]string]bool, len(open))
	for _, p := range open {
		recorded[subject(p.Pending)] = true
	}
	// What a silence or a DOWN parent held back was not heard: such a
	// subject is an open problem only if what people last heard of it was.
	heard := make(map[[2]string]int, len(pending))
	for _, p := range pending {
		heard[[2]string{p.HostUUID, p.Probe}] = p.Notified
	}
	unrecorded := func(p event.Pending) {
		if recorded[subject(p)] {
			return
		}
		if n, held := heard[[2]string{p.HostUUID, p.Probe}]; held {
			p.Notified = n
		}
		if p.Notified > model.StatusOK {
			open = append(open, event.Problem{Pending: p, Since: now})
		}
	}
	var downHosts []string
	for _, r := range records {
		if r.Remote && !r.Alive {
			downHosts = append(downHosts, r.Name)
			unrecorded(event.Pending{HostUUID: r.UUID, Host: r.Name, Group: r.Group, Notified: model.StatusDown})
		}
		for name, p := range r.Probes {
			if p.Status > model.StatusOK {
				unrecorded(event.Pending{HostUUID: r.UUID, Host: r.Name, Group: r.Group, Probe: name, Notified: p.Status})
			}
		}
	}
	decider.RestoreProblems(open)
	decider.RestoreDown(downHosts, now)
	if len(records) > 0 {
		log.Info("state restored from the database", "hosts", len(records), "probes", probes, "down", down, "acks", len(acks), "silences", len(silences))
	}
	return nil
}

// saveLastHeardEvery saves when each remote host was last heard of every
// interval until ctx is done.
func (d *Daemon) saveLastHeardEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.saveLastHeard(ctx)
		}
	}
}

func (d *Daemon) saveLastHeard(ctx context.Context) {
	if err := d.store.SaveLastHeard(ctx, d.state.LastHeard()); err != nil && ctx.Err() == nil {
		// A late save only makes "not heard since" older after a crash.
		d.log.Warn("cannot save when remote hosts were last heard", "error", err)
	}
}

// recordedStatus is the status r recorded for probe, or for the host itself
// (probe ""): DOWN, or its worst probe.
func recordedStatus(r store.HostRecord, probe string) int {
	if probe != "" {
		if p := r.Probes[probe]; p != nil {
			return p.Status
		}
		return model.StatusOK
	}
	if r.Remote && !r.Alive {
		return model.StatusDown
	}
	worst := model.StatusOK
	for _, p := range r.Probes {
		worst = max(worst, p.Status)
	}
	return worst
}
