package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
)

// TestReconnectStorm: 1,000 known clients reconnect at the same moment (a
// master restart) while 200 unknown ones register, and the authority is
// listed, allowed and revoked through the whole storm. The original
// crashed here (concurrent map iteration and map write); every session
// must be served.
func TestReconnectStorm(t *testing.T) {
	const known, unknown, maxWaiting = 1000, 200, 100
	dir := t.TempDir()
	var allowed strings.Builder
	for i := range known {
		fmt.Fprintf(&allowed, "known-%d h-known-%d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "allowed_clients"), []byte(allowed.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	log, _ := newLogger(t, "storm")
	host := newTestHost("master", "master")
	cfg := serverConfig{Address: "127.0.0.1", Port: freePort(t), TLSCert: filepath.Join(dir, "s.crt"), TLSKey: filepath.Join(dir, "s.key"),
		CA: filepath.Join(dir, "ca"), AllowedClientsFile: filepath.Join(dir, "allowed_clients"), MaxWaitingClients: maxWaiting, MaxMessageBytes: defaultMaxMessageBytes,
		MaxUnauthenticated: 1 << 20, MaxUnauthenticatedPerAddress: 1 << 20, HandshakeTimeout: defaultHandshakeTimeout}
	// Connections wait for the storm after their handshake: the hello
	// deadline must outlast the setup.
	tune := fastTuning()
	tune.helloTimeout = 2 * time.Minute
	srv, err := newServer(log, cfg, tune, host)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	caKey, err := readKey(filepath.Join(dir, "ca", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	sigs := make([][]byte, known)
	for i := range sigs {
		if sigs[i], err = signUUID(caKey, fmt.Sprintf("known-%d", i)); err != nil {
			t.Fatal(err)
		}
	}

	// Connections are made (TLS handshakes included) before the storm,
	// eight at a time: the storm is every session starting at once.
	total := known + unknown
	conns := make([]*pushpb.ClientConn, total)
	var dial errgroup.Group
	dial.SetLimit(8)
	for i := range conns {
		dial.Go(func() error {
			c, err := tls.Dial("tcp", srv.addr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
			if err != nil {
				return err
			}
			conns[i] = pushpb.NewClientConn(c, 1<<20)
			return nil
		})
	}
	if err := dial.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		defer c.Close()
	}

	stop := make(chan struct{})
	var churn sync.WaitGroup
	var lists atomic.Int64
	churn.Add(1)
	go func() { // the operator's UI polling, approving and revoking meanwhile
		defer churn.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			w, _ := srv.auth.list()
			lists.Add(1)
			for id := range w {
				if i%3 == 0 {
					_ = srv.auth.allow(id)
				} else {
					_ = srv.auth.revoke(id)
				}
				break
			}
		}
	}()

	start := make(chan struct{})
	var wg sync.WaitGroup
	var served, waited atomic.Int64
	errs := make(chan error, total)
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st := conns[i]
			if i >= known {
				uuid := fmt.Sprintf("new-%d", i)
				if err := st.Send(keyed(t, st.Conn().(*tls.Conn), hello(uuid, "h-"+uuid, nil), testPrivOf(uuid))); err != nil {
					errs <- err
					return
				}
				if _, err := st.Recv(); err != nil {
					errs <- fmt.Errorf("%s: %w", uuid, err)
					return
				}
				waited.Add(1)
				return
			}
			uuid := fmt.Sprintf("known-%d", i)
			if err := st.Send(hello(uuid, "h-"+uuid, sigs[i])); err != nil {
				errs <- err
				return
			}
			if err := st.Send(snapshot(1, doc(uuid, map[string]int{"cpu": 100, "disk": 200}))); err != nil {
				errs <- err
				return
			}
			for {
				m, err := st.Recv()
				if err != nil {
					errs <- fmt.Errorf("%s: %w", uuid, err)
					return
				}
				if m.GetAck() != nil {
					served.Add(1)
					break
				}
			}
			<-stop // keep the session open through the storm
		}()
	}
	began := time.Now()
	close(start)
	deadline := time.After(50 * time.Second)
	for served.Load()+int64(len(errs)) < known || waited.Load() < unknown && len(errs) == 0 {
		select {
		case <-deadline:
			t.Fatalf("storm not served in time: %d/%d served, %d/%d waiting answered", served.Load(), known, waited.Load(), unknown)
		case <-time.After(10 * time.Millisecond):
		}
	}
	elapsed := time.Since(began)
	if len(errs) > 0 {
		t.Fatalf("session failed: %v", <-errs)
	}
	if got := srv.sessionCount(); got != known {
		t.Errorf("%d open sessions, want %d", got, known)
	}
	close(stop)
	churn.Wait()
	wg.Wait()
	if n := host.sources(); n != known {
		t.Errorf("documents from %d clients, want %d", n, known)
	}
	w, _ := srv.auth.list()
	if len(w) > maxWaiting {
		t.Errorf("waiting list holds %d, bound is %d", len(w), maxWaiting)
	}
	t.Logf("%d sessions and %d registrations in %v, %d authority lists meanwhile", known, unknown, elapsed.Round(time.Millisecond), lists.Load())
}
