package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/wigo-project/wigo/core/store"
)

// Heartbeats: every second on PostgreSQL, where a peer may be watching;
// every ten on SQLite, whose one master only learns that its file is
// writable. A peer is up while its last beat is at most peerTimeout old.
const (
	beatShared  = time.Second
	beatAlone   = 10 * time.Second
	peerTimeout = 5 * time.Second
	beatTimeout = 3 * time.Second
)

// cluster keeps the latest heartbeat's view.
type cluster struct {
	mu   sync.Mutex
	view store.Cluster
}

func (c *cluster) get() store.Cluster {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.view
	v.Peers = append([]store.PeerHealth{}, v.Peers...)
	return v
}

// beatEvery writes this master's heartbeat every interval until ctx is
// done and keeps what it learns for /api/cluster and /metrics. Losing the
// database is an error in the log once, and its return a line; the live
// state keeps being served meanwhile.
func (d *Daemon) beatEvery(ctx context.Context) {
	interval := beatAlone
	if d.store.Shares() {
		interval = beatShared
	}
	self := store.Master{Instance: d.uuid, Hostname: d.cfg.Hostname, URL: d.URL(), Version: Version, Started: time.Now()}
	if d.cfg.HTTP.PublicURL != "" {
		self.URL = d.cfg.HTTP.PublicURL
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d.beat(ctx, self)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// beat writes one heartbeat and updates the view.
func (d *Daemon) beat(ctx context.Context, self store.Master) {
	bctx, cancel := context.WithTimeout(ctx, beatTimeout)
	rows, now, err := d.store.Heartbeat(bctx, self)
	cancel()
	if ctx.Err() != nil {
		return
	}
	c := &d.cluster
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.view
	v.Backend = d.store.Backend()
	was := v.Database
	if err != nil {
		v.Database.Reachable, v.Database.Error = false, err.Error()
		if was.Reachable || was.Since.IsZero() {
			v.Database.Since = time.Now()
			d.log.Error("this master cannot reach its database: changes are not stored or notified until it is back; the live state is still served",
				"database", d.store.Path(), "error", err)
		}
		// The peers as last heard, their lag growing.
		for i := range v.Peers {
			p := &v.Peers[i]
			p.LagSeconds = time.Since(p.Beat).Seconds()
			p.Up = false
		}
		return
	}
	if !was.Reachable {
		v.Database.Since = time.Now()
		if !was.Since.IsZero() {
			d.log.Info("this master reaches its database again", "database", d.store.Path(), "down_for", time.Since(was.Since).Round(time.Second))
		}
	}
	v.Database.Reachable, v.Database.Error = true, ""
	peers := make([]store.PeerHealth, 0, len(rows))
	for _, r := range rows {
		if r.Instance == self.Instance {
			v.Self = r
			continue
		}
		lag := max(0, now.Sub(r.Beat))
		p := store.PeerHealth{Master: r, Up: lag <= peerTimeout, LagSeconds: lag.Seconds()}
		if prev := peerOf(v.Peers, r.Instance); prev != nil && prev.Up != p.Up {
			if p.Up {
				d.log.Info("peer master up", "peer", r.Hostname, "uuid", r.Instance)
			} else {
				d.log.Warn("peer master down: nothing heard from it", "peer", r.Hostname, "uuid", r.Instance, "last_seen", r.Beat)
			}
		}
		peers = append(peers, p)
	}
	v.Peers = peers
}

func peerOf(peers []store.PeerHealth, instance string) *store.PeerHealth {
	for i := range peers {
		if peers[i].Instance == instance {
			return &peers[i]
		}
	}
	return nil
}

// serveCluster answers GET /api/cluster.
func (d *Daemon) serveCluster(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(d.cluster.get())
}
