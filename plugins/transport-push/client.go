package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
	"github.com/wigo-project/wigo/sdk"
)

// client is the push client role. Its state survives sessions: base is
// what the master is known to hold (acknowledged), pending the changes made
// since, oldest first. A new session sends base as a snapshot, then every
// pending delta; an acknowledgement folds deltas into base. So a master
// that was away receives every change made meanwhile, in order, up to
// buffer_size changes; beyond that the oldest are merged into base (the
// latest state is never lost, only intermediate steps).
type client struct {
	log  hclog.Logger
	cfg  clientConfig
	tune tuning
	host sdk.Host
	addr string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// changed is signalled when pending grows or the identity is known.
	changed chan struct{}

	mu       sync.Mutex
	base     tree
	baseID   uint64
	pending  []pendingDelta
	latest   tree
	nextID   uint64
	uuid     string
	hostname string
	sig      []byte
	// key is this client's key (clientkey.go), loaded on the first session.
	key    ed25519.PrivateKey
	merged int // changes merged away since the last session, for one log line
}

type pendingDelta struct {
	id   uint64
	json []byte
	ops  []op
}

func newClient(log hclog.Logger, cfg clientConfig, tune tuning, host sdk.Host) *client {
	c := &client{log: log, cfg: cfg, tune: tune, host: host, changed: make(chan struct{}, 1),
		addr: net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.loadSignature()
	return c
}

func (c *client) start() {
	c.wg.Add(2)
	go c.watch()
	go c.connectLoop()
}

func (c *client) stop() {
	c.cancel()
	c.wg.Wait()
}

func (c *client) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *client) pushInterval() time.Duration { return time.Duration(c.cfg.PushInterval) * time.Second }

// sleep waits d or until the client stops; false when stopped.
func (c *client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// loadSignature reads uuid_sig (base64). A missing or unreadable file
// means registering again.
func (c *client) loadSignature() {
	b, err := os.ReadFile(c.cfg.UUIDSig)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err == nil {
		var sig []byte
		if sig, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil {
			c.sig = sig
			return
		}
	}
	c.log.Warn("ignoring unreadable UUID signature, registering again", "file", c.cfg.UUIDSig, "error", err)
}

func (c *client) storeSignature(sig []byte) {
	c.mu.Lock()
	c.sig = sig
	c.mu.Unlock()
	if err := writeFileAtomic(c.cfg.UUIDSig, []byte(base64.StdEncoding.EncodeToString(sig)+"\n"), 0o600); err != nil {
		// Kept in memory: this run still works; the next start registers
		// again.
		c.log.Error("could not store the UUID signature", "file", c.cfg.UUIDSig, "error", err)
	}
}

func (c *client) dropSignature() {
	c.mu.Lock()
	c.sig = nil
	c.mu.Unlock()
	if err := os.Remove(c.cfg.UUIDSig); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("could not remove the UUID signature", "file", c.cfg.UUIDSig, "error", err)
	}
}

// watch follows the local state: on every change notification (grouped
// over tune.coalesce) and every push_interval it reads the local state and
// queues what changed.
func (c *client) watch() {
	defer c.wg.Done()
	tick := time.NewTicker(c.pushInterval())
	defer tick.Stop()
	var events <-chan []byte
	subscribe := func() {
		ch, err := c.host.Subscribe(c.ctx)
		if err != nil {
			c.log.Warn("cannot subscribe to local changes, reading the state every push_interval", "error", err)
			return
		}
		events = ch
	}
	subscribe()
	c.refresh()
	var coalesce <-chan time.Time
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
			if events == nil {
				subscribe()
			}
			c.refresh()
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if coalesce == nil {
				coalesce = time.After(c.tune.coalesce)
			}
		case <-coalesce:
			coalesce = nil
			c.refresh()
		}
	}
}

