package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/sdk"
)

// pushAuthority is the push clients' authority for api.Options.Authority:
// the transport instance that declares the authority capability as it is
// configured now (sdk.CapAuthority; the first by label when several do),
// looked up on every call, so a reload that adds, removes or changes
// transport blocks moves it. Nil without a plugin manager.
func pushAuthority(m *plugin.Manager) api.Authority {
	if m == nil {
		return nil
	}
	return &authority{m: m}
}

// authority adapts the plugin manager's authority calls to api.Authority.
type authority struct {
	m *plugin.Manager
}

// instance is the transport that keeps the authority now. With none, the
// API answers 503: "try again" while a transport is still starting (it may
// declare it), "not enabled" otherwise.
func (a *authority) instance() (string, error) {
	if labels := a.m.Capable(config.KindTransport, sdk.CapAuthority); len(labels) > 0 {
		return labels[0], nil
	}
	if a.m.Pending(config.KindTransport) {
		return "", fmt.Errorf("%w: no transport declares a client authority yet", api.ErrPushServerUnavailable)
	}
	return "", api.ErrNoPushServer
}

// do runs f on the instance keeping the authority, with the API's errors.
func (a *authority) do(f func(instance string) error) error {
	in, err := a.instance()
	if err != nil {
		return err
	}
	return apiError(f(in))
}

func (a *authority) List(ctx context.Context) (waiting, allowed map[string]string, err error) {
	err = a.do(func(in string) error {
		var e error
		waiting, allowed, e = a.m.AuthorityList(ctx, in)
		return e
	})
	return waiting, allowed, err
}

func (a *authority) Allow(ctx context.Context, uuid string) error {
	return a.do(func(in string) error { return a.m.AuthorityAllow(ctx, in, uuid) })
}

func (a *authority) Revoke(ctx context.Context, uuid string) error {
	return a.do(func(in string) error { return a.m.AuthorityRevoke(ctx, in, uuid) })
}

// Clients implements api.AuthorityDetailer.
func (a *authority) Clients(ctx context.Context) (waiting, allowed []api.AuthorityClient, err error) {
	var w, al []sdk.AuthorityClient
	err = a.do(func(in string) error {
		var e error
		w, al, e = a.m.AuthorityClients(ctx, in)
		return e
	})
	if err != nil {
		return nil, nil, err
	}
	return apiClients(w), apiClients(al), nil
}

// Relay implements api.RelayGranter.
func (a *authority) Relay(ctx context.Context, uuid string, relay bool) error {
	return a.do(func(in string) error { return a.m.AuthorityRelay(ctx, in, uuid, relay) })
}

func apiClients(cs []sdk.AuthorityClient) []api.AuthorityClient {
	out := make([]api.AuthorityClient, len(cs))
	for i, c := range cs {
		out[i] = api.AuthorityClient{UUID: c.UUID, Hostname: c.Hostname, Remote: c.Remote, KeyFingerprint: c.KeyFingerprint,
			Relay: c.Relay, Pending: c.Pending, UnrelayedHosts: c.UnrelayedHosts}
		if !c.FirstSeen.IsZero() {
			out[i].FirstSeen = c.FirstSeen.UTC().Format(time.RFC3339)
		}
	}
	return out
}

// apiError keeps "unknown client" (404) and "push server not running yet"
// (503: starting or restarting, try again) recognizable by the API.
func apiError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sdk.ErrUnknownClient):
		return fmt.Errorf("%w: %w", api.ErrUnknownClient, err)
	case errors.Is(err, plugin.ErrUnavailable):
		return fmt.Errorf("%w: %w", api.ErrPushServerUnavailable, err)
	}
	return err
}
