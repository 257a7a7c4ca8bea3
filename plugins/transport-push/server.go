package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
	"github.com/wigo-project/wigo/sdk"
)

// server is the push server role: it accepts client sessions, checks them
// against the authority and ingests their documents into the core.
type server struct {
	log    hclog.Logger
	cfg    serverConfig
	tune   tuning
	host   sdk.Host
	ing    *sdk.Batcher
	auth   *authority
	tls    *tls.Config
	lis    net.Listener
	served chan struct{}
	// pre bounds the connections not yet past their hello; handshake is
	// how long each has for its TLS handshake and hello.
	pre       *preauth
	handshake time.Duration
	// conns counts the connection handlers, which stop waits for.
	conns sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*session // by client UUID
}

// session is one accepted client connection.
type session struct {
	cancel context.CancelCauseFunc
	// stream sends the master's Control messages; allowControl is what
	// the client's hello said of them.
	stream       *serverConn
	hostname     string
	allowControl bool

	mu sync.Mutex
	// pending are the Control actions waiting for the client's answer,
	// by id (control.go).
	pending map[uint64]chan *pushpb.ControlResult
	nextID  uint64
}

var (
	errReplaced = errors.New("replaced by a newer session of the same client")
	errStopping = errors.New("push server stopping")
	// errRelayChanged ends a session whose relay grant changed: the client
	// reconnects and sends a snapshot, taken under the new rule.
	errRelayChanged = errors.New("relay grant changed: reconnect")
)

func newServer(log hclog.Logger, cfg serverConfig, tune tuning, host sdk.Host) (*server, error) {
	signer, tlsCert, err := loadServerKeys(log, cfg)
	if err != nil {
		return nil, err
	}
	s := &server{log: log, cfg: cfg, tune: tune, host: host, ing: sdk.NewBatcher(log, host), sessions: map[string]*session{}, served: make(chan struct{}),
		pre: newPreauth(log, cfg.MaxUnauthenticated, cfg.MaxUnauthenticatedPerAddress), handshake: time.Duration(cfg.HandshakeTimeout) * time.Second}
	if tune.helloTimeout > 0 {
		s.handshake = tune.helloTimeout
	}
	s.auth, err = newAuthority(log, signer, cfg.AllowedClientsFile, cfg.AutoAccept, cfg.MaxWaitingClients)
	if err != nil {
		return nil, err
	}
	s.auth.onRevoke = func(uuid string) { s.kick(uuid, errNotAllowed) }
	s.auth.onRelay = func(uuid string) { s.kick(uuid, errRelayChanged) }
	clk := tune.clock
	if clk == nil {
		clk = realClock{}
	}
	s.auth.clock = clk
	if cfg.MaxWaitingPerAddress > 0 && cfg.MaxWaitingPerAddress < cfg.MaxWaitingClients {
		s.auth.maxPerSource = cfg.MaxWaitingPerAddress
	}
	send := func(waitingNotice) {}
	if eh, ok := host.(sdk.EventHost); ok {
		send = waitingNotifier(log, eh)
	}
	s.auth.onWaiting = newWaitingNotices(log, clk, send).add
	s.tls = &tls.Config{Certificates: []tls.Certificate{tlsCert}, MinVersion: tls.VersionTLS12}
	addr := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	s.lis, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	log.Info("push server listening", "address", s.lis.Addr().String(), "auto_accept", cfg.AutoAccept)
	go s.accept()
	return s, nil
}

// accept serves each connection in its own goroutine until the listener
// closes.
func (s *server) accept() {
	defer close(s.served)
	var delay time.Duration
	for {
		conn, err := s.lis.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, most likely: wait a little rather
			// than spin, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Error("accept", "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		// Refused before the TLS handshake, which is what costs: a flood
		// of connections holds at most the limits' worth of them.
		release, ok := s.pre.acquire(sourceKey(conn.RemoteAddr()))
		if !ok {
			_ = conn.Close()
			continue
		}
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			defer release()
			s.handle(conn, release)
		}()
	}
}

