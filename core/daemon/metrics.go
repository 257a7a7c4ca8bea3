package daemon

import (
	"net/http"

	"github.com/wigo-project/wigo/core/metrics"
	"github.com/wigo-project/wigo/core/ws"
)

// newMetricsRouter builds the daemon's metrics path: one queue and sender
// per output block. It subscribes to the bus at once (New calls it), so no
// probe result published before Run starts it is missed.
func (d *Daemon) newMetricsRouter() *metrics.Router {
	names := make([]string, 0, len(d.cfg.Outputs))
	for _, b := range d.cfg.Outputs {
		names = append(names, b.Label)
	}
	r := metrics.NewRouter(metrics.RouterOptions{
		Writer:  d.plugins,
		Outputs: names,
		Logger:  d.log.Named("metrics"),
	})
	r.Subscribe(d.bus)
	return r
}

// metricsHandler answers GET /metrics in the Prometheus exposition format:
// the whole tree held by this instance (every host, probe and probe
// measurement, remote hosts included) and the daemon's health (plugin
// restarts, notification outbox, metric points sent and dropped, websocket
// clients, push clients). hub and push may be nil (no websocket hub, no
// push server). Mount it behind the same basic auth as the API.
func (d *Daemon) metricsHandler(hub *ws.Hub, push metrics.PushAuthority) http.Handler {
	opts := metrics.CollectorOptions{
		State:   d.state,
		Router:  d.metrics,
		Plugins: d.plugins.Health,
		Cluster: d.cluster.get,
	}
	if d.transport != nil {
		opts.Transport = d.transport.Stats
	}
	if d.decider != nil {
		opts.Decisions = d.decider.Stats
	}
	if d.notify != nil {
		p := d.notify
		opts.Notifiers = p.Health
	}
	if hub != nil {
		opts.WebSocket = hub.Stats
	}
	if push != nil {
		opts.Push = push
	}
	return metrics.Handler(metrics.NewCollector(opts))
}
