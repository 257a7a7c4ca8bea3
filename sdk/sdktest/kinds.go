package sdktest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/wigo-project/wigo/sdk"
)

// OutputClient drives an in-process output plugin.
type OutputClient struct {
	// Client is the host-side client.
	Client *sdk.OutputClient
	t      testing.TB
	base
}

// Output serves impl in-process over gRPC and returns a client to it.
func Output(t testing.TB, impl sdk.Output) *OutputClient {
	t.Helper()
	raw := dispense(t, sdk.KindOutput, &sdk.OutputPlugin{Impl: impl, Info: sdk.PluginInfo{Name: t.Name()}})
	c := raw.(*sdk.OutputClient)
	return &OutputClient{Client: c, t: t, base: base{t, c}}
}

// Configure decodes src against the plugin's schema as the host does and
// sends it to Configure.
func (c *OutputClient) Configure(src string) error {
	c.t.Helper()
	ctx, cancel := newCtx()
	defer cancel()
	_, s, err := c.Client.Schema(ctx)
	if err != nil {
		c.t.Fatalf("schema: %v", err)
	}
	return configure(s, src, c.Client.Configure)
}

// Write sends one batch and returns the plugin's error.
func (c *OutputClient) Write(metrics []sdk.Metric) error {
	c.t.Helper()
	ctx, cancel := newCtx()
	defer cancel()
	return c.Client.Write(ctx, metrics)
}

// TransportClient drives an in-process transport plugin.
type TransportClient struct {
	// Client is the host-side client; Client.Start(ctx, host) serves host
	// to the plugin through the real go-plugin broker.
	Client *sdk.TransportClient
	t      testing.TB
	base
}

// Transport serves impl in-process over gRPC and returns a client to it.
func Transport(t testing.TB, impl sdk.Transport) *TransportClient {
	t.Helper()
	raw := dispense(t, sdk.KindTransport, &sdk.TransportPlugin{Impl: impl, Info: sdk.PluginInfo{Name: t.Name()}})
	c := raw.(*sdk.TransportClient)
	return &TransportClient{Client: c, t: t, base: base{t, c}}
}

// Configure decodes src against the plugin's schema as the host does and
// sends it to Configure.
func (c *TransportClient) Configure(src string) error {
	c.t.Helper()
	ctx, cancel := newCtx()
	defer cancel()
	_, s, err := c.Client.Schema(ctx)
	if err != nil {
		c.t.Fatalf("schema: %v", err)
	}
	return configure(s, src, c.Client.Configure)
}

// Start starts the plugin with host as the core.
func (c *TransportClient) Start(host sdk.Host) error {
	c.t.Helper()
	ctx, cancel := newCtx()
	defer cancel()
	return c.Client.Start(ctx, host)
}

// Stop stops the plugin.
func (c *TransportClient) Stop() error {
	c.t.Helper()
	ctx, cancel := newCtx()
	defer cancel()
	return c.Client.Stop(ctx)
}

func dispense(t testing.TB, kind string, p plugin.Plugin) any {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{kind: p})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(kind)
	if err != nil {
		t.Fatalf("dispense %s: %v", kind, err)
	}
	return raw
}
