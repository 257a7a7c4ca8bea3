package plugin

import (
	"context"
	"errors"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk"
)

// Control has the transport instance carry out probe control on a host it
// learned (sdk.Controller). The plugin's refusals come back as
// *sdk.ControlError, kept out of call (they are answers, not a broken
// connection); ErrUnavailable and ErrUnknownInstance as for Notify. It
// runs alongside the instance's other calls: an answer may take the
// remote's seconds.
func (m *Manager) Control(ctx context.Context, instance string, req sdk.ControlRequest) ([]byte, error) {
	var out []byte
	var answer error
	err := m.callOn(ctx, config.KindTransport, instance, false, func(ctx context.Context, kc kindClient) error {
		tc, ok := kc.(*sdk.TransportClient)
		if !ok {
			return sdk.ControlErrorf(sdk.ControlNotMine, "not a transport")
		}
		var e error
		out, e = tc.Control(ctx, req)
		var ce *sdk.ControlError
		if errors.As(e, &ce) {
			answer = e
			return nil
		}
		return e
	})
	if err != nil {
		return nil, err
	}
	return out, answer
}
