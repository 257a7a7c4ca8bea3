package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/core/plugin"
)

// notifiers splits each notify block into what the core owns (the filter,
// group/host routing, fallback_for) and the body left for the plugin's own
// schema, so neither side sees the other's attributes.
func notifiers(cfg *config.Config) ([]notify.Instance, []config.PluginBlock, hcl.Diagnostics) {
	var (
		instances []notify.Instance
		blocks    []config.PluginBlock
		diags     hcl.Diagnostics
	)
	for _, b := range cfg.Notify {
		inst, body, d := notify.InstanceFromBlock(b)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		b.Body = body
		instances = append(instances, inst)
		blocks = append(blocks, b)
	}
	if !diags.HasErrors() {
		if err := notify.CheckInstances(instances); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "Invalid notify blocks", Detail: err.Error()})
		}
	}
	return instances, blocks, diags
}

// Check validates what the configuration hands to plugins: the core's part
// of every notify block, then each plugin's own schema (transport blocks
// too), by starting the plugin binaries and stopping them again. It is what `wigo -check` adds to
// the core configuration's own checks.
func Check(cfg *config.Config, log hclog.Logger) hcl.Diagnostics {
	_, blocks, diags := notifiers(cfg)
	if diags.HasErrors() {
		return diags
	}
	m := plugin.NewManager(plugin.Options{Dir: cfg.PluginsDir, Logger: log.Named("plugin")})
	defer m.Stop()
	return append(diags, m.Check(pluginBlocks(blocks, cfg))...)
}

// pluginSender delivers the pipeline's notifications through the plugin
// host. The pipeline's JSON and the SDK's are the same document (a contract
// test holds them byte for byte), so it travels as JSON. It takes batches:
// a plugin declaring sdk.CapBatchNotify gets them in one call.
func pluginSender(m *plugin.Manager) notify.BatchSender { return sender{m} }

type sender struct{ m *plugin.Manager }

func (s sender) Send(ctx context.Context, instance string, n *notify.Notification) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.EventId, err)
	}
	return sendError(s.m.NotifyJSON(ctx, instance, b))
}

// Batches implements notify.BatchSender: the instance's plugin declares
// sdk.CapBatchNotify.
func (s sender) Batches(instance string) bool { return s.m.Batches(instance) }

func (s sender) SendBatch(ctx context.Context, instance string, ns []*notify.Notification) ([]error, error) {
	raw := make([][]byte, len(ns))
	for i, n := range ns {
		b, err := json.Marshal(n)
		if err != nil {
			return nil, fmt.Errorf("encode notification %s: %w", n.EventId, err)
		}
		raw[i] = b
	}
	errs, err := s.m.NotifyBatchJSON(ctx, instance, raw)
	if err != nil {
		return nil, sendError(err)
	}
	for i := range errs {
		errs[i] = sendError(errs[i])
	}
	return errs, nil
}

// sendError tells the pipeline whether a receiver saw the notification.
func sendError(err error) error {
	switch {
	case errors.Is(err, plugin.ErrBroken):
		// The plugin died in this call: maybe because of it.
		return fmt.Errorf("%w: %w: %w", notify.ErrUnavailable, notify.ErrInterrupted, err)
	case errors.Is(err, plugin.ErrUnavailable):
		// Not an attempt: no receiver saw it.
		return fmt.Errorf("%w: %w", notify.ErrUnavailable, err)
	}
	return err
}
