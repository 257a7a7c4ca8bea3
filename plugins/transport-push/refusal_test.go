package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
)

// rawSession opens a protocol session by hand, trusting any server
// certificate, to send what a real client never would.
func rawSession(t *testing.T, port int) *pushpb.ClientConn {
	t.Helper()
	conn, err := tls.Dial("tcp", addrOf(port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	st := pushpb.NewClientConn(conn, 1<<20)
	t.Cleanup(func() { st.Close() })
	return st
}

func hello(uuid, hostname string, sig []byte) *pushpb.ClientMessage {
	return &pushpb.ClientMessage{Body: &pushpb.ClientMessage_Hello{Hello: &pushpb.Hello{ProtocolVersion: protocolVersion, Uuid: uuid, Hostname: hostname, Signature: sig}}}
}

func snapshot(seq uint64, doc any) *pushpb.ClientMessage {
	b, _ := json.Marshal(doc)
	return &pushpb.ClientMessage{Seq: seq, Body: &pushpb.ClientMessage_Snapshot{Snapshot: &pushpb.Document{Json: b}}}
}

func doc(uuid string, probes map[string]int) map[string]any {
	p := map[string]any{}
	for n, s := range probes {
		p[n] = map[string]any{"Name": n, "Status": s}
	}
	return map[string]any{"Uuid": uuid, "LocalHost": map[string]any{"Name": "h-" + uuid, "Probes": p}}
}

// refusedWith sends msgs on a new session and expects the session to end
// with code.
func refusedWith(t *testing.T, port int, code codes.Code, msgs ...*pushpb.ClientMessage) {
	t.Helper()
	st := rawSession(t, port)
	for _, m := range msgs {
		if err := st.Send(m); err != nil {
			break // the server already closed; Recv has its status
		}
	}
	for {
		m, err := st.Recv()
		if err != nil {
			if status.Code(err) != code {
				t.Fatalf("session ended with %v, want %v", err, code)
			}
			return
		}
		if w := m.GetWelcome(); w != nil && w.GetState() != pushpb.Welcome_STATE_ACCEPTED {
			t.Fatalf("got welcome %v, want refusal %v", w.GetState(), code)
		}
	}
}

// acceptedSession opens a session as an allowed client and returns it
// after the welcome.
func acceptedSession(t *testing.T, port int, uuid string, sig []byte) *pushpb.ClientConn {
	t.Helper()
	st := rawSession(t, port)
	if err := st.Send(hello(uuid, "h-"+uuid, sig)); err != nil {
		t.Fatal(err)
	}
	m, err := st.Recv()
	if err != nil || m.GetWelcome().GetState() != pushpb.Welcome_STATE_ACCEPTED {
		t.Fatalf("welcome: %v, %v", m, err)
	}
	return st
}

func expectAck(t *testing.T, st *pushpb.ClientConn, seq uint64) {
	t.Helper()
	m, err := st.Recv()
	if err != nil || m.GetAck() == nil || m.GetAck().GetSeq() != seq {
		t.Fatalf("want ack %d, got %v, %v", seq, m, err)
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	srvDir := filepath.Join(dir, "srv")
	if err := os.MkdirAll(srvDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srvDir, "allowed_clients"), []byte("good-1 h-good-1\ngood-2 h-good-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	srv := startServer(t, srvDir, port, "max_message_bytes = 65536")
	caKey, err := readKey(filepath.Join(srvDir, "ca", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(uuid string) []byte {
		s, err := signUUID(caKey, uuid)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// A good client connected before, during and after the refusals.
	good := acceptedSession(t, port, "good-1", sign("good-1"))
	if err := good.Send(snapshot(1, doc("good-1", map[string]int{"cpu": 100}))); err != nil {
		t.Fatal(err)
	}
	expectAck(t, good, 1)

	forged := make([]byte, 71)
	_, _ = rand.Read(forged)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherSig, _ := signUUID(other, "good-2")
	bigDoc := doc("good-2", map[string]int{"cpu": 100})
	bigDoc["Padding"] = strings.Repeat("x", 100<<10)

	cases := []struct {
		name string
		code codes.Code
		msgs []*pushpb.ClientMessage
		log  string
	}{
		{"forged signature", codes.Unauthenticated, []*pushpb.ClientMessage{hello("good-2", "h", forged)}, "signature refused"},
		{"signature from another CA", codes.Unauthenticated, []*pushpb.ClientMessage{hello("good-2", "h", otherSig)}, "signature refused"},
		{"revoked client", codes.PermissionDenied, []*pushpb.ClientMessage{hello("revoked-1", "h", sign("revoked-1"))}, "not allowed"},
		{"allowed UUID without signature", codes.PermissionDenied, []*pushpb.ClientMessage{hello("good-2", "h", nil)}, "already received its signature"},
		{"bad protocol version", codes.FailedPrecondition, []*pushpb.ClientMessage{{Body: &pushpb.ClientMessage_Hello{Hello: &pushpb.Hello{ProtocolVersion: 99, Uuid: "x"}}}}, "protocol version 99"},
		{"bad UUID", codes.InvalidArgument, []*pushpb.ClientMessage{hello("../../etc", "h", nil)}, "invalid UUID"},
		{"bad hostname", codes.InvalidArgument, []*pushpb.ClientMessage{hello("u-1", "a\x00b", nil)}, "invalid hostname"},
		{"no hello", codes.InvalidArgument, []*pushpb.ClientMessage{snapshot(1, doc("good-2", nil))}, "not a hello"},
		{"oversized hello", codes.ResourceExhausted, []*pushpb.ClientMessage{hello("u-2", strings.Repeat("h", 100<<10), nil)}, "limit of a hello"},
		{"oversized snapshot", codes.ResourceExhausted, []*pushpb.ClientMessage{hello("good-2", "h", sign("good-2")), snapshot(1, bigDoc)}, "receive"},
		{"document of another UUID", codes.InvalidArgument, []*pushpb.ClientMessage{hello("good-2", "h", sign("good-2")), snapshot(1, doc("good-1", nil))}, "invalid document"},
		{"status out of range", codes.InvalidArgument, []*pushpb.ClientMessage{hello("good-2", "h", sign("good-2")), snapshot(1, doc("good-2", map[string]int{"cpu": 5000}))}, "out of range"},
		{"probe name with a slash", codes.InvalidArgument, []*pushpb.ClientMessage{hello("good-2", "h", sign("good-2")), snapshot(1, doc("good-2", map[string]int{"a/b": 100}))}, "contains a slash"},
		{"not JSON", codes.InvalidArgument, []*pushpb.ClientMessage{hello("good-2", "h", sign("good-2")), {Seq: 1, Body: &pushpb.ClientMessage_Snapshot{Snapshot: &pushpb.Document{Json: []byte("{nope")}}}}, "bad snapshot"},
		{"delta before snapshot", codes.InvalidArgument, []*pushpb.ClientMessage{hello("good-2", "h", sign("good-2")), {Seq: 1, Body: &pushpb.ClientMessage_Delta{Delta: &pushpb.Document{Json: []byte("[]")}}}}, "delta before"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := strings.Count(srv.log.String(), c.log)
			refusedWith(t, port, c.code, c.msgs...)
			eventually(t, "log line "+c.log+" in:\n"+srv.log.String(), func() bool { return strings.Count(srv.log.String(), c.log) > before })
		})
	}

	t.Run("random bytes", func(t *testing.T) {
		conn, err := net.Dial("tcp", addrOf(port))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		junk := make([]byte, 4096)
		_, _ = rand.Read(junk)
		_, _ = conn.Write(junk)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, conn)
		eventually(t, "log line", func() bool { return strings.Contains(srv.log.String(), "TLS handshake failed") })
	})

	t.Run("truncated frame", func(t *testing.T) {
		// A frame announcing 1000 bytes, of which 10 arrive before the
		// client stops sending.
		before := strings.Count(srv.log.String(), "read hello")
		conn, err := tls.Dial("tcp", addrOf(port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		frame := binary.BigEndian.AppendUint32(nil, 1000)
		if _, err := conn.Write(append(frame, "0123456789"...)); err != nil {
			t.Fatal(err)
		}
		if err := conn.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		_, err = pushpb.NewClientConn(conn, 1<<20).Recv()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "unexpected EOF") {
			t.Fatalf("refusal %v, want InvalidArgument about the cut frame", err)
		}
		eventually(t, "log line", func() bool { return strings.Count(srv.log.String(), "read hello") > before })
	})

	t.Run("client of protocol version 1", func(t *testing.T) {
		// What a gRPC client sends first: the HTTP/2 preface.
		conn, err := tls.Dial("tcp", addrOf(port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, conn)
		eventually(t, "log line", func() bool { return strings.Contains(srv.log.String(), "protocol version 1") })
	})

	t.Run("master certificate from another CA", func(t *testing.T) {
		cliDir := filepath.Join(dir, "cli")
		caDER, _, err := newCertificate("other CA", nil, true, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFileAtomic(filepath.Join(cliDir, "master.crt"), certPEM(caDER), 0o644); err != nil {
			t.Fatal(err)
		}
		cli := startClient(t, cliDir, port, "good-2")
		eventually(t, "client refuses the server", func() bool {
			return strings.Contains(cli.log.String(), "does not verify")
		})
	})

	// Nothing from the refused sessions reached the core, and the good
	// client is still served.
	if n := srv.host.count("good-2") + srv.host.count("revoked-1") + srv.host.count("u-1") + srv.host.count("u-2"); n != 0 {
		t.Fatalf("%d documents ingested from refused sessions", n)
	}
	if err := good.Send(&pushpb.ClientMessage{Seq: 2, Body: &pushpb.ClientMessage_Delta{Delta: &pushpb.Document{
		Json: []byte(`[{"p":["LocalHost","Probes","cpu"],"v":{"Name":"cpu","Status":300}}]`)}}}); err != nil {
		t.Fatal(err)
	}
	expectAck(t, good, 2)
	if got := srv.host.statuses("good-1", "cpu"); len(got) != 2 || got[1] != 300 {
		t.Fatalf("good client statuses = %v", got)
	}
}
