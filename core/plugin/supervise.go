package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/wigo-project/wigo/core/config"
)

// supervise watches in's process and restarts it when it exits or stops
// answering pings, until the manager stops.
func (m *Manager) supervise(in *instance) {
	defer m.wg.Done()
	defer in.sup.Done()
	tick := time.NewTicker(m.opts.HealthInterval)
	defer tick.Stop()
	backoff := m.opts.MinBackoff
	for {
		select {
		case <-m.stopping:
			return
		case <-in.quit:
			return
		case <-tick.C:
		case <-in.kick:
		}
		in.mu.Lock()
		p, since, last := in.proc, in.since, in.lastError
		in.mu.Unlock()
		err := m.alive(p)
		if err == nil {
			continue
		}
		if p == nil && last != "" {
			err = errors.New(last) // its start failed: say why, not "no process"
		}
		// A plugin that ran well for a while gets a quick restart again.
		if time.Since(since) >= m.opts.MaxBackoff {
			backoff = m.opts.MinBackoff
		}
		if !m.restart(in, p, err, &backoff) {
			return
		}
	}
}

// alive reports why p is not usable, or nil. A process that is still there
// but does not answer a health check within PingTimeout counts as crashed:
// a hung plugin would otherwise hold its notifications forever.
func (m *Manager) alive(p *proc) error {
	if p == nil {
		return errors.New("no process")
	}
	if p.client.Exited() {
		return errors.New("plugin process exited")
	}
	gc, ok := p.rpc.(*goplugin.GRPCClient)
	if !ok { // not reachable: the manager only allows gRPC
		return p.rpc.Ping()
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.PingTimeout)
	defer cancel()
	_, err := grpc_health_v1.NewHealthClient(gc.Conn).Check(ctx,
		&grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	if err != nil {
		return fmt.Errorf("plugin does not answer its health check: %w", err)
	}
	return nil
}

// restart replaces the dead process old, retrying with exponential backoff
// until it succeeds (true) or the manager stops (false).
func (m *Manager) restart(in *instance, old *proc, cause error, backoff *time.Duration) bool {
	b := in.block
	log := m.opts.Logger.With("kind", b.Kind, "instance", b.Label, "plugin", b.Plugin)
	in.setState(StateRestarting, cause)
	msg := "plugin failed to start, retrying"
	if old != nil {
		// Kill first: it is dead or hung, and a call stuck on it holds the
		// calls lock until the kill breaks its connection.
		old.forceKill()
		in.calls.Lock() // no call uses the old process from here on
		in.mu.Lock()
		in.proc = nil
		in.mu.Unlock()
		in.calls.Unlock()
		old.kill()
		msg = "plugin crashed, restarting"
	}
	logged := ""
	for {
		// A plugin down for a day (a binary not installed yet) must not
		// write a warning a minute: the same failure again is debug.
		if text := cause.Error(); text != logged {
			log.Warn(msg, "error", cause, "backoff", backoff.String())
			logged = text
		} else {
			log.Debug(msg, "error", cause, "backoff", backoff.String())
		}
		msg = "plugin restart failed, retrying"
		select {
		case <-m.stopping:
			return false
		case <-in.quit:
			return false
		case <-time.After(*backoff):
		}
		*backoff = min(*backoff*2, m.opts.MaxBackoff)
		in.mu.Lock()
		in.restarts++
		in.mu.Unlock()
		p, err := m.launch(b)
		if err == nil && in.config == nil {
			// Its first start failed before the block could be decoded.
			cfg, diags := m.decode(p, b)
			if diags.HasErrors() {
				in.setState(StateFailed, errors.New(strings.TrimSpace(config.FormatDiagnostics(diags))))
				log.Error("plugin block refused by its schema; fix it and reload (SIGHUP)", "error", config.FormatDiagnostics(diags))
				return false
			}
			in.config = cfg
		}
		if err == nil {
			ctx, cancel := contextStopping(m.stopping, in.quit)
			if _, err = m.configure(ctx, in, p); err != nil {
				p.kill()
			}
			cancel()
		}
		if err != nil {
			cause = err
			in.setState(StateRestarting, err)
			continue
		}
		m.mu.Lock()
		stopped := m.stopped
		m.mu.Unlock()
		select {
		case <-in.quit:
			stopped = true // a reload replaced or removed it meanwhile
		default:
		}
		if stopped {
			p.kill()
			return false
		}
		in.mu.Lock()
		in.proc, in.state, in.since, in.version = p, StateRunning, time.Now(), p.info.Version
		restarts := in.restarts
		in.mu.Unlock()
		log.Info("plugin restarted", "restarts", restarts)
		m.running(in)
		return true
	}
}
