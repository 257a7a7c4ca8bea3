package daemon

import (
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/transport"
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