// handle runs the TLS handshake and one session on conn, then tells the
// client why the session ended when it was refused. The TLS handshake and
// the hello share one deadline; authenticated is called once the hello is
// done, which frees the connection's unauthenticated slot.
func (s *server) handle(raw net.Conn, authenticated func()) {
	defer raw.Close()
	remote := raw.RemoteAddr().String()
	conn := tls.Server(raw, s.tls)
	_ = conn.SetDeadline(time.Now().Add(s.handshake))
	if err := conn.Handshake(); err != nil {
		s.log.Warn("push connection refused: TLS handshake failed", "remote", remote, "error", err)
		return
	}
	sc := newServerConn(conn, s.cfg.MaxMessageBytes)
	sc.authenticated, sc.source = authenticated, sourceKey(raw.RemoteAddr())
	defer sc.cancel(nil)
	err := s.Session(sc, remote)
	if err == nil {
		return
	}
	st, _ := status.FromError(err)
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = pushpb.WriteFrame(conn, &pushpb.ServerMessage{Body: &pushpb.ServerMessage_Refusal{Refusal: &pushpb.Refusal{
		Code: uint32(st.Code()), Message: st.Message()}}})
}

// addr is the listening address (the real port when port 0 was asked).
func (s *server) addr() string { return s.lis.Addr().String() }

func (s *server) stop() {
	s.mu.Lock()
	for _, se := range s.sessions {
		se.cancel(errStopping)
	}
	s.mu.Unlock()
	// Sessions are endless: they are cut, and clients resend what was not
	// acknowledged.
	_ = s.lis.Close()
	<-s.served
	s.conns.Wait()
	s.ing.Close()
}

// loadServerKeys returns the key signing UUIDs and the TLS certificate,
// creating what is missing on first start: the CA (when ca is set) and a
// server certificate signed by it, so a fresh master works without a
// manual step, as the original's packaging did with generate_cert.
func loadServerKeys(log hclog.Logger, cfg serverConfig) (crypto.Signer, tls.Certificate, error) {
	var caCert *x509.Certificate
	var caKey crypto.Signer
	if cfg.CA != "" {
		crt, key := filepath.Join(cfg.CA, "ca.crt"), filepath.Join(cfg.CA, "ca.key")
		err := createLocked(cfg.CA, func() error {
			if fileExists(crt) || fileExists(key) {
				return nil
			}
			der, k, err := newCertificate("Wigo push CA", nil, true, nil, nil)
			if err != nil {
				return err
			}
			if err := writeKeyPair(crt, key, der, k); err != nil {
				return fmt.Errorf("write CA: %w", err)
			}
			log.Info("created push CA", "cert", crt, "key", key)
			return nil
		})
		if err != nil {
			return nil, tls.Certificate{}, err
		}
		if caCert, err = readCert(crt); err != nil {
			return nil, tls.Certificate{}, err
		}
		if caKey, err = readKey(key); err != nil {
			return nil, tls.Certificate{}, err
		}
	}
	err := createLocked(filepath.Dir(cfg.TLSCert), func() error {
		if fileExists(cfg.TLSCert) || fileExists(cfg.TLSKey) {
			return nil
		}
		host, _ := os.Hostname()
		hosts := []string{host, "localhost", "127.0.0.1", "::1"}
		if cfg.Address != "" && cfg.Address != "0.0.0.0" && cfg.Address != "::" {
			hosts = append(hosts, cfg.Address)
		}
		der, k, err := newCertificate(host, hosts, false, caCert, caKey)
		if err != nil {
			return err
		}
		if err := writeKeyPair(cfg.TLSCert, cfg.TLSKey, der, k); err != nil {
			return fmt.Errorf("write server certificate: %w", err)
		}
		log.Info("created push server certificate", "cert", cfg.TLSCert, "key", cfg.TLSKey, "signed_by_ca", caCert != nil)
		return nil
	})
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tlsCert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("load TLS key pair: %w", err)
	}
	if caKey != nil {
		return caKey, tlsCert, nil
	}
	signer, ok := tlsCert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, tls.Certificate{}, fmt.Errorf("tls_key: unsupported key type %T", tlsCert.PrivateKey)
	}
	return signer, tlsCert, nil
}

