package sdk

import "github.com/hashicorp/go-plugin"

// ProtocolVersion is the version of the plugin protocol described by the
// proto files. It changes only when a change would break existing plugins.
const ProtocolVersion = 1

// Plugin names in the go-plugin plugin set. A plugin binary serves exactly
// one kind; the host dispenses it under this name.
const (
	KindNotifier  = "notifier"
	KindOutput    = "output"
	KindTransport = "transport"
)

// Handshake is shared by the host and every plugin. The magic cookie only
// tells a user who runs a plugin binary by hand that it is not a program to
// run directly; it is not a security measure (AutoMTLS is).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "WIGO_PLUGIN",
	MagicCookieValue: "8d4c1bba-7f6e-4b38-9a3c-wigo-plugin-v1",
}

// PluginInfo describes a plugin binary.
type PluginInfo struct {
	// Name is a short identifier, e.g. "notify-http".
	Name string
	// Version is free-form, shown in logs and the health API.
	Version string
	// Kind is KindNotifier, KindOutput or KindTransport.
	Kind string
	// Capabilities are what the plugin declares it can do (the Cap*
	// constants); from Info, those of its current config.
	Capabilities []string
}
