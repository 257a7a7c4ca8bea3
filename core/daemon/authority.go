package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/sdk"
)

// pushPlugin is the plugin whose server role keeps the client authority.
const pushPlugin = "transport-push"

// pushAuthority returns the client authority of the first transport block
// that runs transport-push with a server block, for api.Options.Authority;
// nil when there is none, so the API answers 503 as without a push server.
func pushAuthority(m *plugin.Manager, cfg *config.Config) api.Authority {
	if m == nil || cfg == nil {
		return nil
	}
	for _, b := range cfg.Transports {
		if b.Plugin == pushPlugin && hasServerBlock(b.Body) {
			return &authority{m: m, instance: b.Label}
		}
	}
	return nil
}

// hasServerBlock reports whether the undecoded block body holds a server
// block. Only the block's presence matters here; the plugin decodes the
// rest against its own schema.
func hasServerBlock(body hcl.Body) bool {
	if body == nil {
		return false
	}
	content, _, _ := body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "server"}}})
	return content != nil && len(content.Blocks) > 0
}

// authority adapts the plugin manager's authority calls to api.Authority.
type authority struct {
	m        *plugin.Manager
	instance string
}

func (a *authority) List(ctx context.Context) (waiting, allowed map[string]string, err error) {
	waiting, allowed, err = a.m.AuthorityList(ctx, a.instance)
	return waiting, allowed, apiError(err)
}

func (a *authority) Allow(ctx context.Context, uuid string) error {
	return apiError(a.m.AuthorityAllow(ctx, a.instance, uuid))
}

func (a *authority) Revoke(ctx context.Context, uuid string) error {
	return apiError(a.m.AuthorityRevoke(ctx, a.instance, uuid))
}

// Clients implements api.AuthorityDetailer.
func (a *authority) Clients(ctx context.Context) (waiting, allowed []api.AuthorityClient, err error) {
	w, al, err := a.m.AuthorityClients(ctx, a.instance)
	if err != nil {
		return nil, nil, apiError(err)
	}
	return apiClients(w), apiClients(al), nil
}

// Relay implements api.RelayGranter.
func (a *authority) Relay(ctx context.Context, uuid string, relay bool) error {
	return apiError(a.m.AuthorityRelay(ctx, a.instance, uuid, relay))
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
