package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// benchDoc is a host of n probes shaped like the core's GET /api.
func benchDoc(uuid string, n, status int) map[string]any {
	probes := map[string]any{}
	for i := range n {
		name := fmt.Sprintf("probe%d", i)
		probes[name] = map[string]any{"Name": name, "Version": "0.1", "Status": status, "Message": name + " is fine",
			"Timestamp": time.Now().Unix(), "ProbeDate": "2026-11-25T12:00:00.000000 (UTC)", "Value": 1,
			"Metrics": []any{map[string]any{"Tags": map[string]string{"k": "v"}, "Value": 0.5}}, "Detail": nil, "ExitCode": 0}
	}
	return map[string]any{"Uuid": uuid, "Version": "b", "IsAlive": true, "GlobalStatus": 100, "GlobalMessage": "", "Hostname": "h",
		"LastUpdate": 1, "RemoteWigos": map[string]any{},
		"LocalHost": map[string]any{"Name": "h", "Group": "g", "Status": 100, "Probes": probes}}
}

// BenchmarkServerUpdate is the push server's work for one pushed update of
// a 20-probe host (every probe renewed), from the delta's bytes to the
// probe patch handed to the core: decode, validate, apply, patch.
func BenchmarkServerUpdate(b *testing.B) {
	a, _ := json.Marshal(benchDoc("u-1", 20, 100))
	c, _ := json.Marshal(benchDoc("u-1", 20, 300))
	ta, _ := parseTree(a)
	tc, _ := parseTree(c)
	delta, _ := json.Marshal(diff(ta, tc))
	doc := ta
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ops, err := parseOps(delta)
		if err != nil {
			b.Fatal(err)
		}
		if err := validateOps("u-1", ops); err != nil {
			b.Fatal(err)
		}
		if err := apply(doc, ops); err != nil {
			b.Fatal(err)
		}
		if u, ok := probePatch("u-1", ops); !ok || len(u.Probes) != 20 {
			b.Fatalf("not a 20-probe patch: %v %d", ok, len(u.Probes))
		}
	}
}

type nopHost struct{ testHost }

func (*nopHost) Ingest(_ context.Context, _ string, _ []byte) error { return nil }

// benchSession opens an accepted session at addr, sends a snapshot and
// returns the session with a delta to send.
func benchSession(b *testing.B, addr string) (*pushpb.ClientConn, []byte) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // bench
	if err != nil {
		b.Fatal(err)
	}
	st := pushpb.NewClientConn(conn, 1<<20)
	b.Cleanup(func() { st.Close() })
	_ = st.Send(keyed(b, conn, hello("u-1", "h", nil), testPrivOf("u-1")))
	if _, err := st.Recv(); err != nil {
		b.Fatal(err)
	}
	a, _ := json.Marshal(benchDoc("u-1", 20, 100))
	c, _ := json.Marshal(benchDoc("u-1", 20, 300))
	ta, _ := parseTree(a)
	tc, _ := parseTree(c)
	delta, _ := json.Marshal(diff(ta, tc))
	_ = st.Send(&pushpb.ClientMessage{Seq: 1, Body: &pushpb.ClientMessage_Snapshot{Snapshot: &pushpb.Document{Json: a}}})
	if _, err := st.Recv(); err != nil {
		b.Fatal(err)
	}
	return st, delta
}

// sendDeltas sends delta b.N times, each waiting for its ack.
func sendDeltas(b *testing.B, st *pushpb.ClientConn, delta []byte) {
	b.ReportAllocs()
	b.ResetTimer()
	seq := uint64(1)
	for b.Loop() {
		seq++
		if err := st.Send(&pushpb.ClientMessage{Seq: seq, Body: &pushpb.ClientMessage_Delta{Delta: &pushpb.Document{Json: delta}}}); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Recv(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushSession is one update through the real server over TLS on
// loopback: framing, TLS, the server's checks and the ack; the core's
// Ingest is a no-op here.
func BenchmarkPushSession(b *testing.B) {
	dir := b.TempDir()
	log := hclog.NewNullLogger()
	cfg := serverConfig{Address: "127.0.0.1", Port: freePort(b), TLSCert: filepath.Join(dir, "s.crt"), TLSKey: filepath.Join(dir, "s.key"),
		AllowedClientsFile: filepath.Join(dir, "allowed"), AutoAccept: true, MaxWaitingClients: 10, MaxMessageBytes: defaultMaxMessageBytes,
		MaxUnauthenticated: 1 << 20, MaxUnauthenticatedPerAddress: 1 << 20, HandshakeTimeout: defaultHandshakeTimeout}
	srv, err := newServer(log, cfg, defaultTuning(), &nopHost{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.stop()
	st, delta := benchSession(b, srv.addr())
	sendDeltas(b, st, delta)
}

// BenchmarkPushSessionThroughBroker is BenchmarkPushSession with the
// plugin served through sdktest: updates cross the real go-plugin broker
// to the (no-op) core, as in the daemon.
func BenchmarkPushSessionThroughBroker(b *testing.B) {
	dir := b.TempDir()
	port := freePort(b)
	impl := newTransport(hclog.NewNullLogger())
	tc := sdktest.Transport(b, impl)
	if err := tc.Configure(serverBlock(dir, port, "auto_accept = true")); err != nil {
		b.Fatal(err)
	}
	if err := tc.Start(&nopHost{}); err != nil {
		b.Fatal(err)
	}
	defer tc.Stop()
	st, delta := benchSession(b, addrOf(port))
	sendDeltas(b, st, delta)
}
