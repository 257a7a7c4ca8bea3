package metrics

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/wigo-project/wigo/core/decide"
	"github.com/wigo-project/wigo/core/edge"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/transport"
	"github.com/wigo-project/wigo/core/ws"
)

// CollectorOptions name what GET /metrics reads. Only State is required;
// a nil source leaves its metrics out.
type CollectorOptions struct {
	// State is read at every scrape: the local host and every remote host
	// of the tree.
	State *state.State
	// Router gives the output counters (points sent, dropped, queued).
	Router *Router
	// Plugins returns the plugin instances' health (*plugin.Manager.Health).
	Plugins func() []plugin.InstanceHealth
	// Notifiers returns each notifier instance's delivery health and
	// outbox rows (*notify.Pipeline.Health).
	Notifiers func() []notify.InstanceHealth
	// WebSocket returns the websocket hub's counters (*ws.Hub.Stats).
	WebSocket func() ws.Stats
	// Decisions returns the core's decision counters
	// (*decide.Decider.Stats).
	Decisions func() decide.Stats
	// Transport returns what the transport plugins handed in, by the work
	// it cost (*transport.Host.Stats).
	Transport func() transport.Stats
	// Push is the push server's client authority (the API's
	// api.Authority); nil when this instance runs no push server.
	Push PushAuthority
	// Cluster returns what this master's heartbeats learnt of its database
	// and the other masters on it (GET /api/cluster).
	Cluster func() store.Cluster
}

// PushAuthority lists the push server's clients: waiting for approval and
// allowed, UUID → host name. api.Authority satisfies it.
type PushAuthority interface {
	List(ctx context.Context) (waiting, allowed map[string]string, err error)
}

