// Package sdktest runs a plugin in-process over real gRPC (go-plugin's
// TestPluginGRPCConn), so a plugin author tests the same path the Wigo host
// uses — schema, config decoding, JSON on the wire — without building a
// binary:
//
//	func TestNotify(t *testing.T) {
//		c := sdktest.Notifier(t, &myNotifier{})
//		if err := c.Configure(`url = "http://127.0.0.1:8080/"`); err != nil {
//			t.Fatal(err)
//		}
//		if err := c.Notify(&sdk.Notification{Type: sdk.TypeProbe, Message: "hi"}); err != nil {
//			t.Fatal(err)
//		}
//	}
package sdktest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/hclschema"
)

// Timeout bounds each call made through a harness client.
var Timeout = 30 * time.Second

// NotifierClient drives an in-process notifier plugin.
type NotifierClient struct {
	// Client is the host-side client, for calls the helpers do not cover.
	Client *sdk.NotifierClient
	t      testing.TB
	base
}

// Notifier serves impl in-process over gRPC and returns a client to it;
// everything is torn down when the test ends.
func Notifier(t testing.TB, impl sdk.Notifier) *NotifierClient {
	t.Helper()
	raw := dispense(t, sdk.KindNotifier, &sdk.NotifierPlugin{Impl: impl, Info: sdk.PluginInfo{Name: t.Name()}})
	c := raw.(*sdk.NotifierClient)
	return &NotifierClient{Client: c, t: t, base: base{t, c}}
}

func newCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), Timeout)
}

// Schema fetches the plugin's schema over gRPC.
func (c *NotifierClient) Schema() sdk.Schema {
	c.t.Helper()
	ctx, cancel := newCtx()
	defer cancel()
	_, s, err := c.Client.Schema(ctx)
	if err != nil {
		c.t.Fatalf("schema: %v", err)
	}
	return s
}

// Decode decodes src, the inside of the plugin's block in HCL, against the
// plugin's schema exactly as the host does; the error lists the
// diagnostics as "file:line,col: summary; detail" with file "test.hcl".
func (c *NotifierClient) Decode(src string) ([]byte, error) {
	c.t.Helper()
	b, diags := hclschema.DecodeSource("test.hcl", src, c.Schema())
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	return b, nil
}

// Configure decodes src (see Decode) and sends it to the plugin's
// Configure; the error is a decoding error or the plugin's own, its
// diagnostics (sdk.AttributeError) placed at their test.hcl line and column
// as the host places them in the operator's file.
func (c *NotifierClient) Configure(src string) error {
	c.t.Helper()
	return configure(c.Schema(), src, c.Client.Configure)
}

// configure decodes src against s as the host does and hands the result to
// call, a client's Configure.
func configure(s sdk.Schema, src string, call func(context.Context, string, []byte) error) error {
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return diagError(diags)
	}
	block := hcl.Range{Filename: "test.hcl", Start: hcl.InitialPos, End: hcl.InitialPos}
	b, diags := hclschema.Decode(f.Body, s, block)
	if diags.HasErrors() {
		return diagError(diags)
	}
	ctx, cancel := newCtx()
	defer cancel()
	err := call(ctx, "test", b)
	var remote *sdk.RemoteError
	if errors.As(err, &remote) && len(remote.Diagnostics) > 0 {
		return &placedError{text: diagError(hclschema.Diagnostics(f.Body, s, remote.Diagnostics, block)).Error(), err: remote}
	}
	return err
}

// placedError is a plugin's Configure error shown with its positions; it
// unwraps to the *sdk.RemoteError, for tests that look at the diagnostics.
type placedError struct {
	text string
	err  error
}

func (e *placedError) Error() string { return e.text }
func (e *placedError) Unwrap() error { return e.err }

// Notify sends n to the plugin and returns the plugin's error.
func (c *NotifierClient) Notify(n *sdk.Notification) error {
	c.t.Helper()
	ctx, cancel := newCtx()
	defer cancel()
	return c.Client.Notify(ctx, n)
}

// Notification returns a filled-in probe change notification (load going
// from OK to CRIT on host web1), a convenient starting point for tests.
func Notification() *sdk.Notification {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	old := &sdk.ProbeResult{Name: "load", Version: "0.1", Message: "load ok", Status: 100, Timestamp: now.Add(-time.Minute).Unix()}
	cur := &sdk.ProbeResult{Name: "load", Version: "0.1", Message: "load 12.5", Status: 300, Timestamp: now.Unix()}
	return &sdk.Notification{
		Type:              sdk.TypeProbe,
		Hostname:          "web1",
		Group:             "webservers",
		Message:           "Probe load switched from 100 to 300 on host web1",
		Date:              now.Format(sdk.DateLayout),
		Summary:           "Probe load on host web1 :\n\n\tOld Status : 100\n\tNew Status : 300\n",
		Status:            300,
		Probe:             "load",
		OldProbe:          old,
		NewProbe:          cur,
		HostProbesInError: []string{"load"},
		EventId:           "0000000000000001",
		Kind:              "probe_changed",
		OldStatus:         100,
		NewStatus:         300,
		OldLevel:          "OK",
		NewLevel:          "CRIT",
	}
}

func diagError(diags hcl.Diagnostics) error {
	var parts []string
	for _, d := range diags {
		s := d.Summary
		if d.Detail != "" {
			s += "; " + d.Detail
		}
		if d.Subject != nil {
			s = fmt.Sprintf("%s:%d,%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, s)
		}
		parts = append(parts, s)
	}
	return fmt.Errorf("config: %s", strings.Join(parts, "\n"))
}