// refresh reads the local state and queues the difference with the last
// one read.
func (c *client) refresh() {
	b, err := c.host.LocalState(c.ctx)
	if err != nil {
		if c.ctx.Err() == nil {
			c.log.Warn("cannot read the local state", "error", err)
		}
		return
	}
	t, err := parseTree(b)
	if err != nil {
		c.log.Error("local state is not a JSON object", "error", err)
		return
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		c.log.Error("local state has no identity", "error", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uuid, c.hostname = id.UUID, id.name()
	if c.latest == nil {
		c.base, c.latest = t.clone(), t
		c.signal()
		return
	}
	ops := diff(c.latest, t)
	c.latest = t
	if len(ops) == 0 {
		return
	}
	js, err := json.Marshal(ops)
	if err != nil {
		c.log.Error("encode delta", "error", err)
		return
	}
	c.nextID++
	c.pending = append(c.pending, pendingDelta{id: c.nextID, json: js, ops: ops})
	for len(c.pending) > c.cfg.BufferSize {
		c.foldLocked()
		c.merged++
	}
	c.signal()
}

// foldLocked merges the oldest pending delta into base.
func (c *client) foldLocked() {
	p := c.pending[0]
	if err := apply(c.base, p.ops); err != nil {
		// Our own diff: cannot fail; if it did, base is resent whole from
		// latest so nothing is lost.
		c.log.Error("merge delta", "error", err)
		c.base = c.latest.clone()
	}
	c.baseID = p.id
	c.pending[0] = pendingDelta{}
	c.pending = c.pending[1:]
}

// acked folds every delta the master acknowledged.
func (c *client) acked(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) > 0 && c.pending[0].id <= seq {
		c.foldLocked()
	}
}

// connectLoop keeps one session with the master, reconnecting with
// exponential backoff and jitter, so that after a master restart its
// clients do not all come back in the same second.
func (c *client) connectLoop() {
	defer c.wg.Done()
	backoff := c.tune.minBackoff
	for c.ctx.Err() == nil {
		if !c.identityKnown() {
			select {
			case <-c.changed:
				continue
			case <-c.ctx.Done():
				return
			}
		}
		began := time.Now()
		accepted, waiting, err := c.session()
		if c.ctx.Err() != nil {
			return
		}
		switch {
		case waiting:
			// Approval is a human step; asking every push_interval is
			// enough and keeps the waiting list's hostname fresh.
			backoff = c.tune.minBackoff
			if !c.sleep(c.pushInterval()) {
				return
			}
			continue
		case accepted && time.Since(began) > 30*time.Second:
			backoff = c.tune.minBackoff
		}
		d := backoff/2 + rand.N(backoff/2+1)
		c.log.Info("push session ended, reconnecting", "master", c.addr, "error", err, "retry_in", d.Round(time.Millisecond).String())
		if !c.sleep(d) {
			return
		}
		backoff = min(backoff*2, c.tune.maxBackoff)
	}
}

func (c *client) identityKnown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest != nil && c.uuid != ""
}

// tlsConfig verifies the master against master_cert: the exact pinned
// certificate, or a certificate chaining to it when it is a CA (then the
// name must match address). When master_cert does not exist yet it is
// fetched from the master and pinned: trust on first use, as the original.
func (c *client) tlsConfig() (*tls.Config, error) {
	if !fileExists(c.cfg.MasterCert) {
		if err := c.pinMaster(); err != nil {
			return nil, err
		}
	}
	pinned, err := readCert(c.cfg.MasterCert)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The standard verification is replaced by the pin check below:
		// the pinned certificate is usually self-signed or issued for
		// another name than the address the client dials.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyPeerCertificate
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("master sent no certificate")
			}
			if bytes.Equal(raw[0], pinned.Raw) {
				return nil
			}
			if pinned.IsCA {
				leaf, err := x509.ParseCertificate(raw[0])
				if err != nil {
					return fmt.Errorf("master certificate: %w", err)
				}
				roots, inter := x509.NewCertPool(), x509.NewCertPool()
				roots.AddCert(pinned)
				for _, r := range raw[1:] {
					if ic, err := x509.ParseCertificate(r); err == nil {
						inter.AddCert(ic)
					}
				}
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: c.cfg.Address}); err != nil {
					return fmt.Errorf("master certificate does not verify with %s: %w", c.cfg.MasterCert, err)
				}
				return nil
			}
			return fmt.Errorf("master certificate (sha256 %s) is not the one pinned in %s", fingerprint(raw[0]), c.cfg.MasterCert)
		},
	}, nil
}

