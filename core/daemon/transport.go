package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/transport"
	"github.com/wigo-project/wigo/sdk"
)

// transportHost is the core as the transport plugins (pull, push) see it:
// they ingest the documents they receive into st and read its state.
func transportHost(st *state.State, log hclog.Logger) *transport.Host {
	return transport.New(transport.Options{State: st, Logger: log.Named("transport")})
}

// pluginBlocks is every block the plugin manager starts: notifiers (their
// core attributes already taken out), outputs and transports, whose whole
// body belongs to the plugin.
func pluginBlocks(notify []config.PluginBlock, cfg *config.Config) []config.PluginBlock {
	blocks := make([]config.PluginBlock, 0, len(notify)+len(cfg.Outputs)+len(cfg.Transports))
	blocks = append(blocks, notify...)
	blocks = append(blocks, cfg.Outputs...)
	return append(blocks, cfg.Transports...)
}

// remoteControl forwards probe control on a remote host to the transports
// for api.Options.Remote. Every transport is asked in turn, in the order
// of the configuration: the one that learned the host's source carries it
// out, the others answer that it is not theirs (an instance runs a
// transport or two, so asking costs a local call or two).
type remoteControl struct {
	m *plugin.Manager

	mu         sync.Mutex
	transports []string // labels, in the configuration's order
}

// newRemoteControl returns the forwarding for cfg's transport blocks; nil
// without a plugin manager. A reload changes the list (setTransports).
func newRemoteControl(m *plugin.Manager, cfg *config.Config) *remoteControl {
	if m == nil {
		return nil
	}
	rc := &remoteControl{m: m}
	rc.setTransports(cfg)
	return rc
}

// setTransports makes the transport blocks of cfg the ones asked.
func (rc *remoteControl) setTransports(cfg *config.Config) {
	if rc == nil {
		return
	}
	labels := make([]string, 0, len(cfg.Transports))
	for _, b := range cfg.Transports {
		labels = append(labels, b.Label)
	}
	rc.mu.Lock()
	rc.transports = labels
	rc.mu.Unlock()
}

func (rc *remoteControl) Control(ctx context.Context, req sdk.ControlRequest) (json.RawMessage, error) {
	rc.mu.Lock()
	transports := rc.transports
	rc.mu.Unlock()
	var down []string
	for _, in := range transports {
		out, err := rc.m.Control(ctx, in, req)
		var ce *sdk.ControlError
		switch {
		case err == nil:
			return out, nil
		case errors.As(err, &ce) && ce.Code == sdk.ControlNotMine:
			continue
		case errors.Is(err, plugin.ErrUnavailable) && ctx.Err() == nil:
			// Down or restarting: it may be the one, say so if no other is.
			down = append(down, in)
			continue
		}
		return nil, err
	}
	if len(down) > 0 {
		return nil, sdk.ControlErrorf(sdk.ControlUnreachable, "transport %s is not running at the moment (starting or restarting), and no other reaches this host; try again shortly",
			strings.Join(down, ", "))
	}
	return nil, sdk.ControlErrorf(sdk.ControlNotMine, "no transport of this instance reaches it now (it was reported by %s)", req.Source)
}

// replayControl carries out probe control that a transport received from
// another instance (a push client applying its master's request) through
// h, this instance's API: the same route, role check, validation, log
// rows and answers as a request made here. It is made as an operator
// named after who asked on the master.
func replayControl(h http.Handler) transport.ControlFunc {
	return func(ctx context.Context, req sdk.ControlRequest) ([]byte, error) {
		method, path, form, err := sdk.ControlRoute(req)
		if err != nil {
			return nil, err
		}
		who := strings.TrimSpace(req.By)
		if who == "" {
			who = "someone"
		}
		ctx = auth.WithIdentity(ctx, auth.Identity{Name: who + " through the push master", Role: auth.RoleOperator, Via: "push", Credentials: true})
		r, err := http.NewRequestWithContext(ctx, method, "/api"+path, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, sdk.ControlErrorf(sdk.ControlInvalid, "probe control of %q/%q: %v", req.Host, req.Probe, err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = "the push connection"
		w := &answer{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(w, r)
		return sdk.ControlAnswer(w.status, w.body.Bytes(), "")
	}
}

// answer records what the API answered a replayed request.
type answer struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (a *answer) Header() http.Header { return a.header }

func (a *answer) WriteHeader(status int) {
	if !a.wrote {
		a.status, a.wrote = status, true
	}
}

func (a *answer) Write(p []byte) (int, error) {
	a.wrote = true
	return a.body.Write(p)
}
