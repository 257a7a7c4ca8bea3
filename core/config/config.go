// Package config loads the daemon's HCL configuration: the main file
// (usually /etc/wigo/wigo.hcl) and its drop-ins in wigo.d/.
//
// # Merging
//
// Files are read in a fixed order: the main file first, then every *.hcl
// file of <dir of main>/wigo.d/ in lexical (byte) order; names starting with a
// dot are skipped, so editor leftovers never become configuration. The rule
// lets operators ship a package default and override it per host:
//
//   - A top-level attribute may be set in any file; the last file that sets it
//     wins.
//   - The singleton blocks http, notifications and logs merge attribute by
//     attribute with the same rule: a drop-in with http { port = 4443 } changes
//     the port and keeps every other http setting. Within one file a singleton
//     block may appear only once.
//   - The labeled blocks notify "x", output "x" and transport "x" are collected
//     from every file. Each kind+label pair names one plugin instance, so
//     defining the same pair twice, in one file or in two, is an error that
//     names both places. To vary a plugin instance per host, ship it in its own
//     drop-in that the host can replace.
//
// Setting an attribute to null counts as not setting it, so the earlier value
// (or the default) stands.
//
// # Values
//
// Settings are plain data: numbers, strings, booleans, lists and objects,
// with + - * / arithmetic (alive_timeout = 5 * 60). Interpolation, conditionals,
// for expressions, variables and functions are refused before evaluation,
// which also keeps pathological input (numbers with millions of digits) from
// hanging `wigo -check`. Durations are written in seconds and may be
// fractional.
//
// # Paths
//
// A relative path (probes_dir, probes_config_dir, plugins_dir, database,
// uuid_file, log_file, http.tls_cert, http.tls_key) is resolved against the
// directory of the file that set it, not against the working directory, so a
// development config with relative paths works wherever the daemon starts.
// Plugin bodies are not decoded here; PluginBlock.BaseDir carries the same
// directory so plugins can resolve their own paths the same way.
//
// # Errors
//
// Every problem (syntax, unknown attribute or block, wrong type, bad value) is
// an hcl.Diagnostic with its file, line and column; FormatDiagnostics renders
// them one per line for `wigo -check`. Loading never panics, whatever the
// input.
package config

