package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk"
)

// Probe control reaches a transport plugin through the manager and comes
// back with its answer, or its refusal as a *sdk.ControlError (not taken
// for a broken plugin); and it runs alongside the instance's other calls:
// an action held in the plugin (until another one lets it go) does not
// hold up the next.
func TestControlThroughTheManager(t *testing.T) {
	cfg, _ := load(t, "transport \"echo\" {\n  name = \"peer\"\n}\n")
	host := &testHost{changes: make(chan []byte, 1)}
	m := newManager(t, Options{Host: host})
	if diags := m.Start(context.Background(), cfg.Transports); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := func(source, probe string) sdk.ControlRequest {
		return sdk.ControlRequest{Host: "web-1", Source: source, Probe: probe, Action: sdk.ControlRun, By: "olga"}
	}
	if out, err := m.Control(ctx, "echo", req("peer", "cpu")); err != nil || string(out) != `{"action":"run","by":"olga","host":"web-1","probe":"cpu"}` {
		t.Fatalf("control: %s, %v", out, err)
	}
	var ce *sdk.ControlError
	if _, err := m.Control(ctx, "echo", req("elsewhere", "cpu")); !errors.As(err, &ce) || ce.Code != sdk.ControlNotMine {
		t.Errorf("another source: %v, want not mine", err)
	}
	if h := m.Health(); len(h) != 1 || h[0].State != StateRunning || h[0].Restarts != 0 {
		t.Errorf("after a refusal: %+v, want running, not restarted", h)
	}

	held := make(chan error, 1)
	go func() {
		_, err := m.Control(ctx, "echo", req("peer", "wait"))
		held <- err
	}()
	for !strings.Contains(host.seen(), `peer {"waiting":true}`) {
		select {
		case err := <-held:
			t.Fatalf("the held action ended first: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := m.Control(ctx, "echo", req("peer", "release")); err != nil {
		t.Fatalf("an action while another is held: %v", err)
	}
	if err := <-held; err != nil {
		t.Errorf("the held action once let go: %v", err)
	}
}
