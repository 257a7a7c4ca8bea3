package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
)

// version is reported to the core.
var version = "0.1.0"

// serverConfig is the server block.
type serverConfig struct {
	Address              string `json:"address"`
	Port                 int    `json:"port"`
	TLSCert              string `json:"tls_cert"`
	TLSKey               string `json:"tls_key"`
	CA                   string `json:"ca"`
	AllowedClientsFile   string `json:"allowed_clients_file"`
	AutoAccept           bool   `json:"auto_accept"`
	MaxWaitingClients    int    `json:"max_waiting_clients"`
	MaxWaitingPerAddress int    `json:"max_waiting_per_address"`
	MaxMessageBytes      int    `json:"max_message_bytes"`
	// Limits before a client is authenticated (see preauth.go).
	MaxUnauthenticated           int `json:"max_unauthenticated"`
	MaxUnauthenticatedPerAddress int `json:"max_unauthenticated_per_address"`
	HandshakeTimeout             int `json:"handshake_timeout"`
}

// clientConfig is the client block.
type clientConfig struct {
	Address      string `json:"address"`
	Port         int    `json:"port"`
	MasterCert   string `json:"master_cert"`
	UUIDSig      string `json:"uuid_sig"`
	ClientKey    string `json:"client_key"`
	PushInterval int    `json:"push_interval"`
	BufferSize   int    `json:"buffer_size"`
	// AllowRemoteControl lets the master run, disable and enable this
	// instance's probes (and read their schedule) over the connection.
	AllowRemoteControl bool `json:"allow_remote_control"`
}

type config struct {
	Server []serverConfig `json:"server"`
	Client []clientConfig `json:"client"`
}

// tuning holds the timings that tests shorten.
type tuning struct {
	minBackoff, maxBackoff time.Duration
	// coalesce groups a burst of local changes into one delta.
	coalesce time.Duration
	// helloTimeout, when set, replaces handshake_timeout.
	helloTimeout time.Duration
	// clock, when set, replaces the real one for rate limits.
	clock clock
	// controlTimeout is how long the master waits for a client's answer
	// to a Control, and the client gives its core to carry it out.
	controlTimeout time.Duration
}

func defaultTuning() tuning {
	return tuning{minBackoff: time.Second, maxBackoff: time.Minute, coalesce: 200 * time.Millisecond, controlTimeout: controlAckTimeout}
}

// transport is the transport-push plugin: a server role (receives pushes,
// keeps the client authority), a client role (pushes to a master), or both
// in one instance (a mid-level master).
type transport struct {
	log  hclog.Logger
	tune tuning

	mu     sync.Mutex
	cfg    config
	server *server
	client *client
}

func newTransport(log hclog.Logger) *transport {
	return &transport{log: log, tune: defaultTuning()}
}

var (
	_ sdk.AuthorityProvider = (*transport)(nil)
	_ sdk.AuthorityDetailer = (*transport)(nil)
	_ sdk.RelayGranter      = (*transport)(nil)
)

// Schema implements sdk.Transport.
func (t *transport) Schema() sdk.Schema {
	return sdk.Schema{Blocks: []sdk.Block{
		{TypeName: "server", Description: "Receive pushes from clients (a master).", Body: sdk.Schema{Attributes: []sdk.Attribute{
			{Name: "address", Type: sdk.TypeString, Default: "0.0.0.0", Description: "Listen address."},
			{Name: "port", Type: sdk.TypeNumber, Default: 4001, Description: "Listen port."},
			{Name: "tls_cert", Type: sdk.TypePath, Default: "/etc/wigo/ssl/wigo.crt", Description: "Server certificate (PEM); created, signed by the CA, when missing."},
			{Name: "tls_key", Type: sdk.TypePath, Default: "/etc/wigo/ssl/wigo.key", Description: "Server key (PEM); created when missing."},
			{Name: "ca", Type: sdk.TypePath, Default: "", Description: "Directory holding ca.crt and ca.key, the CA that signs client UUIDs (see wigo-cert); created when missing. Empty: UUIDs are signed with tls_key, like the original."},
			{Name: "allowed_clients_file", Type: sdk.TypePath, Default: "/var/lib/wigo/allowed_clients", Description: "Allowed clients, one \"UUID hostname\" a line; written on every allow and revoke."},
			{Name: "auto_accept", Type: sdk.TypeBool, Default: false, Description: "Accept unknown clients without approval."},
			{Name: "max_waiting_clients", Type: sdk.TypeNumber, Default: 1000, Description: "Size of the waiting list; when full, the oldest entry of the address holding the most is dropped."},
			{Name: "max_waiting_per_address", Type: sdk.TypeNumber, Default: defaultMaxWaitingPerAddress, Description: "Clients waiting for approval from one source address (per /64 for IPv6); more are refused until some are approved or revoked."},
			{Name: "max_message_bytes", Type: sdk.TypeNumber, Default: defaultMaxMessageBytes, Description: "Largest message a client may send once its session is open."},
			{Name: "max_unauthenticated", Type: sdk.TypeNumber, Default: defaultMaxUnauthenticated, Description: "Connections that have not yet completed their hello, in all; beyond it new connections are closed at once."},
			{Name: "max_unauthenticated_per_address", Type: sdk.TypeNumber, Default: defaultMaxUnauthenticatedPerAddress, Description: "Connections that have not yet completed their hello, per source address (per /64 for IPv6)."},
			{Name: "handshake_timeout", Type: sdk.TypeNumber, Default: defaultHandshakeTimeout, Description: "Seconds a new connection has for its TLS handshake and its hello."},
		}}},
		{TypeName: "client", Description: "Push this instance's state to a master.", Body: sdk.Schema{Attributes: []sdk.Attribute{
			{Name: "address", Type: sdk.TypeString, Required: true, Description: "Master's address."},
			{Name: "port", Type: sdk.TypeNumber, Default: 4001, Description: "Master's push port."},
			{Name: "master_cert", Type: sdk.TypePath, Default: "/var/lib/wigo/master.crt", Description: "Master's certificate (or its CA) in PEM. When missing, fetched on first contact and pinned from then on."},
			{Name: "uuid_sig", Type: sdk.TypePath, Default: "/var/lib/wigo/uuid.sig", Description: "Where the master's signature of this host's UUID and key is kept."},
			{Name: "client_key", Type: sdk.TypePath, Default: "", Description: "This client's ed25519 key (PEM, 0600), created on first start. Empty: push_client.key next to uuid_sig."},
			{Name: "push_interval", Type: sdk.TypeNumber, Default: 10, Description: "Seconds between heartbeats and full re-reads of the local state."},
			{Name: "buffer_size", Type: sdk.TypeNumber, Default: 1000, Description: "Changes kept while the master is away; beyond it the oldest are merged."},
			{Name: "allow_remote_control", Type: sdk.TypeBool, Default: false, Description: "Let the master run, disable and enable this instance's probes, and read their schedule (its operators, through its API)."},
		}}},
	}}
}

