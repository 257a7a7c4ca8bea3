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
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
	"github.com/wigo-project/wigo/sdk"
)

// server is the push server role: it accepts client sessions, checks them
// against the authority and ingests their documents into the core.
type server struct {
	pushpb.UnimplementedPushServer
	log    hclog.Logger
	cfg    serverConfig
	tune   tuning
	host   sdk.Host
	ing    *sdk.Batcher
	auth   *authority
	lis    net.Listener
	grpc   *grpc.Server
	served chan struct{}

	mu       sync.Mutex
	sessions map[string]*session // by client UUID
}

// session is one accepted client connection.
type session struct {
	cancel context.CancelCauseFunc
}

var (
	errReplaced = errors.New("replaced by a newer session of the same client")
	errStopping = errors.New("push server stopping")
)

func newServer(log hclog.Logger, cfg serverConfig, tune tuning, host sdk.Host) (*server, error) {
	signer, tlsCert, err := loadServerKeys(log, cfg)
	if err != nil {
		return nil, err
	}
	s := &server{log: log, cfg: cfg, tune: tune, host: host, ing: sdk.NewBatcher(log, host), sessions: map[string]*session{}, served: make(chan struct{})}
	s.auth, err = newAuthority(log, signer, cfg.AllowedClientsFile, cfg.AutoAccept, cfg.MaxWaitingClients)
	if err != nil {
		return nil, err
	}
	s.auth.onRevoke = func(uuid string) { s.kick(uuid, errNotAllowed) }
	if eh, ok := host.(sdk.EventHost); ok {
		s.auth.onWaiting = waitingNotifier(log, eh)
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{tlsCert}, MinVersion: tls.VersionTLS12}
	s.grpc = grpc.NewServer(
		grpc.Creds(&loggingCreds{TransportCredentials: credentials.NewTLS(tlsCfg), log: log}),
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.MaxSendMsgSize(64<<10),
		// A session is one stream; a few extra allow a reconnect over the
		// same connection while the old stream winds down.
		grpc.MaxConcurrentStreams(4),
		// Thousands of mostly idle connections: small per-connection
		// buffers, the write buffer released between writes, and fixed
		// flow-control windows (no BDP probing growing them per
		// connection). Measured with cmd/wigo-loadgen: see BENCHMARKS.md.
		// No read buffer: TLS already holds the decrypted record, a
		// second copy cost 8 KB per connection.
		grpc.ReadBufferSize(0),
		grpc.WriteBufferSize(8<<10),
		grpc.SharedWriteBuffer(true),
		grpc.InitialWindowSize(256<<10),
		grpc.InitialConnWindowSize(256<<10),
		grpc.ConnectionTimeout(10*time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	pushpb.RegisterPushServer(s.grpc, s)
	addr := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	s.lis, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	log.Info("push server listening", "address", s.lis.Addr().String(), "auto_accept", cfg.AutoAccept)
	go func() {
		defer close(s.served)
		if err := s.grpc.Serve(s.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			log.Error("push server stopped", "error", err)
		}
	}()
	return s, nil
}

// addr is the listening address (the real port when port 0 was asked).
func (s *server) addr() string { return s.lis.Addr().String() }

func (s *server) stop() {
	s.mu.Lock()
	for _, se := range s.sessions {
		se.cancel(errStopping)
	}
	s.mu.Unlock()
	// Not GracefulStop: sessions are endless streams. Clients resend what
	// was not acknowledged.
	s.grpc.Stop()
	<-s.served
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
		if !fileExists(crt) && !fileExists(key) {
			der, k, err := newCertificate("Wigo push CA", nil, true, nil, nil)
			if err != nil {
				return nil, tls.Certificate{}, err
			}
			if err := writeKeyPair(crt, key, der, k); err != nil {
				return nil, tls.Certificate{}, fmt.Errorf("write CA: %w", err)
			}
			log.Info("created push CA", "cert", crt, "key", key)
		}
		var err error
		if caCert, err = readCert(crt); err != nil {
			return nil, tls.Certificate{}, err
		}
		if caKey, err = readKey(key); err != nil {
			return nil, tls.Certificate{}, err
		}
	}
	if !fileExists(cfg.TLSCert) && !fileExists(cfg.TLSKey) {
		host, _ := os.Hostname()
		hosts := []string{host, "localhost", "127.0.0.1", "::1"}
		if cfg.Address != "" && cfg.Address != "0.0.0.0" && cfg.Address != "::" {
			hosts = append(hosts, cfg.Address)
		}
		der, k, err := newCertificate(host, hosts, false, caCert, caKey)
		if err != nil {
			return nil, tls.Certificate{}, err
		}
		if err := writeKeyPair(cfg.TLSCert, cfg.TLSKey, der, k); err != nil {
			return nil, tls.Certificate{}, fmt.Errorf("write server certificate: %w", err)
		}
		log.Info("created push server certificate", "cert", cfg.TLSCert, "key", cfg.TLSKey, "signed_by_ca", caCert != nil)
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

// loggingCreds logs refused TLS handshakes (random bytes, plain text, a
// certificate problem): gRPC would only tell its own internal logger.
type loggingCreds struct {
	credentials.TransportCredentials
	log hclog.Logger
}

func (c *loggingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.log.Warn("push connection refused: TLS handshake failed", "remote", conn.RemoteAddr().String(), "error", err)
	}
	return out, info, err
}

func (c *loggingCreds) Clone() credentials.TransportCredentials {
	return &loggingCreds{TransportCredentials: c.TransportCredentials.Clone(), log: c.log}
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

// recvHello waits for the first message, at most helloTimeout: a
// connection that says nothing is not kept.
func (s *server) recvHello(stream pushpb.Push_SessionServer) (*pushpb.ClientMessage, error) {
	type result struct {
		m   *pushpb.ClientMessage
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		ch <- result{m, err}
	}()
	t := time.NewTimer(s.tune.helloTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-t.C:
		return nil, errors.New("no hello in time")
	}
}

// Session implements the push protocol; see README.md.
func (s *server) Session(stream pushpb.Push_SessionServer) error {
	remote := "unknown"
	if p, ok := peer.FromContext(stream.Context()); ok {
		remote = p.Addr.String()
	}
	m, err := s.recvHello(stream)
	if err != nil {
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
	welcome := &pushpb.Welcome{ProtocolVersion: protocolVersion, MaxMessageBytes: uint32(s.cfg.MaxMessageBytes)}
	if sig := hello.GetSignature(); len(sig) > 0 {
		if err := s.auth.check(uuid, sig); err != nil {
			code := codes.PermissionDenied
			if errors.Is(err, errBadSignature) {
				code = codes.Unauthenticated
			}
			return s.refuse(remote, uuid, code, "signature refused", err)
		}
		welcome.State = pushpb.Welcome_STATE_ACCEPTED
	} else {
		reg, sig, err := s.auth.register(uuid, hostname)
		if err != nil {
			code := codes.Internal
			if errors.Is(err, errSignatureHeld) {
				code = codes.PermissionDenied
			}
			return s.refuse(remote, uuid, code, "registration refused", err)
		}
		if reg == regWaiting {
			welcome.State = pushpb.Welcome_STATE_WAITING
			return stream.Send(&pushpb.ServerMessage{Body: &pushpb.ServerMessage_Welcome{Welcome: welcome}})
		}
		welcome.State, welcome.Signature = pushpb.Welcome_STATE_ACCEPTED, sig
	}

	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	me := &session{cancel: cancel}
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
	return s.serve(ctx, stream, remote, uuid)
}

// serve receives documents until the client leaves or breaks the protocol.
// It receives in the handler's own goroutine: one goroutine hand-off less
// per update was a measurable share of the server's CPU (see
// BENCHMARKS.md). So a revoked or replaced session ends at its next message
// (a heartbeat at the latest, every push_interval), which is checked before
// anything is ingested.
func (s *server) serve(ctx context.Context, stream pushpb.Push_SessionServer, remote, uuid string) error {
	var doc tree
	var lastSeq uint64
	var lastIngest time.Time
	for {
		m, err := stream.Recv()
		if cause := context.Cause(ctx); cause != nil {
			switch {
			case errors.Is(cause, errNotAllowed):
				return s.refuse(remote, uuid, codes.PermissionDenied, "session ended", cause)
			case errors.Is(cause, errReplaced):
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
			upd = document(uuid, doc)
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
			if upd, ok = probePatch(uuid, ops); !ok {
				upd = document(uuid, doc)
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
		default:
			return s.refuse(remote, uuid, codes.InvalidArgument, "unexpected message", nil)
		}
		err = s.ing.Ingest(ctx, upd)
		if errors.Is(err, sdk.ErrNeedDocument) {
			// The core does not hold this host whole (it went DOWN
			// meanwhile): the whole document then.
			err = s.ing.Ingest(ctx, document(uuid, doc))
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

// recvError logs why a session's stream broke.
func (s *server) recvError(remote, uuid string, err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	if c := status.Code(err); c == codes.Canceled || c == codes.DeadlineExceeded {
		// The client went away (or its own deadline ended the call).
		s.log.Debug("push session closed by client", "uuid", uuid, "remote", remote)
		return err
	}
	return s.refuse(remote, uuid, status.Code(err), "receive", err)
}

func (s *server) ack(stream pushpb.Push_SessionServer, seq uint64) error {
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

// waitingNotifier returns the authority's onWaiting: it raises the core's
// client_waiting event in the background, never blocking registration;
// a failure is logged.
func waitingNotifier(log hclog.Logger, eh sdk.EventHost) func(uuid, hostname string) {
	sem := make(chan struct{}, maxEventCalls)
	return func(uuid, hostname string) {
		select {
		case sem <- struct{}{}:
		default:
			log.Warn("client_waiting event not raised: too many in flight", "uuid", uuid, "hostname", hostname)
			return
		}
		go func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
			defer cancel()
			msg := fmt.Sprintf("New push client %s (%s) is waiting for approval", hostname, uuid)
			if err := eh.Event(ctx, sdk.EventClientWaiting, uuid, hostname, msg); err != nil {
				log.Warn("client_waiting event not raised", "uuid", uuid, "hostname", hostname, "error", err)
			}
		}()
	}
}