func fingerprint(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// pinMaster fetches the master's certificate and writes it to master_cert.
func (c *client) pinMaster() error {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", c.addr, &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // trust on first use, pinned below
		NextProtos:         []string{"h2"},
		MinVersion:         tls.VersionTLS12,
	})
	if err != nil {
		return fmt.Errorf("fetch master certificate: %w", err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return errors.New("fetch master certificate: none sent")
	}
	if err := writeFileAtomic(c.cfg.MasterCert, certPEM(certs[0].Raw), 0o644); err != nil {
		return fmt.Errorf("pin master certificate: %w", err)
	}
	c.log.Warn("master certificate pinned on first contact", "master", c.addr, "file", c.cfg.MasterCert, "sha256", fingerprint(certs[0].Raw))
	return nil
}

// maxServerMessage bounds what the client accepts from the server (acks,
// a welcome with a signature, a refusal).
const maxServerMessage = 64 << 10

// heartbeatEvery is how often a quiet session says it is alive: every
// push_interval, at most a minute apart, since the server closes a session
// silent for serverIdleTimeout.
func (c *client) heartbeatEvery() time.Duration { return min(c.pushInterval(), time.Minute) }

// session runs one connection to the master until it breaks.
func (c *client) session() (accepted, waiting bool, err error) {
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return false, false, err
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, Config: tlsCfg}
	dctx, dcancel := context.WithTimeout(c.ctx, 20*time.Second)
	conn, err := dialer.DialContext(dctx, "tcp", c.addr)
	dcancel()
	if err != nil {
		return false, false, fmt.Errorf("dial: %w", err)
	}
	stream := pushpb.NewClientConn(conn, maxServerMessage)
	defer stream.Close()
	key, err := c.clientKey()
	if err != nil {
		return false, false, err
	}
	ctx, cancel := context.WithCancelCause(c.ctx)
	defer cancel(nil)
	// Ending the session closes the connection, which ends a blocked read
	// or write.
	defer context.AfterFunc(ctx, func() { _ = stream.Close() })()
	c.mu.Lock()
	hello := &pushpb.Hello{ProtocolVersion: protocolVersion, Uuid: c.uuid, Hostname: c.hostname, Signature: c.sig, ClientVersion: version,
		PublicKey: key.Public().(ed25519.PublicKey), AllowRemoteControl: c.cfg.AllowRemoteControl}
	c.mu.Unlock()
	if hello.KeyProof, err = keyProof(conn.(*tls.Conn), key, hello.Uuid); err != nil {
		return false, false, err
	}
	if err := stream.Send(&pushpb.ClientMessage{Body: &pushpb.ClientMessage_Hello{Hello: hello}}); err != nil {
		return false, false, c.sessionError(stream, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	m, err := stream.Recv()
	if err != nil {
		code := status.Code(err)
		if len(hello.Signature) > 0 && (code == codes.PermissionDenied || code == codes.Unauthenticated) {
			// Revoked, or signed by another master: register again, so the
			// operator sees this client in the waiting list.
			c.log.Warn("master refused our signature, registering again", "master", c.addr, "error", err)
			c.dropSignature()
		}
		return false, false, fmt.Errorf("hello: %w", err)
	}
	w := m.GetWelcome()
	if w == nil {
		return false, false, errors.New("master answered the hello without a welcome")
	}
	if w.GetState() == pushpb.Welcome_STATE_WAITING {
		c.log.Info("waiting for approval on the master", "master", c.addr, "uuid", hello.Uuid)
		return false, true, nil
	}
	if w.GetState() != pushpb.Welcome_STATE_ACCEPTED {
		return false, false, fmt.Errorf("unexpected welcome state %v", w.GetState())
	}
	if len(w.GetSignature()) > 0 {
		c.storeSignature(w.GetSignature())
		c.log.Info("accepted by the master", "master", c.addr, "uuid", hello.Uuid)
	}
	// results carries the answers to the master's Control messages to the
	// sending loop, the one writer of the connection; controls bounds the
	// ones carried out at once.
	results := make(chan *pushpb.ControlResult, maxClientControls)
	controls := make(chan struct{}, maxClientControls)
	go func() {
		// Every message is acknowledged and a heartbeat goes out at least
		// every heartbeatEvery: a master silent for three of them is gone
		// (what TCP alone would notice only after many minutes).
		for {
			_ = conn.SetReadDeadline(time.Now().Add(3*c.heartbeatEvery() + 30*time.Second))
			m, err := stream.Recv()
			if err != nil {
				cancel(err)
				return
			}
			if a := m.GetAck(); a != nil {
				c.acked(a.GetSeq())
			}
			if ctl := m.GetControl(); ctl != nil {
				select {
				case controls <- struct{}{}:
					go func() {
						defer func() { <-controls }()
						r := c.apply(ctx, ctl)
						select {
						case results <- r:
						case <-ctx.Done():
						}
					}()
				default:
					go func() {
						select {
						case results <- &pushpb.ControlResult{Id: ctl.GetId(), Code: uint32(sdk.ControlBusy), Error: "this client carries out other actions of the master's; try again shortly"}:
						case <-ctx.Done():
						}
					}()
				}
			}
		}
	}()
	return true, false, c.send(ctx, stream, results)
}

// clientKey returns the client's key, reading (or creating) it the first
// time; an error is retried at the next session.
func (c *client) clientKey() (ed25519.PrivateKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key == nil {
		k, err := loadClientKey(c.log, clientKeyPath(c.cfg))
		if err != nil {
			return nil, err
		}
		c.key = k
		c.log.Info("push client key", "file", clientKeyPath(c.cfg), "fingerprint", keyFingerprint(k.Public().(ed25519.PublicKey)))
	}
	return c.key, nil
}

// sessionError prefers the server's refusal (its last message) over the
// local Send error of the hello, which only says the connection is gone.
func (c *client) sessionError(stream *pushpb.ClientConn, err error) error {
	if _, rerr := stream.Recv(); rerr != nil && status.Code(rerr) != codes.Unknown {
		return rerr
	}
	return err
}

// sendError is sessionError once the ack reader runs: only it reads the
// connection, so its error (the server's refusal, when one came) is
// awaited for a moment instead of read again.
func sendError(ctx context.Context, err error) error {
	select {
	case <-ctx.Done():
		if cause := context.Cause(ctx); status.Code(cause) != codes.Unknown {
			return cause
		}
	case <-time.After(5 * time.Second):
	}
	return err
}

// send pushes the snapshot then every pending delta as it comes, with a
// heartbeat after push_interval of silence, and the answers to the
// master's Control messages.
func (c *client) send(ctx context.Context, stream *pushpb.ClientConn, results <-chan *pushpb.ControlResult) error {
	c.mu.Lock()
	snap, err := c.base.encode()
	sent := c.baseID
	if c.merged > 0 {
		c.log.Warn("master was away long enough that intermediate changes were merged", "merged", c.merged, "buffer_size", c.cfg.BufferSize)
		c.merged = 0
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := stream.Send(&pushpb.ClientMessage{Seq: sent, Body: &pushpb.ClientMessage_Snapshot{Snapshot: &pushpb.Document{Json: snap}}}); err != nil {
		return sendError(ctx, err)
	}
	heartbeat := time.NewTimer(c.heartbeatEvery())
	defer heartbeat.Stop()
	for {
		c.mu.Lock()
		if c.baseID > sent {
			// Deltas not yet sent were merged into base (buffer full):
			// the master must get base whole, or it would miss them.
			snap, err = c.base.encode()
			sent = c.baseID
			c.mu.Unlock()
			if err != nil {
				return err
			}
			if err := stream.Send(&pushpb.ClientMessage{Seq: sent, Body: &pushpb.ClientMessage_Snapshot{Snapshot: &pushpb.Document{Json: snap}}}); err != nil {
				return sendError(ctx, err)
			}
			continue
		}
		var batch []pendingDelta
		for _, p := range c.pending {
			if p.id > sent {
				batch = append(batch, p)
			}
		}
		c.mu.Unlock()
		for _, p := range batch {
			if err := stream.Send(&pushpb.ClientMessage{Seq: p.id, Body: &pushpb.ClientMessage_Delta{Delta: &pushpb.Document{Json: p.json}}}); err != nil {
				return sendError(ctx, err)
			}
			sent = p.id
		}
		if len(batch) > 0 {
			heartbeat.Reset(c.heartbeatEvery())
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-c.changed:
		case r := <-results:
			if err := stream.Send(&pushpb.ClientMessage{Seq: sent, Body: &pushpb.ClientMessage_ControlResult{ControlResult: r}}); err != nil {
				return sendError(ctx, err)
			}
		case <-heartbeat.C:
			if err := stream.Send(&pushpb.ClientMessage{Seq: sent, Body: &pushpb.ClientMessage_Heartbeat{Heartbeat: &pushpb.Heartbeat{}}}); err != nil {
				return sendError(ctx, err)
			}
			heartbeat.Reset(c.heartbeatEvery())
		}
	}
}
