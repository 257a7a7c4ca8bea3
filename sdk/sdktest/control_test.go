package sdktest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// A transport that forwards no probe control (eventTransport implements
// no sdk.Controller, as a plugin built before it) answers "not mine"
// across gRPC, so the core asks its other transports; a host without
// sdk.ControlHost answers "unsupported" to a plugin that asks it.
func TestControlWithoutController(t *testing.T) {
	tr := &eventTransport{}
	c := sdktest.Transport(t, tr)
	if err := c.Configure(``); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(&eventHost{host: host{changes: make(chan []byte)}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Client.Control(context.Background(), sdk.ControlRequest{Host: "h", Source: "10.0.0.2:4000", Probe: "p", Action: sdk.ControlRun})
	var ce *sdk.ControlError
	if !errors.As(err, &ce) || ce.Code != sdk.ControlNotMine {
		t.Errorf("control of a transport without Controller: %v, want ControlNotMine", err)
	}
}

// Each refusal's HTTP status reads back as the same refusal, but for the
// ones sharing 502 (which read back as unreachable), and 401 is a refusal.
func TestControlStatus(t *testing.T) {
	for code := sdk.ControlNotMine; code <= sdk.ControlFailed; code++ {
		back := sdk.ControlCodeOf(sdk.ControlStatus(code))
		if back != code && sdk.ControlStatus(code) != 502 {
			t.Errorf("code %d → %d → %d", code, sdk.ControlStatus(code), back)
		}
	}
	if sdk.ControlCodeOf(502) != sdk.ControlUnreachable || sdk.ControlCodeOf(401) != sdk.ControlRefused || sdk.ControlCodeOf(500) != sdk.ControlFailed {
		t.Errorf("502 → %d, 401 → %d, 500 → %d", sdk.ControlCodeOf(502), sdk.ControlCodeOf(401), sdk.ControlCodeOf(500))
	}
}
