package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// controlCore is a client's core that carries out probe control: it
// answers what it was asked (so the test sees every field crossed the
// wire), refuses the probe "nope" as unknown, and, while block is set,
// holds every action until block is closed.
type controlCore struct {
	*testHost
	mu      sync.Mutex
	block   chan struct{}
	started chan struct{}
}

func (c *controlCore) Control(ctx context.Context, req sdk.ControlRequest) ([]byte, error) {
	c.mu.Lock()
	block := c.block
	c.mu.Unlock()
	if block != nil {
		c.started <- struct{}{}
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if req.Probe == "nope" {
		return nil, sdk.ControlErrorf(sdk.ControlNotFound, "probe %q not found", req.Probe)
	}
	return json.Marshal(map[string]any{"action": req.Action.String(), "host": req.Host, "probe": req.Probe,
		"reason": req.Reason, "for": req.For.String(), "by": req.By})
}

// hold makes the core hold every action from now on; the returned func
// lets them go.
func (c *controlCore) hold() func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.block, c.started = make(chan struct{}), make(chan struct{}, 64)
	block := c.block
	return func() {
		c.mu.Lock()
		c.block = nil
		c.mu.Unlock()
		close(block)
	}
}

var _ sdk.ControlHost = (*controlCore)(nil)

// startControlClient starts a push client on core, allowing remote
// control or not.
func startControlClient(t *testing.T, port int, core *controlCore, allow bool) *sdktest.TransportClient {
	t.Helper()
	log, _ := newLogger(t, "client")
	impl := newTransport(log)
	impl.tune = fastTuning()
	tc := sdktest.Transport(t, impl)
	block := strings.TrimSuffix(clientBlock(t.TempDir(), port), "}")
	if allow {
		block += "  allow_remote_control = true\n"
	}
	if err := tc.Configure(block + "}"); err != nil {
		t.Fatalf("configure client: %v", err)
	}
	core.setProbe("cpu", 100)
	if err := tc.Start(core); err != nil {
		t.Fatalf("start client: %v", err)
	}
	t.Cleanup(func() { _ = tc.Stop() })
	return tc
}

// The master forwards probe control to the push client that reported the
// host, over its connection, and returns its answer (every field of the
// request crossed both gRPC hops and the push connection); the client's
// refusal comes back with its code. A client that did not allow it is
// refused at once, one not connected is unreachable, a source that is no
// client is not this transport's. At most 8 actions wait for one client:
// a 9th is refused busy at once, and the 8 are answered once the client's
// core lets them go; an answer that does not come in time is a timeout.
func TestControlOverPush(t *testing.T) {
	port := freePort(t)
	srv := startServer(t, t.TempDir(), port, "auto_accept = true")
	open := &controlCore{testHost: newTestHost("open-1", "open")}
	startControlClient(t, port, open, true)
	closed := &controlCore{testHost: newTestHost("closed-1", "closed")}
	closedClient := startControlClient(t, port, closed, false)
	eventually(t, "both clients connected", func() bool { return srv.impl.server.sessionCount() == 2 })

	control := func(source, probe string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return srv.tc.Client.Control(ctx, sdk.ControlRequest{Host: "h-" + source, HostUUID: source, Source: source, Probe: probe,
			Action: sdk.ControlDisable, Reason: "disk swap", For: time.Minute, By: "olga"})
	}
	code := func(err error) sdk.ControlCode {
		var ce *sdk.ControlError
		if errors.As(err, &ce) {
			return ce.Code
		}
		return 0
	}

	out, err := control("open-1", "cpu")
	if want := `{"action":"disable","by":"olga","for":"1m0s","host":"h-open-1","probe":"cpu","reason":"disk swap"}`; err != nil || string(out) != want {
		t.Fatalf("control of the open client: %s, %v; want %s", out, err, want)
	}
	if _, err := control("open-1", "nope"); code(err) != sdk.ControlNotFound || !strings.Contains(err.Error(), `push client open answered: probe "nope" not found`) {
		t.Errorf("an unknown probe: %v (code %d), want not found with the client's sentence", err, code(err))
	}
	if _, err := control("closed-1", "cpu"); code(err) != sdk.ControlRefused || !strings.Contains(err.Error(), "set allow_remote_control = true in its client block") {
		t.Errorf("a client that does not allow it: %v (code %d), want refused", err, code(err))
	}
	if _, err := control("stranger-1", "cpu"); code(err) != sdk.ControlNotMine {
		t.Errorf("a source that is no client: %v (code %d), want not mine", err, code(err))
	}

	release := open.hold()
	var wg sync.WaitGroup
	errs := make(chan error, maxPendingControls)
	for range maxPendingControls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := control("open-1", "cpu")
			errs <- err
		}()
	}
	for range maxPendingControls {
		<-open.started
	}
	if _, err := control("open-1", "cpu"); code(err) != sdk.ControlBusy || !strings.Contains(err.Error(), "8 actions already wait for push client open") {
		t.Errorf("a 9th action: %v (code %d), want busy", err, code(err))
	}
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a waiting action once let go: %v", err)
		}
	}

	release = open.hold()
	if _, err := control("open-1", "cpu"); code(err) != sdk.ControlTimeout || !strings.Contains(err.Error(), "push client open answered: its core did not carry it out within 1.5s") {
		t.Errorf("an action the client holds: %v (code %d), want timeout", err, code(err))
	}
	release()

	_ = closedClient.Stop()
	eventually(t, "the closed client gone", func() bool { return srv.impl.server.sessionCount() == 1 })
	if _, err := control("closed-1", "cpu"); code(err) != sdk.ControlUnreachable || !strings.Contains(err.Error(), "is not connected") {
		t.Errorf("an allowed client not connected: %v (code %d), want unreachable", err, code(err))
	}
}
