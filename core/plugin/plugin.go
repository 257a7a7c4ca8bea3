// Package plugin is Wigo's plugin host: it starts one plugin process per
// notify/output/transport block with hashicorp/go-plugin (gRPC only,
// AutoMTLS), decodes the block against the schema the plugin declares so
// config errors carry the operator's file, line and column, configures it,
// forwards its logs into the core's log under the instance's name, watches
// it, restarts it with backoff when it crashes, and stops everything on
// shutdown. One bad plugin never stops the others.
//
// Lifecycle for the daemon:
//
//	m := plugin.NewManager(plugin.Options{Dir: cfg.PluginsDir, Logger: log})
//	if diags := m.Start(ctx, cfg.Notify); diags.HasErrors() { log them; keep running }
//	... m.Notify(ctx, "ops", n) from the notification pipeline ...
//	on SIGHUP: plan, diags := m.Reload(blocks); refuse on errors, else plan.Apply(ctx)
//	m.Stop() // each plugin is closed (it flushes), then stopped
//
// The core asks a plugin what it can do (Capable, from the capabilities
// it declares through the Base service), never what it is called.
//
// and for `wigo -check`: m.Check(cfg.Notify), which starts each plugin only
// long enough to fetch its schema.
package plugin

import (
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
)

// ErrUnavailable means the plugin could not be reached: it is not running,
// is restarting, or its process or connection broke during the call. The
// notification may not have been delivered; retry later.
var ErrUnavailable = errors.New("plugin unavailable")

// ErrBroken comes with ErrUnavailable when the plugin went away during the
// call itself (its connection broke: the process died or closed it),
// rather than being down before it.
var ErrBroken = errors.New("plugin call broken")

// ErrUnknownInstance means no instance of that kind and name was started.
var ErrUnknownInstance = errors.New("no such plugin instance")

// Options configures a Manager. Zero durations take the defaults.
type Options struct {
	// Dir is plugins_dir, where binaries are looked up by plugin name.
	Dir string
	// Logger receives the host's messages and, through a sub-logger named
	// "<kind>.<label>", every line the plugin logs.
	Logger hclog.Logger
	// StartTimeout bounds the go-plugin handshake of one process (10 s).
	StartTimeout time.Duration
	// CallTimeout bounds Schema and Configure, and Notify calls whose
	// context has no deadline (30 s).
	CallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay before restarting a crashed
	// plugin: it doubles on each failed attempt (1 s, capped at 1 min) and
	// starts over once the plugin has run for MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Host is the core as transport plugins see it (ingest documents, read
	// and follow the local state); required only when transport blocks are
	// started.
	Host sdk.Host
	// CloseTimeout is how long a plugin has to flush what it holds (an
	// output's buffered points) when it is stopped: at shutdown, or when a
	// reload removes or changes its block (5 s).
	CloseTimeout time.Duration
	// HealthInterval is how often a running plugin is checked for having
	// exited or stopped answering pings (1 s).
	HealthInterval time.Duration
	// PingTimeout is how long a health check may take before the plugin is
	// considered hung, killed and restarted (5 s).
	PingTimeout time.Duration
	// OnRunning, when set, is called (on its own goroutine) each time an
	// instance starts or restarts and is ready for calls: the notification
	// pipeline resumes what waited for it.
	OnRunning func(kind, label string)
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 5 * time.Second
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = time.Second
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 5 * time.Second
	}
}

// State is the state of a plugin instance.
type State string

// Instance states.
const (
	// StateStarting: its first start is under way (the daemon does not wait
	// for it: its API answers meanwhile).
	StateStarting State = "starting"
	// StateRunning: started, configured and answering.
	StateRunning State = "running"
	// StateRestarting: it crashed, or failed to start, and the manager is
	// bringing it back with backoff.
	StateRestarting State = "restarting"
	// StateFailed: its block does not decode against the plugin's schema
	// (it stays down until a reload or a restart with a fix), or a reload
	// removed or replaced it.
	StateFailed State = "failed"
)

// InstanceHealth is the health of one plugin instance, for logs and the API.
type InstanceHealth struct {
	// Instance is the block label.
	Instance string `json:"instance"`
	// Plugin is the binary name.
	Plugin string `json:"plugin"`
	// Kind is the block kind: notify, output or transport.
	Kind string `json:"kind"`
	// Version is what the plugin reported, once it has started.
	Version string `json:"version,omitempty"`
	// Capabilities are what the running plugin declares (sdk.Cap*).
	Capabilities []string `json:"capabilities,omitempty"`
	// Pid is the running plugin's process id.
	Pid int `json:"pid,omitempty"`
	// State is running, restarting or failed.
	State State `json:"state"`
	// Restarts counts restart attempts after crashes.
	Restarts int `json:"restarts"`
	// LastError is the latest start, configure or crash error.
	LastError string `json:"last_error,omitempty"`
	// Since is when State was entered.
	Since time.Time `json:"since"`
}