// refuse logs why a client is refused and returns the status sent to it.
func (s *server) refuse(remote, uuid string, code codes.Code, reason string, err error) error {
	args := []any{"remote", remote, "reason", reason}
	if uuid != "" {
		args = append(args, "uuid", uuid)
	}
	if err != nil {
		args = append(args, "error", err)
	}
	s.log.Warn("push client refused", args...)
	if err != nil {
		return status.Errorf(code, "%s: %v", reason, err)
	}
	return status.Error(code, reason)
}

// recvHello reads the first message, at most maxHelloBytes, within the
// deadline set at the handshake: a connection that says nothing, or starts
// a huge frame, is not kept.
func (s *server) recvHello(stream *serverConn) (*pushpb.ClientMessage, error) {
	var m pushpb.ClientMessage
	if err := pushpb.ReadFrame(stream.conn, maxHelloBytes, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Session implements the push protocol on one connection; see README.md.
func (s *server) Session(stream *serverConn, remote string) error {
	m, err := s.recvHello(stream)
	if err != nil {
		var tooLarge *pushpb.FrameTooLargeError
		switch {
		case errors.As(err, &tooLarge):
			return s.refuse(remote, "", codes.ResourceExhausted,
				fmt.Sprintf("hello of %d bytes exceeds the %d-byte limit of a hello", tooLarge.Size, tooLarge.Max), nil)
		case errors.Is(err, pushpb.ErrHTTP2Client):
			return s.refuse(remote, "", codes.FailedPrecondition, "read hello", err)
		}
		return s.refuse(remote, "", codes.InvalidArgument, "read hello", err)
	}
	hello := m.GetHello()
	if hello == nil {
		return s.refuse(remote, "", codes.InvalidArgument, "first message is not a hello", nil)
	}
	if hello.GetProtocolVersion() != protocolVersion {
		return s.refuse(remote, "", codes.FailedPrecondition,
			fmt.Sprintf("protocol version %d not supported, this server speaks %d", hello.GetProtocolVersion(), protocolVersion), nil)
	}
	uuid := hello.GetUuid()
	if !uuidRe.MatchString(uuid) {
		return s.refuse(remote, "", codes.InvalidArgument, fmt.Sprintf("invalid UUID %q", trunc(uuid)), nil)
	}
	hostname := hello.GetHostname()
	if err := checkName(hostname); err != nil {
		return s.refuse(remote, uuid, codes.InvalidArgument, "invalid hostname", err)
	}
	key, err := checkKeyProof(stream.conn, uuid, hello.GetPublicKey(), hello.GetKeyProof())
	if err != nil {
		code := codes.InvalidArgument
		if errors.Is(err, errKeyProof) {
			code = codes.Unauthenticated
		}
		return s.refuse(remote, uuid, code, "client key refused", err)
	}
	welcome := &pushpb.Welcome{ProtocolVersion: protocolVersion, MaxMessageBytes: uint32(s.cfg.MaxMessageBytes)}
	if sig := hello.GetSignature(); len(sig) > 0 {
		newSig, err := s.auth.check(uuid, sig, key)
		if err != nil {
			code := codes.PermissionDenied
			switch {
			case errors.Is(err, errBadSignature):
				code = codes.Unauthenticated
			case !errors.Is(err, errNotAllowed) && !errors.Is(err, errOtherKey) && !errors.Is(err, errKeyBound):
				code = codes.Unavailable // the allowed list cannot be written now
			}
			return s.refuse(remote, uuid, code, "signature refused", err)
		}
		welcome.State, welcome.Signature = pushpb.Welcome_STATE_ACCEPTED, newSig
	} else {
		reg, sig, err := s.auth.register(claim{uuid: uuid, hostname: hostname, remote: remote, source: stream.source, key: key})
		if err != nil {
			code := codes.Internal
			switch {
			case errors.Is(err, errSignatureHeld), errors.Is(err, errOtherKey):
				code = codes.PermissionDenied
			case errors.Is(err, errNeedKey):
				code = codes.FailedPrecondition
			}
			return s.refuse(remote, uuid, code, "registration refused", err)
		}
		if reg == regWaiting {
			welcome.State = pushpb.Welcome_STATE_WAITING
			return stream.Send(&pushpb.ServerMessage{Body: &pushpb.ServerMessage_Welcome{Welcome: welcome}})
		}
		welcome.State, welcome.Signature = pushpb.Welcome_STATE_ACCEPTED, sig
	}

	if stream.authenticated != nil {
		stream.authenticated()
	}
	ctx := stream.ctx
	me := &session{cancel: stream.cancel, stream: stream, hostname: hostname, allowControl: hello.GetAllowRemoteControl()}
	s.mu.Lock()
	if old := s.sessions[uuid]; old != nil {
		old.cancel(errReplaced)
	}
	s.sessions[uuid] = me
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.sessions[uuid] == me {
			delete(s.sessions, uuid)
		}
		s.mu.Unlock()
	}()
	if err := stream.Send(&pushpb.ServerMessage{Body: &pushpb.ServerMessage_Welcome{Welcome: welcome}}); err != nil {
		return err
	}
	s.log.Debug("push session open", "uuid", uuid, "hostname", hostname, "remote", remote)
	return s.serve(ctx, stream, me, remote, uuid, hostname)
}

// relayRule keeps a session that is not a relay to its own host: what the
// client carries under RemoteWigos is dropped before the core, so an
// approved client cannot report (or claim the UUID of) any other host. The
// first time a session carries such hosts it is logged once, naming the
// client and how many hosts it carried, so the operator sees why they are
// missing on this master.
type relayRule struct {
	log                    hclog.Logger
	auth                   *authority
	uuid, hostname, remote string
	relay                  bool
	logged                 bool
}

// note logs, once per session, that a client that is not a relay carries
// n hosts under it.
func (r *relayRule) note(n int) {
	if r.relay || r.logged || n == 0 {
		return
	}
	r.logged = true
	r.auth.noteUnrelayed(r.uuid, n)
	r.log.Warn("push client is not a relay: the hosts it carries are dropped", "uuid", r.uuid, "hostname", r.hostname,
		"remote", r.remote, "hosts", n, "grant", "POST /api/authority/hosts/"+r.uuid+"/relay, or the Authority tab")
}

// document is the update carrying t whole for the core: without its
// RemoteWigos unless the session is a relay (t itself is kept whole, so
// that later deltas still apply).
func (r *relayRule) document(t tree) sdk.Update {
	if r.relay {
		return document(r.uuid, t)
	}
	if _, ok := t["RemoteWigos"]; !ok {
		return document(r.uuid, t)
	}
	if hosts, ok := t["RemoteWigos"].(tree); ok {
		r.note(len(hosts))
	}
	own := make(tree, len(t))
	for k, v := range t {
		if k != "RemoteWigos" {
			own[k] = v
		}
	}
	return document(r.uuid, own)
}

// ops returns the operations of a delta the core may see: all of them for
// a relay, those not under RemoteWigos otherwise. doc is the session's
// document, the delta already applied.
func (r *relayRule) ops(ops []op, doc tree) []op {
	if r.relay {
		return ops
	}
	own := ops[:0:0]
	for _, o := range ops {
		if o.Path[0] != "RemoteWigos" {
			own = append(own, o)
		}
	}
	if len(own) < len(ops) {
		if hosts, ok := doc["RemoteWigos"].(tree); ok {
			r.note(len(hosts))
		}
	}
	return own
}

// serve receives documents until the client leaves or breaks the protocol.
// The connection's one goroutine reads, ingests and acknowledges; a
// revoked, replaced or stopped session is cut at once (its read is
// interrupted) and told why.
func (s *server) serve(ctx context.Context, stream *serverConn, se *session, remote, uuid, hostname string) error {
	rule := &relayRule{log: s.log, auth: s.auth, uuid: uuid, hostname: hostname, remote: remote, relay: s.auth.relays(uuid)}
	var doc tree
	var lastSeq uint64
	var lastIngest time.Time
	for {
		m, err := stream.Recv()
		if cause := context.Cause(ctx); cause != nil {
			switch {
			case errors.Is(cause, errNotAllowed):
				return s.refuse(remote, uuid, codes.PermissionDenied, "session ended", cause)
			case errors.Is(cause, errReplaced), errors.Is(cause, errRelayChanged):
				return status.Error(codes.Aborted, cause.Error())
			case errors.Is(cause, errStopping):
				return status.Error(codes.Unavailable, cause.Error())
			}
		}
		if err != nil {
			return s.recvError(remote, uuid, err)
		}
		if m.GetSeq() < lastSeq {
			return s.refuse(remote, uuid, codes.InvalidArgument, fmt.Sprintf("sequence went back from %d to %d", lastSeq, m.GetSeq()), nil)
		}
		lastSeq = m.GetSeq()
		var upd sdk.Update
		switch body := m.GetBody().(type) {
		case *pushpb.ClientMessage_Snapshot:
			t, err := parseTree(body.Snapshot.GetJson())
			if err != nil {
				return s.refuse(remote, uuid, codes.InvalidArgument, "bad snapshot", err)
			}
			if err := validateTree(uuid, t); err != nil {
				return s.refuse(remote, uuid, codes.InvalidArgument, "invalid document", err)
			}
			doc = t
			upd = rule.document(doc)
		case *pushpb.ClientMessage_Delta:
			if doc == nil {
				return s.refuse(remote, uuid, codes.InvalidArgument, "delta before any snapshot", nil)
			}
			ops, err := parseOps(body.Delta.GetJson())
			if err != nil {
				return s.refuse(remote, uuid, codes.InvalidArgument, "bad delta", err)
			}
			if err := validateOps(uuid, ops); err != nil {
				return s.refuse(remote, uuid, codes.InvalidArgument, "invalid document", err)
			}
			// Applied in place: a delta that fails halfway ends the
			// session, and the document with it.
			if err := apply(doc, ops); err != nil {
				return s.refuse(remote, uuid, codes.InvalidArgument, "bad delta", err)
			}
			var ok bool
			if own := rule.ops(ops, doc); len(own) == 0 {
				// Only hosts it may not relay changed: the client's own
				// host is said alive, as by a heartbeat.
				upd = sdk.Update{Source: uuid, HostUUID: uuid}
			} else if upd, ok = probePatch(uuid, own); !ok {
				upd = rule.document(doc)
			}
		case *pushpb.ClientMessage_Heartbeat:
			// The core marks a host DOWN when nothing is ingested for
			// alive_timeout: a quiet but connected client is said alive
			// (an empty patch) every 10 s.
			if doc == nil || time.Since(lastIngest) < 10*time.Second {
				if err := s.ack(stream, m.GetSeq()); err != nil {
					return err
				}
				continue
			}
			upd = sdk.Update{Source: uuid, HostUUID: uuid}
		case *pushpb.ClientMessage_ControlResult:
			// The answer to a Control: nothing for the core, no ack.
			se.answered(body.ControlResult)
			continue
		default:
			return s.refuse(remote, uuid, codes.InvalidArgument, "unexpected message", nil)
		}
		err = s.ing.Ingest(ctx, upd)
		if errors.Is(err, sdk.ErrNeedDocument) {
			// The core does not hold this host whole (it went DOWN
			// meanwhile): the whole document then.
			err = s.ing.Ingest(ctx, rule.document(doc))
		}
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				// The session ended (client gone, replaced, revoked) while
				// its update was with the core: the client resends what was
				// not acknowledged.
				s.log.Debug("push session ended during an ingest", "uuid", uuid, "cause", cause)
				return status.FromContextError(cause).Err()
			}
			var remoteErr *sdk.RemoteError
			if !errors.As(err, &remoteErr) {
				// The core is unreachable: the client keeps the change and
				// resends it on its next session.
				s.log.Error("ingest into the core failed", "uuid", uuid, "error", err)
				return status.Error(codes.Unavailable, "master cannot store documents now")
			}
			// The core took the valid part and said what it skipped.
			s.log.Warn("pushed document partly refused by the core", "uuid", uuid, "error", err)
		}
		lastIngest = time.Now()
		if err := s.ack(stream, m.GetSeq()); err != nil {
			return err
		}
	}
}