import (
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// DefaultPath is where the daemon looks for its main file when none is given.
const DefaultPath = "/etc/wigo/wigo.hcl"

// DropInDir is the directory, next to the main file, whose *.hcl files are
// merged after it.
const DropInDir = "wigo.d"

// Plugin block kinds, as written in HCL and used in default plugin names.
const (
	KindNotify    = "notify"
	KindOutput    = "output"
	KindTransport = "transport"
)

// LogLevels lists the accepted log_level values, quietest last, matching the
// levels hclog understands so the value can be handed to it unchanged.
var LogLevels = []string{"trace", "debug", "info", "warn", "error"}

// Config is the merged configuration of one daemon. Paths are absolute once
// loaded from files (see the package doc), durations are ready to use.
type Config struct {
	// Hostname names the local host in the API and in notifications. An empty
	// value in the files means the system hostname, which Load fills in, so
	// the rest of the daemon never has to handle "".
	Hostname string
	// Group is the local host's group (webserver, loadbalancer, ...), used to
	// group hosts in the API and the UI. Empty means no group.
	Group string
	// ProbesDir holds the probes, as <seconds>/NAME executables.
	ProbesDir string
	// ProbesConfigDir is passed to probes as WIGO_PROBE_CONFIG_ROOT so they
	// find their own settings without hard-coded paths.
	ProbesConfigDir string
	// PluginsDir is where plugin binaries are looked up by plugin name.
	PluginsDir string
	// Database is the SQLite file (log, outbox, state that survives
	// restarts), unless Store names another backend.
	Database string
	// Store is the store block: a PostgreSQL database instead of the
	// SQLite file, shared by the masters that use it.
	Store Store
	// UUIDFile persists the instance UUID, which masters use to deduplicate
	// hosts; losing it makes this host look like a new one.
	UUIDFile string
	// LogFile is where the daemon writes its log; "" means stderr, which is
	// what systemd's journal collects.
	LogFile string
	// AliveTimeout is how long a host may stay silent before it is DOWN.
	AliveTimeout time.Duration
	// LogLevel is one of LogLevels.
	LogLevel string
	// ProbeTimeout bounds each probe run; 0 means the probe's interval minus
	// one second, so a slow probe can never overlap its next run.
	ProbeTimeout time.Duration

	// HTTP configures the API, websocket and web UI server.
	HTTP HTTP
	// Logs configures the status-change log kept in SQLite.
	Logs Logs
	// Flapping configures flap detection.
	Flapping Flapping
	// History configures the metric history kept in SQLite.
	History History
	// Attempts is how many results in a row at a new status confirm a
	// probe's change before it is notified (check attempts; 1: the first),
	// RecoveryAttempts the same for a recovery to OK.
	Attempts, RecoveryAttempts int
	// Notifications is the default event filter of every notify block.
	Notifications Notifications
	// Delivery is how notifications are sent: the send_timeout and lease
	// attributes of the notifications block, which no notify block
	// overrides.
	Delivery Delivery

	// Notify lists the notify "x" blocks, in file order.
	Notify []PluginBlock
	// Outputs lists the output "x" blocks, in file order.
	Outputs []PluginBlock
	// Transports lists the transport "x" blocks, in file order.
	Transports []PluginBlock
	// Maintenance lists the maintenance "x" blocks, in file order.
	Maintenance []Maintenance
	// Dependencies lists the dependency "x" blocks, in file order.
	Dependencies []Dependency
	// Users lists the user "x" blocks, in file order.
	Users []User
	// Checks lists the check "x" blocks (per-probe check attempts), in
	// file order: the first that matches a probe applies.
	Checks []Check

	// Files names the files that were loaded, in merge order, so -check and
	// the startup log can say exactly what was read.
	Files []string
}

// HTTP is the http block. A reload compares the old and new values to tell
// the operator a restart is needed.
type HTTP struct {
	// Enabled turns the HTTP server off entirely, for a pure push client that
	// nobody needs to reach.
	Enabled bool
	// Address is the listen address; "" or "0.0.0.0" listens everywhere.
	Address string
	// Port is the listen port; 0 picks a free port (handy in tests).
	Port int
	// TLSCert and TLSKey are PEM files; HTTPS is on when both are set, and
	// setting only one is a configuration error rather than a silent HTTP.
	TLSCert string
	// TLSKey is the private key matching TLSCert.
	TLSKey string
	// Login and Password turn on basic auth for every route when set; both
	// or neither must be given.
	Login string
	// Password is the basic-auth password for Login.
	Password string
	// Gzip compresses responses for clients that accept it; /api grows with
	// the number of hosts, so it is on by default.
	Gzip bool
	// AllowedHosts are the names this instance answers to in the Host
	// header (DNS rebinding defence); empty means localhost, the host
	// names and the listen addresses. "*" turns the check off.
	AllowedHosts []string
	// AllowedOrigins are other origins whose pages may change things here
	// and open the websocket ("https://noc.example:8443").
	AllowedOrigins []string
	// PublicURL is public_url: the dashboard's address as people reach it
	// (through a proxy, a DNS name), ending in "/"; notifications link to
	// their host there. Empty: no links.
	PublicURL string
	// AnonymousRole is anonymous_role: "none" or "viewer", what a request
	// without credentials may do; "" is the default (viewer when neither a
	// login nor a user is configured, else none).
	AnonymousRole string
	// TrustedProxy is the trusted_proxy block, nil without one.
	TrustedProxy *TrustedProxy
	// RemoteControl is remote_control: probe control forwarded by a master
	// (run, disable, enable this instance's probes, read their schedule)
	// is carried out, under the role of the credentials it comes with.
	// Off by default: refused with 403.
	RemoteControl bool
}

// TLS reports whether the server must speak HTTPS.
func (h HTTP) TLS() bool { return h.TLSCert != "" && h.TLSKey != "" }

// Addr is the address to give net.Listen.
func (h HTTP) Addr() string { return net.JoinHostPort(h.Address, strconv.Itoa(h.Port)) }

// Logs is the logs block.
type Logs struct {
	// RetentionDays is how long status-change log entries are kept; 0 keeps
	// them forever.
	RetentionDays int
}

// Flapping is the flapping block: a host or probe whose status changed
// more than Threshold times within Window is flapping; its changes are
// held back, one notification says it started and one that it stopped
// (fewer than half as many changes within Window).
type Flapping struct {
	// Window is how far back changes are counted.
	Window time.Duration
	// Threshold is the number of changes above which a subject flaps; 0
	// turns flap detection off.
	Threshold int
}

// Retention is RetentionDays as a duration; 0 means keep forever.
func (l Logs) Retention() time.Duration {
	return time.Duration(l.RetentionDays) * 24 * time.Hour
}

// Notifications is the notifications block, and the resolved filter of each
// notify block (PluginBlock.Filter).
type Notifications struct {
	// MinLevel: a probe change is sent when the new status is at least
	// MinLevel, or when it recovers from a status that was at least MinLevel.
	MinLevel int
	// OnProbeChange sends probe status changes at all.
	OnProbeChange bool
	// OnHostChange sends host UP/DOWN events.
	OnHostChange bool
	// RescueOnly keeps only the recoveries of probe changes (going back under
	// MinLevel), for channels that only want to hear that things are fixed.
	RescueOnly bool
}

// Delivery bounds the sending of one notification. Zero values mean the
// pipeline's defaults (notify.DefaultSendTimeout, and a lease of the send
// timeout plus notify.DefaultLeaseMargin).
type Delivery struct {
	// SendTimeout bounds one Send to a notifier.
	SendTimeout time.Duration
	// Lease is how long a master's claim on a notification lasts: a master
	// killed mid-delivery leaves the row to another master sharing its
	// database once the lease ends. It must be longer than SendTimeout.
	Lease time.Duration
}

// PluginBlock is one notify, output or transport block: one plugin instance.
type PluginBlock struct {
	// Kind is KindNotify, KindOutput or KindTransport.
	Kind string
	// Label names the instance in logs, the API and the outbox.
	Label string
	// Plugin is the binary name in plugins_dir: the plugin attribute, or
	// <kind>-<label> when it is absent. It is always a plain file name.
	Plugin string
	// Body is the block without the attributes the core owns (plugin, and
	// for notify the filter attributes), left undecoded so the plugin host
	// can decode it against the plugin's own schema with positions intact.
	Body hcl.Body
	// DefRange is the block header, for errors about the instance as a whole.
	DefRange hcl.Range
	// PluginRange points at the plugin attribute, or at the label when the
	// name was derived from it, for errors such as a missing binary.
	PluginRange hcl.Range
	// BaseDir is the absolute directory of the defining file, against which
	// the plugin should resolve relative paths in Body.
	BaseDir string
	// Text is the block's source, which tells a reload whether the block
	// changed.
	Text string
	// Filter is, for notify blocks only, the event filter of this instance:
	// the top-level notifications block with this block's min_level,
	// on_probe_change, on_host_change and rescue_only applied on top. It is
	// nil for other kinds.
	Filter *Notifications
}

// Default returns the built-in defaults, before any file is read. Hostname
// stays empty here; only Load and Parse resolve it, so Default has no side
// effects and tests can compare against it.
func Default() *Config {
	return &Config{
		ProbesDir:       "/etc/wigo/probes",
		ProbesConfigDir: "/etc/wigo/conf.d",
		PluginsDir:      "/usr/lib/wigo/plugins",
		Database:        "/var/lib/wigo/wigo.db",
		UUIDFile:        "/var/lib/wigo/uuid",
		AliveTimeout:    60 * time.Second,
		LogLevel:        "info",
		HTTP: HTTP{
			Enabled: true,
			Address: "0.0.0.0",
			Port:    4000,
			Gzip:    true,
		},
		Logs:     Logs{RetentionDays: 30},
		Flapping: Flapping{Window: time.Hour, Threshold: 5},
		History:  defaultHistory,
		Attempts: 1, RecoveryAttempts: 1,
		Notifications: Notifications{
			MinLevel:      250,
			OnProbeChange: true,
			OnHostChange:  true,
		},
	}
}
