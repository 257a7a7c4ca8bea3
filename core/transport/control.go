package transport

import (
	"context"

	"github.com/wigo-project/wigo/sdk"
)

// ControlFunc carries out probe control on this instance as its API would
// (the daemon replays the request through its API's route table).
type ControlFunc func(ctx context.Context, req sdk.ControlRequest) ([]byte, error)

var _ sdk.ControlHost = (*Host)(nil)

// SetControl sets what Control calls. The daemon builds its API after the
// plugin manager (which needs this Host), hence a setter.
func (h *Host) SetControl(f ControlFunc) { h.control.Store(&f) }

// Control carries out probe control that a transport received from
// another instance (a push client applying what its master asked), as the
// API would answer it.
func (h *Host) Control(ctx context.Context, req sdk.ControlRequest) ([]byte, error) {
	f := h.control.Load()
	if f == nil {
		return nil, sdk.ControlErrorf(sdk.ControlUnsupported, "this instance carries out no probe control (it serves no API)")
	}
	return (*f)(ctx, req)
}