// recvError logs why a session's connection broke.
func (s *server) recvError(remote, uuid string, err error) error {
	var tooLarge *pushpb.FrameTooLargeError
	var nerr net.Error
	switch {
	case errors.Is(err, io.EOF):
		s.log.Debug("push session closed by client", "uuid", uuid, "remote", remote)
		return nil
	case errors.As(err, &tooLarge):
		return s.refuse(remote, uuid, codes.ResourceExhausted, "receive", err)
	case errors.As(err, &nerr) && nerr.Timeout():
		return s.refuse(remote, uuid, codes.DeadlineExceeded, "receive", fmt.Errorf("nothing received for %v", serverIdleTimeout))
	}
	return s.refuse(remote, uuid, codes.InvalidArgument, "receive", err)
}

// Timeouts of a session: the silence after which it is dropped (clients
// send a heartbeat at least every minute), and a write the client does not
// read.
const (
	serverIdleTimeout = 3 * time.Minute
	writeTimeout      = 10 * time.Second
)

// serverConn is the server's side of one session: frames read and written
// by the connection's goroutine, and a context whose cancellation (revoke,
// replacement, shutdown) interrupts a read in progress.
type serverConn struct {
	conn    *tls.Conn
	maxRecv int
	ctx     context.Context
	cancel  context.CancelCauseFunc
	// authenticated, when set, is called once the client is accepted.
	authenticated func()
	// source is the peer's sourceKey.
	source string
	// wmu orders the writes of the session's goroutine (acks) and of the
	// Control calls.
	wmu sync.Mutex
}