// Collector produces GET /metrics. The daemon's health (wigo_up,
// plugins, outbox, outputs, websocket and push clients) is a
// prometheus.Collector in a registry of its own, with the Go runtime and
// process collectors. The tree (hosts, probes, probe measurements: tens of
// series per host, hundreds of thousands on a big master) is written
// straight in the text exposition format from the state: going through
// const metrics and the registry's gathering costs about ten times more
// CPU and memory per scrape for the same text (see BENCHMARKS.metrics.md).
type Collector struct {
	opts CollectorOptions
	reg  *prometheus.Registry
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector reading opts at every scrape.
func NewCollector(opts CollectorOptions) *Collector {
	c := &Collector{opts: opts, reg: prometheus.NewRegistry()}
	c.reg.MustRegister(c,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return c
}

// Handler serves c in the Prometheus text format (version 0.0.4), which
// every Prometheus version scrapes, gzipped (fastest level) when the
// client accepts it, as Prometheus does: the tree of a big master is
// megabytes of very repetitive text. Series the registry cannot gather are
// left out and the rest is still served, so one bad value never blanks
// the page.
func Handler(c *Collector) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		format := expfmt.NewFormat(expfmt.TypeTextPlain)
		w.Header().Set("Content-Type", string(format))
		if r.Method == http.MethodHead {
			return
		}
		var out io.Writer = w
		if edge.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Add("Vary", "Accept-Encoding")
			zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
			defer zw.Close()
			out = zw
		}
		bw := bufio.NewWriterSize(out, 64<<10)
		if c.opts.State != nil {
			writeTree(bw, c.opts.State.Hosts())
		}
		fams, _ := c.reg.Gather() // partial results on error, by design
		enc := expfmt.NewEncoder(bw, format)
		for _, f := range fams {
			if err := enc.Encode(f); err != nil {
				break // the client went away
			}
		}
		bw.Flush()
	})
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descUp           = desc("wigo_up", "1 while this Wigo instance answers.")
	descGlobalStatus = desc("wigo_global_status", "Worst status of this instance and every host it holds (100 OK … 999 DOWN).")

	descPluginUp       = desc("wigo_plugin_up", "1 when the plugin instance is running.", "kind", "instance", "plugin")
	descPluginRestarts = desc("wigo_plugin_restarts_total", "Restarts of the plugin instance after crashes.", "kind", "instance", "plugin")

	descOutbox       = desc("wigo_notify_outbox", "Notifications in the SQLite outbox by notifier instance and state (pending, held, dead).", "instance", "state")
	descNotifyDone   = desc("wigo_notify_delivered_total", "Notifications delivered since start, by notifier instance.", "instance")
	descNotifyFailed = desc("wigo_notify_failed_total", "Failed notification delivery attempts since start, by notifier instance.", "instance")
	descNotifyDead   = desc("wigo_notify_dead_lettered_total", "Notifications that became dead letters since start, by notifier instance.", "instance")
	descNotifyState  = desc("wigo_notify_state", "1 for the delivery state the notifier instance is in (healthy, degraded, failing), 0 for the others.", "instance", "state")
	descNotifyRow    = desc("wigo_notify_consecutive_failures", "Delivery attempts in a row that failed, by notifier instance (0 after a success).", "instance")
	descNotifyOK     = desc("wigo_notify_last_success_timestamp_seconds", "When the notifier instance last delivered (unix seconds; 0: not since start).", "instance")
	descNotifyKO     = desc("wigo_notify_last_failure_timestamp_seconds", "When a delivery attempt of the notifier instance last failed (unix seconds; 0: not since start).", "instance")

	descOutSent    = desc("wigo_output_points_sent_total", "Metric points handed to the output plugin.", "output")
	descOutDropped = desc("wigo_output_points_dropped_total", "Metric points lost on the way to the output, by reason (queue_full, output, refused, shutdown).", "output", "reason")
	descOutQueued  = desc("wigo_output_queue_points", "Metric points waiting in the core for the output.", "output")
	descOutFailed  = desc("wigo_output_write_failures_total", "Writes to the output that could not reach it (retried).", "output")
	descEvDropped  = desc("wigo_metrics_events_dropped_total", "Probe results the metrics path missed because it could not keep up with the event bus.")

	descWSClients = desc("wigo_websocket_clients", "Connected websocket (dashboard) clients.")
	descWSDropped = desc("wigo_websocket_clients_dropped_total", "Websocket clients closed because they could not keep up.")

	descAcks      = desc("wigo_acknowledgements", "Acknowledgements in force (hosts and probes whose problem someone took).")
	descSilences  = desc("wigo_silences", "Silences in force now (planned ones not counted until they start).")
	descFlapping  = desc("wigo_flapping", "Hosts and probes flapping now (their changes are held back).")
	descHeldBack  = desc("wigo_notifications_held_back_total", "Changes not notified since start, by the reason the core decided (acknowledged, silenced, flapping, attempts, dependency; quiet_hours: put off for some notifier until its quiet hours end).", "reason")
	descTransport = desc("wigo_transport_updates_total", "Host updates the transport plugins handed to the core since start, by what the core had to decode: document (whole), patch (some probes), unchanged (nothing: the host answered with what it had already sent).", "kind")
	descDatabase  = desc("wigo_database_reachable", "1 when this master's last heartbeat reached its database, 0 when it failed.")
	descPeerUp    = desc("wigo_peer_up", "1 while the database hears from the other master sharing it (a heartbeat every second), 0 once it has not for 5 s.", "peer", "hostname")
	descPeerLag   = desc("wigo_peer_lag_seconds", "How long ago the database last heard from the other master, on the database's clock.", "peer", "hostname")
	descPush      = desc("wigo_push_clients", "Push clients known to this instance's push server, by state (waiting for approval, allowed).", "state")
)