// Configure implements sdk.Transport.
func (t *transport) Configure(_ context.Context, c sdk.Config) error {
	var cfg config
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	if len(cfg.Server) == 0 && len(cfg.Client) == 0 {
		return errors.New("transport-push needs a server block, a client block, or both")
	}
	if len(cfg.Server) > 1 || len(cfg.Client) > 1 {
		return errors.New("at most one server block and one client block")
	}
	for _, s := range cfg.Server {
		if s.Port < 1 || s.Port > 65535 {
			return fmt.Errorf("server.port %d: want 1 to 65535", s.Port)
		}
		if s.TLSCert == "" || s.TLSKey == "" {
			return errors.New("server.tls_cert and server.tls_key are required: push is always TLS")
		}
		if s.AllowedClientsFile == "" {
			return errors.New("server.allowed_clients_file is required")
		}
		if s.MaxWaitingClients < 1 {
			return fmt.Errorf("server.max_waiting_clients %d: want at least 1", s.MaxWaitingClients)
		}
		if s.MaxWaitingPerAddress < 1 {
			return fmt.Errorf("server.max_waiting_per_address %d: want at least 1", s.MaxWaitingPerAddress)
		}
		if s.MaxMessageBytes < 64<<10 {
			return fmt.Errorf("server.max_message_bytes %d: want at least 65536", s.MaxMessageBytes)
		}
		if s.MaxUnauthenticated < 1 {
			return fmt.Errorf("server.max_unauthenticated %d: want at least 1", s.MaxUnauthenticated)
		}
		if s.MaxUnauthenticatedPerAddress < 1 || s.MaxUnauthenticatedPerAddress > s.MaxUnauthenticated {
			return fmt.Errorf("server.max_unauthenticated_per_address %d: want 1 to max_unauthenticated (%d)", s.MaxUnauthenticatedPerAddress, s.MaxUnauthenticated)
		}
		if s.HandshakeTimeout < 1 || s.HandshakeTimeout > 300 {
			return fmt.Errorf("server.handshake_timeout %d: want 1 to 300 seconds", s.HandshakeTimeout)
		}
	}
	for _, cl := range cfg.Client {
		if cl.Address == "" {
			return errors.New("client.address is required")
		}
		if cl.Port < 1 || cl.Port > 65535 {
			return fmt.Errorf("client.port %d: want 1 to 65535", cl.Port)
		}
		if cl.MasterCert == "" || cl.UUIDSig == "" {
			return errors.New("client.master_cert and client.uuid_sig are required")
		}
		if cl.PushInterval < 1 {
			return fmt.Errorf("client.push_interval %d: want at least 1 second", cl.PushInterval)
		}
		if cl.BufferSize < 1 {
			return fmt.Errorf("client.buffer_size %d: want at least 1", cl.BufferSize)
		}
	}
	t.mu.Lock()
	t.cfg = cfg
	t.mu.Unlock()
	return nil
}

// Start implements sdk.Transport: starts the configured roles. The server
// listens before Start returns, so a port in use is reported at once.
func (t *transport) Start(_ context.Context, host sdk.Host) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.server != nil || t.client != nil {
		return errors.New("already started")
	}
	if len(t.cfg.Server) == 1 {
		s, err := newServer(t.log.Named("server"), t.cfg.Server[0], t.tune, host)
		if err != nil {
			return fmt.Errorf("push server: %w", err)
		}
		t.server = s
	}
	if len(t.cfg.Client) == 1 {
		t.client = newClient(t.log.Named("client"), t.cfg.Client[0], t.tune, host)
		t.client.start()
	}
	return nil
}

// Stop implements sdk.Transport.
func (t *transport) Stop(context.Context) error {
	t.mu.Lock()
	s, c := t.server, t.client
	t.server, t.client = nil, nil
	t.mu.Unlock()
	if c != nil {
		c.stop()
	}
	if s != nil {
		s.stop()
	}
	return nil
}

func (t *transport) auth() *authority {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.server == nil {
		return nil
	}
	return t.server.auth
}