func newServerConn(conn *tls.Conn, maxRecv int) *serverConn {
	ctx, cancel := context.WithCancelCause(context.Background())
	sc := &serverConn{conn: conn, maxRecv: maxRecv, ctx: ctx, cancel: cancel}
	context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	return sc
}

// Recv reads the next client message, waiting at most serverIdleTimeout.
func (c *serverConn) Recv() (*pushpb.ClientMessage, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(serverIdleTimeout))
	if c.ctx.Err() != nil {
		// Cancelled before the deadline above was set: the cancellation's
		// own deadline may have been overwritten.
		_ = c.conn.SetReadDeadline(time.Now())
	}
	var m pushpb.ClientMessage
	if err := pushpb.ReadFrame(c.conn, c.maxRecv, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Send writes m; a client that stops reading is dropped after writeTimeout.
func (c *serverConn) Send(m *pushpb.ServerMessage) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return pushpb.WriteFrame(c.conn, m)
}

func (s *server) ack(stream *serverConn, seq uint64) error {
	return stream.Send(&pushpb.ServerMessage{Body: &pushpb.ServerMessage_Ack{Ack: &pushpb.Ack{Seq: seq}}})
}

// kick ends the live session of uuid, if any.
func (s *server) kick(uuid string, cause error) {
	s.mu.Lock()
	se := s.sessions[uuid]
	s.mu.Unlock()
	if se != nil {
		se.cancel(cause)
	}
}

// sessionCount is the number of open sessions.
func (s *server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// eventTimeout bounds one client_waiting event call to the core;
// maxEventCalls bounds the calls in flight, so a flood of made-up client
// UUIDs costs a fixed number of goroutines (the surplus is logged, the
// waiting list and the log line still record the client).
const (
	eventTimeout  = 5 * time.Second
	maxEventCalls = 16
)

// waitingNotifier returns what sends a waitingNotice (already rate-limited
// by waitingNotices): it raises the core's client_waiting event in the
// background, never blocking registration; a failure is logged.
func waitingNotifier(log hclog.Logger, eh sdk.EventHost) func(waitingNotice) {
	sem := make(chan struct{}, maxEventCalls)
	return func(n waitingNotice) {
		select {
		case sem <- struct{}{}:
		default:
			log.Warn("client_waiting event not raised: too many in flight", "uuid", n.uuid, "hostname", n.hostname, "count", n.count)
			return
		}
		go func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
			defer cancel()
			if err := eh.Event(ctx, sdk.EventClientWaiting, n.uuid, n.hostname, n.message()); err != nil {
				log.Warn("client_waiting event not raised", "uuid", n.uuid, "hostname", n.hostname, "count", n.count, "error", err)
			}
		}()
	}
}