// Describe implements prometheus.Collector; it sends nothing, which makes
// the collector unchecked (see Collector).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	counter := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, lv...)
	}
	gauge(descUp, 1)
	if st := c.opts.State; st != nil {
		gauge(descGlobalStatus, float64(st.GlobalStatus()))
	}
	if c.opts.Plugins != nil {
		for _, h := range c.opts.Plugins() {
			up := 0.0
			if h.State == plugin.StateRunning {
				up = 1
			}
			gauge(descPluginUp, up, h.Kind, h.Instance, h.Plugin)
			counter(descPluginRestarts, float64(h.Restarts), h.Kind, h.Instance, h.Plugin)
		}
	}
	if c.opts.Notifiers != nil {
		unix := func(t time.Time) float64 {
			if t.IsZero() {
				return 0
			}
			return float64(t.UnixNano()) / 1e9
		}
		for _, h := range c.opts.Notifiers() {
			gauge(descOutbox, float64(h.Pending), h.Instance, "pending")
			gauge(descOutbox, float64(h.Held), h.Instance, "held")
			gauge(descOutbox, float64(h.Dead), h.Instance, "dead")
			counter(descNotifyDone, float64(h.Delivered), h.Instance)
			counter(descNotifyFailed, float64(h.Failed), h.Instance)
			counter(descNotifyDead, float64(h.DeadLettered), h.Instance)
			for _, state := range []string{notify.DeliveryHealthy, notify.DeliveryDegraded, notify.DeliveryFailing} {
				on := 0.0
				if h.State == state {
					on = 1
				}
				gauge(descNotifyState, on, h.Instance, state)
			}
			gauge(descNotifyRow, float64(h.ConsecutiveFailures), h.Instance)
			gauge(descNotifyOK, unix(h.LastSuccess), h.Instance)
			gauge(descNotifyKO, unix(h.LastFailure), h.Instance)
		}
	}
	if r := c.opts.Router; r != nil {
		counter(descEvDropped, float64(r.EventsDropped()))
		for _, s := range r.Stats() {
			counter(descOutSent, float64(s.Sent), s.Output)
			gauge(descOutQueued, float64(s.Queued), s.Output)
			counter(descOutFailed, float64(s.Failed), s.Output)
			// Every reason is always present so a rate() starts from 0.
			for _, reason := range []string{DropQueueFull, DropOutput, DropRefused, DropShutdown} {
				counter(descOutDropped, float64(s.Dropped[reason]), s.Output, reason)
			}
		}
	}
	if c.opts.WebSocket != nil {
		s := c.opts.WebSocket()
		gauge(descWSClients, float64(s.Clients))
		counter(descWSDropped, float64(s.Dropped))
	}
	if c.opts.Decisions != nil {
		s := c.opts.Decisions()
		gauge(descAcks, float64(s.Acks))
		gauge(descSilences, float64(s.Silences))
		gauge(descFlapping, float64(s.Flapping))
		for _, reason := range []string{event.HeldAcknowledged, event.HeldSilenced, event.HeldFlapping, event.HeldAttempts, event.HeldDependency, event.HeldQuietHours} {
			counter(descHeldBack, float64(s.HeldBack[reason]), reason)
		}
	}
	if c.opts.Transport != nil {
		s := c.opts.Transport()
		counter(descTransport, float64(s.Documents), "document")
		counter(descTransport, float64(s.Patches), "patch")
		counter(descTransport, float64(s.Unchanged), "unchanged")
	}
	if c.opts.Cluster != nil {
		v := c.opts.Cluster()
		up := 0.0
		if v.Database.Reachable {
			up = 1
		}
		gauge(descDatabase, up)
		for _, p := range v.Peers {
			up := 0.0
			if p.Up {
				up = 1
			}
			gauge(descPeerUp, up, p.Instance, p.Hostname)
			gauge(descPeerLag, p.LagSeconds, p.Instance, p.Hostname)
		}
	}
	if c.opts.Push != nil {
		// One call to the push plugin per scrape, bounded: a hung plugin
		// costs the scrape this series, not the whole page.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		waiting, allowed, err := c.opts.Push.List(ctx)
		cancel()
		if err == nil {
			gauge(descPush, float64(len(waiting)), "waiting")
			gauge(descPush, float64(len(allowed)), "allowed")
		}
	}
}

