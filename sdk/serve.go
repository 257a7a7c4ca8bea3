package sdk

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// ServeOption tunes Serve*.
type ServeOption func(*serveConfig)

type serveConfig struct {
	info   PluginInfo
	logger hclog.Logger
}

// WithInfo sets the name and version the plugin reports to the host. The
// name defaults to the binary's file name.
func WithInfo(name, version string) ServeOption {
	return func(c *serveConfig) { c.info.Name, c.info.Version = name, version }
}

// WithLogger replaces the plugin's logger. The default writes JSON to
// stderr, which go-plugin forwards into the host's log tagged with the
// instance name; keep that shape if you replace it.
func WithLogger(l hclog.Logger) ServeOption {
	return func(c *serveConfig) { c.logger = l }
}

var (
	loggerMu sync.Mutex
	logger   hclog.Logger
)

// Logger is the plugin's logger. Lines logged with it appear in the host's
// log under the instance's name, with their key/value pairs.
func Logger() hclog.Logger {
	loggerMu.Lock()
	defer loggerMu.Unlock()
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{
			Level:      hclog.Trace, // the host filters by its own level
			Output:     os.Stderr,
			JSONFormat: true,
		})
	}
	return logger
}

func newServeConfig(opts []ServeOption) *serveConfig {
	c := &serveConfig{info: PluginInfo{Name: filepath.Base(os.Args[0])}}
	for _, o := range opts {
		o(c)
	}
	if c.logger != nil {
		loggerMu.Lock()
		logger = c.logger
		loggerMu.Unlock()
	}
	return c
}

func serve(c *serveConfig, name string, p plugin.Plugin) {
	startProfiler(c.info.Name)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{name: p},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          Logger(),
	})
}

// ServeNotifier runs impl as a notifier plugin; it is the whole main of a
// plugin binary and returns when the host closes the plugin.
func ServeNotifier(impl Notifier, opts ...ServeOption) {
	c := newServeConfig(opts)
	c.info.Kind = KindNotifier
	serve(c, KindNotifier, &NotifierPlugin{Impl: impl, Info: c.info})
}
