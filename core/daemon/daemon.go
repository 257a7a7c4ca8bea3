// Package daemon wires the core together: configuration, state, the event
// bus, the SQLite store, the probe manager and the HTTP API. cmd/wigo is a
// thin shell around it, and tests start whole daemons through it.
//
// Data flows one way: probes → state → events → store (and plugins and the
// websocket hub), and the API reads the state and the store. The one flow
// back is at start: the store's record of hosts and probe statuses is
// restored into the state before anything runs (restore.go).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/decide"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/metrics"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/core/probe"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/transport"
)

// Version is the daemon's version, set at build time with
// -ldflags "-X github.com/wigo-project/wigo/core/daemon.Version=…".
var Version = "dev"

// Daemon is one running Wigo instance.
type Daemon struct {
	log   hclog.Logger
	cfg   *config.Config
	uuid  string
	bus   *event.Bus
	state *state.State
	store *store.Store
	probe *probe.Manager

	plugins *plugin.Manager
	// remote forwards probe control on remote hosts to the transports
	// (nil without a plugin manager); a reload changes their list.
	remote *remoteControl
	// routes are the HTTP routes besides the API's, with their roles.
	routes []route
	// transport is the core as the transport plugins see it; /metrics
	// reads its counters.
	transport *transport.Host
	notify    *notify.Pipeline
	// decider holds what the core's decisions depend on (acknowledgements,
	// silences).
	decider *decide.Decider
	// clock is the time the daemon's own schedules run on.
	clock Clock
	// reloaded wakes the scheduler of silences after a reload.
	reloaded chan struct{}
	// opened remembers the maintenance silences opened and not past their
	// window's end, by this run and the previous ones (the store keeps
	// them), so that one ended or expired early is not opened again.
	opened map[string]time.Time
	// logSub feeds the store's writer (log rows, the records a restart
	// restores, the outbox).
	logSub *event.Subscription
	// metrics carries probe measurements to the output plugins and counts
	// what it sends and drops, for /metrics.
	metrics *metrics.Router
	// notifyBlocks are the notify blocks with the core's attributes taken
	// out: what the plugins decode against their schema.
	notifyBlocks []config.PluginBlock
	// cluster is what the heartbeats learnt of the database and the
	// other masters on it (cluster.go).
	cluster cluster
	// pluginsStarted is closed once the first start of the plugins is
	// over: a reload waits for it.
	pluginsStarted chan struct{}

	listener net.Listener
	server   *http.Server

	mu sync.Mutex // guards cfg during Reload
}