// The tree's families, written by writeTree.
const (
	helpHostUp      = "1 when the host is alive, 0 when DOWN (nothing heard for alive_timeout)."
	helpHostStatus  = "Worst probe status of the host, 999 when DOWN."
	helpHostUpdate  = "When this instance last heard of the host."
	helpProbeStatus = "Status of the probe's last result (100 OK, 101-199 INFO, 200-299 WARN, 300-499 CRIT, 500+ ERROR)."
	helpProbeRun    = "When the probe's last result was produced."
	helpProbeMetric = "A measurement the probe reports in its Metrics, labelled with its tags as tag_<key>."
)

// writeTree writes the host and probe families. Host names are not unique
// across a fleet; two hosts with the same name and group would make
// duplicate series (which Prometheus refuses), so the first one wins: the
// local host, then remote hosts by name and UUID.
func writeTree(w *bufio.Writer, all []*state.Host) {
	seen := make(map[string]bool, len(all))
	hosts := all[:0:0]
	for _, h := range all {
		if k := h.Name + "\x00" + h.Group; !seen[k] {
			seen[k] = true
			hosts = append(hosts, h)
		}
	}
	names := make([][]string, len(hosts))
	for i, h := range hosts {
		names[i] = sortedProbes(h.Probes)
	}
	var t textWriter
	t.w = w
	t.header("wigo_host_up", helpHostUp)
	for _, h := range hosts {
		up := 0.0
		if h.Alive {
			up = 1
		}
		t.hostSample("wigo_host_up", h, up)
	}
	t.header("wigo_host_status", helpHostStatus)
	for _, h := range hosts {
		t.hostSample("wigo_host_status", h, float64(h.Status))
	}
	t.header("wigo_host_last_update_timestamp_seconds", helpHostUpdate)
	for _, h := range hosts {
		if !h.LastUpdate.IsZero() {
			t.hostSample("wigo_host_last_update_timestamp_seconds", h, float64(h.LastUpdate.Unix()))
		}
	}
	t.header("wigo_probe_status", helpProbeStatus)
	for i, h := range hosts {
		for _, p := range names[i] {
			t.probeSample("wigo_probe_status", h, p, float64(h.Probes[p].Status))
		}
	}
	t.header("wigo_probe_last_run_timestamp_seconds", helpProbeRun)
	for i, h := range hosts {
		for _, p := range names[i] {
			if ts := h.Probes[p].Timestamp; ts > 0 {
				t.probeSample("wigo_probe_last_run_timestamp_seconds", h, p, float64(ts))
			}
		}
	}
	t.header("wigo_probe_metric", helpProbeMetric)
	for i, h := range hosts {
		for _, p := range names[i] {
			if ms := h.Probes[p].Metrics; len(ms) > 0 {
				t.probeMetrics(h, p, ms)
			}
		}
	}
}

func sortedProbes(m map[string]*model.ProbeResult) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// textWriter writes samples in the text exposition format. Write errors
// (the client went away) are left to the final Flush.
type textWriter struct {
	w    *bufio.Writer
	num  []byte
	seen map[string]bool
	// labels caches LabelName: fleets use a handful of tag keys.
	labels map[string]string
	sig    []byte
	pairs  []labelPair
}

type labelPair struct{ name, value string }

func (t *textWriter) labelName(key string) string {
	if l, ok := t.labels[key]; ok {
		return l
	}
	if t.labels == nil {
		t.labels = make(map[string]string)
	}
	l := LabelName(key)
	t.labels[key] = l
	return l
}

func (t *textWriter) header(name, help string) {
	t.w.WriteString("# HELP ")
	t.w.WriteString(name)
	t.w.WriteByte(' ')
	t.w.WriteString(help)
	t.w.WriteString("\n# TYPE ")
	t.w.WriteString(name)
	t.w.WriteString(" gauge\n")
}

