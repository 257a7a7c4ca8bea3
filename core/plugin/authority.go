package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk"
)

// The push server's client authority lives in the transport plugin; these
// reach it through the transport's Authority RPC. Errors wrap
// sdk.ErrUnknownClient (no such client), sdk.ErrNoAuthority (the instance
// keeps no authority), ErrUnknownInstance or ErrUnavailable, so the API can
// answer 404, 503 or 502.

// AuthorityList returns the waiting and allowed push clients (UUID to
// hostname) of the transport instance.
func (m *Manager) AuthorityList(ctx context.Context, instance string) (waiting, allowed map[string]string, err error) {
	err = m.authority(ctx, instance, func(ctx context.Context, tc *sdk.TransportClient) error {
		var e error
		waiting, allowed, e = tc.AuthorityList(ctx)
		return e
	})
	return waiting, allowed, err
}

// AuthorityAllow allows the push client uuid on the transport instance.
func (m *Manager) AuthorityAllow(ctx context.Context, instance, uuid string) error {
	return m.authority(ctx, instance, func(ctx context.Context, tc *sdk.TransportClient) error {
		return tc.AuthorityAllow(ctx, uuid)
	})
}

// AuthorityRevoke revokes the push client uuid on the transport instance.
func (m *Manager) AuthorityRevoke(ctx context.Context, instance, uuid string) error {
	return m.authority(ctx, instance, func(ctx context.Context, tc *sdk.TransportClient) error {
		return tc.AuthorityRevoke(ctx, uuid)
	})
}

// authority runs f through call. The plugin's answers (unknown client, no
// authority) are kept out of call, which would take any error that is not a
// *sdk.RemoteError for a broken connection and kick the supervisor.
func (m *Manager) authority(ctx context.Context, instance string, f func(context.Context, *sdk.TransportClient) error) error {
	var answer error
	err := m.call(ctx, config.KindTransport, instance, func(ctx context.Context, kc kindClient) error {
		tc, ok := kc.(*sdk.TransportClient)
		if !ok {
			return fmt.Errorf("%w: not a transport", sdk.ErrNoAuthority)
		}
		e := f(ctx, tc)
		if isAnswer(e) {
			answer = e
			return nil
		}
		return e
	})
	if err != nil {
		return err
	}
	if answer != nil {
		return fmt.Errorf("%s %q: %w", config.KindTransport, instance, answer)
	}
	return nil
}

func isAnswer(err error) bool {
	return err != nil && (errors.Is(err, sdk.ErrUnknownClient) || errors.Is(err, sdk.ErrNoAuthority) || errors.Is(err, sdk.ErrUnsupported))
}

// AuthorityClients returns the waiting and allowed push clients of the
// transport instance in full (address, first seen, key fingerprint,
// relay); an error wrapping sdk.ErrUnsupported from a plugin that lists
// hostnames only.
func (m *Manager) AuthorityClients(ctx context.Context, instance string) (waiting, allowed []sdk.AuthorityClient, err error) {
	err = m.authority(ctx, instance, func(ctx context.Context, tc *sdk.TransportClient) error {
		var e error
		waiting, allowed, e = tc.AuthorityClients(ctx)
		return e
	})
	return waiting, allowed, err
}

// AuthorityRelay grants (relay true) or withdraws relay for the allowed
// push client uuid on the transport instance.
func (m *Manager) AuthorityRelay(ctx context.Context, instance, uuid string, relay bool) error {
	return m.authority(ctx, instance, func(ctx context.Context, tc *sdk.TransportClient) error {
		return tc.AuthorityRelay(ctx, uuid, relay)
	})
}