// New prepares a daemon from a loaded configuration: it opens the database,
// reads or creates the UUID and binds the HTTP listener, so that every
// start-up error is reported before anything runs. Nothing runs until Run.
func New(cfg *config.Config, log hclog.Logger, opts ...Option) (*Daemon, error) {
	o := options{clock: systemClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	id, err := LoadOrCreateUUID(cfg.UUIDFile)
	if err != nil {
		return nil, err
	}
	bus := event.NewBus()
	decider := decide.New()
	decider.SetClock(o.clock.Now)
	decider.SetFlapping(cfg.Flapping.Window, cfg.Flapping.Threshold)
	decider.SetAttempts(cfg.Attempts, cfg.RecoveryAttempts)
	decider.SetChecks(checks(cfg))
	decider.SetDependencies(dependencies(cfg), cfg.AliveTimeout)
	st := state.New(state.Options{
		Now:          o.clock.Now,
		Decide:       decider.Decide,
		UUID:         id,
		Hostname:     cfg.Hostname,
		Group:        cfg.Group,
		Version:      Version,
		AliveTimeout: cfg.AliveTimeout,
		Bus:          bus,
	})
	// retention_days = 0 means keep forever, which the store spells as a
	// negative retention (its zero value is the 30-day default).
	retention := cfg.Logs.Retention()
	if retention == 0 {
		retention = -1
	}
	db, err := OpenStore(cfg, store.Options{
		Retention: retention,
		Logger:    log,
		// Masters sharing a database tell their changes apart by UUID.
		Instance: id,
		History: store.HistoryOptions{Enabled: cfg.History.Enabled, RemoteHosts: cfg.History.RemoteHosts,
			RawRetention: cfg.History.RawRetention, Retention: cfg.History.Retention},
	})
	if err != nil {
		return nil, err
	}
	if err := restore(st, decider, db, o.clock.Now(), o.clock.Now().Add(-cfg.Flapping.Window), log); err != nil {
		db.Close()
		return nil, err
	}
	opened, err := db.MaintenanceOpened(context.Background(), o.clock.Now())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("restore the maintenance windows opened by the previous run: %w", err)
	}
	instances, blocks, diags := notifiers(cfg)
	if diags.HasErrors() {
		db.Close()
		return nil, fmt.Errorf("notify blocks:\n%s", config.FormatDiagnostics(diags))
	}
	decideNotifiers(decider, instances)
	// A notifier that comes (back) up resumes what waited for it at once.
	var pipeline *notify.Pipeline
	onRunning := func(kind, label string) {
		if kind != config.KindNotify || pipeline == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pipeline.Resume(ctx, label); err != nil {
			log.Warn("cannot resume notifications", "instance", label, "error", err)
		}
	}
	th := transportHost(st, log)
	plugins := plugin.NewManager(plugin.Options{Dir: cfg.PluginsDir, Logger: log.Named("plugin"),
		Host: th, OnRunning: onRunning})
	pipeline, err = notify.New(notify.Options{
		Store:        db,
		Sender:       pluginSender(plugins),
		Instances:    instances,
		Logger:       log.Named("notify"),
		DashboardURL: cfg.HTTP.PublicURL,
		// Masters sharing a database claim notifications each in its own
		// name; the UUID survives a restart, which frees its claims.
		Owner:       id,
		SendTimeout: cfg.Delivery.SendTimeout,
		Lease:       cfg.Delivery.Lease,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("notification pipeline: %w", err)
	}
	d := &Daemon{log: log, cfg: cfg, uuid: id, clock: o.clock, bus: bus, state: st, store: db, decider: decider,
		plugins: plugins, transport: th, notify: pipeline, notifyBlocks: blocks,
		reloaded: make(chan struct{}, 1), opened: opened, pluginsStarted: make(chan struct{})}
	// The store subscribes first, before anything can publish, and loses
	// nothing: it applies back-pressure rather than dropping a status
	// change. It only asks for the kinds it may log, record (the hosts,
	// acknowledgements and silences a restart restores) or notify, so the
	// high-volume probe_updated stream never crosses its channel: only the
	// few results logged (those counting toward a soft change) do, and,
	// with the metric history on, those carrying metrics (storeAlso).
	d.logSub = d.bus.Subscribe(event.SubscribeOptions{Lossless: true, Buffer: 4096,
		Kinds: append([]event.Kind{event.HostAppeared, event.Acknowledged, event.AckRemoved,
			event.SilenceSet, event.SilenceEnded}, notify.Kinds...), Also: d.storeAlso(cfg.History)})

	d.metrics = d.newMetricsRouter()
	holds, err := db.Holds(context.Background())
	if err != nil {
		db.Close()
		return nil, err
	}
	d.probe = probe.New(probe.Options{
		Dir:       cfg.ProbesDir,
		ConfigDir: cfg.ProbesConfigDir,
		Timeout:   cfg.ProbeTimeout,
		Logger:    log.Named("probe"),
		Sink:      st,
		Previous:  st.Local().ProbeNames(),
		Holds:     holds,
		Now:       o.clock.Now,
		At:        o.clock.At,
		OnHold: func(h probe.Hold, on bool) {
			err := db.EndHold(context.Background(), h.Probe)
			if on {
				err = db.SetHold(context.Background(), h)
			}
			if err != nil {
				log.Error("probe hold not kept", "probe", h.Probe, "error", err)
			}
		},
	})
	if cfg.HTTP.Enabled {
		if err := d.listen(); err != nil {
			db.Close()
			return nil, err
		}
	} else {
		// No listener, but a push master's probe control still goes
		// through the API's route table.
		d.newAPI(d.authenticator(log.Named("http")), log.Named("http"))
	}
	return d, nil
}

// Addr is the HTTP listener's address (useful with port 0), or "" when the
// HTTP server is disabled.
func (d *Daemon) Addr() string {
	if d.listener == nil {
		return ""
	}
	return d.listener.Addr().String()
}

// URL is the base URL of the API, or "" when HTTP is disabled.
func (d *Daemon) URL() string {
	if d.listener == nil {
		return ""
	}
	scheme := "http"
	if d.cfg.HTTP.TLS() {
		scheme = "https"
	}
	return scheme + "://" + d.Addr()
}

// State is the daemon's state (tests and embedders read it).
func (d *Daemon) State() *state.State { return d.state }

// Acks are the acknowledgements the core's decisions hold.
func (d *Daemon) Acks() []event.Ack { return d.decider.Acks() }

// Silences returns the silences not yet ended.
func (d *Daemon) Silences() []event.Silence { return d.decider.Silences() }

// OpenStore opens the database cfg names: the PostgreSQL one of its store
// block, or else the SQLite file database. The daemon and the commands
// that work on its database (wigo token) open it alike.
func OpenStore(cfg *config.Config, opts store.Options) (*store.Store, error) {
	if cfg.Store.Backend != config.StorePostgres {
		return store.Open(cfg.Database, opts)
	}
	dsn, err := cfg.Store.DSNText()
	if err != nil {
		return nil, err
	}
	return store.OpenPostgres(dsn, opts)
}

// Store is the daemon's database.
func (d *Daemon) Store() *store.Store { return d.store }

// UUID is the instance UUID.
func (d *Daemon) UUID() string { return d.uuid }

// Run runs until ctx is done, then stops everything in order: probes are
// killed, the HTTP server drains, pending log rows are committed and the
// database is closed. It returns the first error that stopped a component.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.log.Info("wigo started", "version", Version, "hostname", d.cfg.Hostname, "uuid", d.uuid,
		"probes_dir", d.cfg.ProbesDir, "database", d.store.Path(), "backend", d.store.Backend(), "http", d.URL())

	// The store's writer also queues the notification of every event that
	// passes a filter, in the transaction that logs and records the
	// event: a crash can lose neither half of a change without the other.
	d.store.SetOutbox(d.notify)

	// Plugins start beside everything else, not before it: a plugin that
	// hangs at its handshake must not keep the API and the probes waiting
	// (notifications wait for their notifier in the outbox meanwhile). One
	// that cannot start is logged, shown in the API and retried; the core
	// and the other plugins keep running.
	go func() {
		defer close(d.pluginsStarted)
		logDiagnostics(d.log, hclog.Error, "plugin not started", d.plugins.Start(ctx, pluginBlocks(d.notifyBlocks, d.cfg)))
	}()
	notifyCtx, stopNotify := context.WithCancel(context.Background())
	defer stopNotify()
	notifyDone := make(chan struct{})
	go func() {
		defer close(notifyDone)
		if err := d.notify.Run(notifyCtx, nil); err != nil {
			d.log.Error("notification pipeline stopped", "err", err)
		}
	}()

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	storeDone := make(chan struct{})
	go func() {
		defer close(storeDone)
		if err := d.store.Consume(context.Background(), d.logSub); err != nil {
			d.log.Error("status-change log writer stopped", "err", err)
		}
	}()
	run("state", func() error { d.state.Run(ctx); return nil })
	run("store retention", func() error { d.store.RunRetention(ctx); return nil })
	run("metric history", func() error { d.maintainHistory(ctx); return nil })
	run("last heard", func() error { d.saveLastHeardEvery(ctx, lastHeardInterval); return nil })
	run("silences", func() error { d.runSchedules(ctx); return nil })
	run("shared", func() error { d.followShared(ctx); return nil })
	run("heartbeat", func() error { d.beatEvery(ctx); return nil })
	run("metrics", func() error { d.metrics.Run(ctx); return nil })
	run("probes", func() error { return d.probe.Run(ctx) })
	if d.server != nil {
		run("http", func() error {
			if err := d.server.Serve(d.listener); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		go func() {
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			d.server.Shutdown(sctx)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	// Every producer has stopped: deliveries stop (undelivered rows stay in
	// the outbox for the next start), then the plugins, then the store
	// commits its last events and their notifications.
	stopNotify()
	<-notifyDone
	d.plugins.Stop()
	// A start still under way ends at its handshake timeout at the latest,
	// and must not leave a process behind once the daemon is gone.
	<-d.pluginsStarted
	d.logSub.Close()
	<-storeDone
	d.saveLastHeard(context.Background())
	var err error
	select {
	case err = <-errc:
	default:
	}
	if cerr := d.store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	d.log.Info("wigo stopped")
	return err
}