// label writes `,name="value"` (without the comma for the first label),
// escaped as the format requires; invalid UTF-8 becomes U+FFFD.
func (t *textWriter) label(first bool, name, value string) {
	if !first {
		t.w.WriteByte(',')
	}
	t.w.WriteString(name)
	t.w.WriteString(`="`)
	if !utf8.ValidString(value) {
		value = strings.ToValidUTF8(value, "\uFFFD")
	}
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\':
			t.w.WriteString(`\\`)
		case '"':
			t.w.WriteString(`\"`)
		case '\n':
			t.w.WriteString(`\n`)
		default:
			t.w.WriteByte(c)
		}
	}
	t.w.WriteByte('"')
}

func (t *textWriter) value(v float64) {
	t.w.WriteString("} ")
	switch {
	case math.IsNaN(v):
		t.w.WriteString("NaN")
	case math.IsInf(v, 1):
		t.w.WriteString("+Inf")
	case math.IsInf(v, -1):
		t.w.WriteString("-Inf")
	default:
		t.num = strconv.AppendFloat(t.num[:0], v, 'g', -1, 64)
		t.w.Write(t.num)
	}
	t.w.WriteByte('\n')
}

func (t *textWriter) hostSample(name string, h *state.Host, v float64) {
	t.w.WriteString(name)
	t.w.WriteByte('{')
	t.label(true, "host", h.Name)
	t.label(false, "group", h.Group)
	t.value(v)
}

func (t *textWriter) probeSample(name string, h *state.Host, probe string, v float64) {
	t.w.WriteString(name)
	t.w.WriteByte('{')
	t.label(true, "host", h.Name)
	t.label(false, "group", h.Group)
	t.label(false, "probe", probe)
	t.value(v)
}

// probeMetrics writes wigo_probe_metric for one probe: labels host, group,
// probe and tag_<key> for each of the metric's tags. Prometheus reads a
// missing label as an empty one, so every series of the probe has the
// union of its tag keys as dimensions without writing the empty ones. Keys
// that sanitise to the same label name share it, the first key in sorted
// order providing the value; two metrics with the same labels would be
// duplicate series, so the first one wins.
func (t *textWriter) probeMetrics(h *state.Host, probe string, ms []model.Metric) {
	if t.seen == nil {
		t.seen = make(map[string]bool)
	}
	clear(t.seen)
	for _, m := range ms {
		pairs := t.pairs[:0]
		for k, v := range m.Tags {
			if v != "" {
				pairs = append(pairs, labelPair{t.labelName(k), v})
			}
		}
		slices.SortFunc(pairs, func(a, b labelPair) int { return strings.Compare(a.name, b.name) })
		sig := t.sig[:0]
		n := 0
		for i, p := range pairs {
			if i > 0 && p.name == pairs[i-1].name {
				continue // an earlier key sanitised to the same label
			}
			pairs[n] = p
			n++
			sig = append(append(append(append(sig, p.name...), 0), p.value...), 0)
		}
		pairs = pairs[:n]
		t.pairs, t.sig = pairs, sig
		if t.seen[string(sig)] {
			continue
		}
		t.seen[string(sig)] = true
		t.w.WriteString("wigo_probe_metric{")
		t.label(true, "host", h.Name)
		t.label(false, "group", h.Group)
		t.label(false, "probe", probe)
		for _, p := range pairs {
			t.label(false, p.name, p.value)
		}
		t.value(m.Value)
	}
}

// LabelName is the Prometheus label name of a probe tag key: "tag_"
// followed by the lower-cased key with anything outside [a-z0-9_] turned
// into '_'.
func LabelName(key string) string {
	var b strings.Builder
	b.Grow(4 + len(key))
	b.WriteString("tag_")
	for _, r := range strings.ToLower(key) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
