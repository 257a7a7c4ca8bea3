package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
)

// dialFrom opens a TLS connection to port from the loopback address local
// (127.0.0.0/8 is all loopback on Linux: each address is another source
// for the server's per-address limits).
func dialFrom(local string, port int) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return tls.DialWithDialer(d, "tcp", addrOf(port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
}

// genuinePush opens a session as a new client uuid on an auto-accepting
// master, pushes a snapshot with probe flip at status and waits for its
// acknowledgement.
func genuinePush(t *testing.T, port int, uuid string, status int) {
	t.Helper()
	st, m, err := keyedSession(t, port, uuid, nil, testPrivOf(uuid))
	defer st.Close()
	if err != nil || m.GetWelcome().GetState() != pushpb.Welcome_STATE_ACCEPTED {
		t.Fatalf("genuine client %s: welcome %v, %v", uuid, m, err)
	}
	if err := st.Send(snapshot(1, doc(uuid, map[string]int{"flip": status}))); err != nil {
		t.Fatal(err)
	}
	expectAck(t, st, 1)
}

// TestOversizedHelloFlood: 200 connections each sending a 3 MiB hello
// (finding 5 of issue 11: the hello could be max_message_bytes, 16 MiB,
// before any authentication) leave the real plugin's resident memory
// within 64 MB of its idle size, and a genuine client connects during and
// after the flood.
func TestOversizedHelloFlood(t *testing.T) {
	const conns, helloBytes, bound = 200, 3 << 20, 64 << 20
	port := freePort(t)
	master := newDaemon(t, "master", "")
	writeTestFile(t, master.config, mustRead(t, master.config)+masterBlock(master.dir, port, "auto_accept = true"), 0o644)
	master.start(t)
	master.waitAPI(t, "master up", 30*time.Second, func(*model.Wigo) bool { return true })
	eventually(t, "push port open", func() bool {
		c, err := net.Dial("tcp", addrOf(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	genuinePush(t, port, "before-flood", 100)
	master.waitAPI(t, "client before the flood", 15*time.Second, func(w *model.Wigo) bool { return remoteStatus(w, "before-flood", "flip") == 100 })
	pid := master.pluginPID(t)
	idle := rssBytes(t, pid)

	// Each connection sends its whole hello, then waits for the server's
	// answer (a refusal, or the connection closed) and stays open until
	// the measure is taken.
	big := hello("flood", strings.Repeat("h", helloBytes), nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	answered := 0
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialFrom(fmt.Sprintf("127.0.0.%d", 2+i%8), port)
			if err != nil {
				// Closed before the handshake: a limit of the server.
				mu.Lock()
				answered++
				mu.Unlock()
				return
			}
			_ = c.SetDeadline(time.Now().Add(60 * time.Second))
			_ = pushpb.WriteFrame(c, big)
			_, _ = pushpb.NewClientConn(c, 1<<20).Recv()
			mu.Lock()
			answered++
			open = append(open, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	flood := rssBytes(t, pid)
	t.Logf("transport-push VmRSS: idle %d KiB, after %d connections of a %d-byte hello %d KiB (%d answered)", idle>>10, conns, helloBytes, flood>>10, answered)
	if flood-idle > bound {
		t.Errorf("the flood took the push plugin from %d MiB to %d MiB, more than %d MiB over idle", idle>>20, flood>>20, bound>>20)
	}
	// During the flood (its connections still open) and after it.
	genuinePush(t, port, "during-flood", 300)
	master.waitAPI(t, "client during the flood", 15*time.Second, func(w *model.Wigo) bool { return remoteStatus(w, "during-flood", "flip") == 300 })
	for _, c := range open {
		c.Close()
	}
	genuinePush(t, port, "after-flood", 200)
	master.waitAPI(t, "client after the flood", 15*time.Second, func(w *model.Wigo) bool { return remoteStatus(w, "after-flood", "flip") == 200 })
	if !strings.Contains(master.logs.String(), "exceeds the 4096-byte limit of a hello") {
		t.Errorf("no refusal of the oversized hello in the log")
	}

	// Connections that never say anything: one source holds at most
	// max_unauthenticated_per_address (16) of them, the next is closed
	// before its handshake, and other sources are still served.
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	silent := func() net.Conn {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.10")}}
		c, err := d.Dial("tcp", addrOf(port))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for range defaultMaxUnauthenticatedPerAddress {
		held = append(held, silent())
	}
	// Accepted in order: once a TLS handshake on a fresh connection from
	// another source is through, the 16 before it were counted.
	probe, err := dialFrom("127.0.0.11", port)
	if err != nil {
		t.Fatalf("another source during the silent connections: %v", err)
	}
	probe.Close()
	extra := silent()
	held = append(held, extra)
	_ = extra.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection 17 from one source: read %d, %v; want it closed at once", n, err)
	}
	genuinePush(t, port, "beside-silent", 100)
	eventually(t, "log of the limit", func() bool {
		return strings.Contains(master.logs.String(), "too many unauthenticated connections")
	})
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := readFileString(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
