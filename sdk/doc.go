// Package sdk is the only package a Wigo plugin imports. A plugin is a
// separate binary started by the Wigo daemon with hashicorp/go-plugin over
// gRPC (AutoMTLS); this package hides that transport behind a Go interface
// per plugin kind and one Serve function per kind.
//
// # Writing a notifier
//
// A notifier declares the HCL block it accepts (Schema), receives that block
// decoded (Configure), then one notification per event (Notify). Its main is
// one line. A complete plugin:
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"net"
//
//		"github.com/wigo-project/wigo/sdk"
//	)
//
//	func main() { sdk.ServeNotifier(&udpNotifier{}, sdk.WithInfo("notify-udp", "1.0.0")) }
//
//	// udpNotifier sends each notification's message as one UDP datagram.
//	type udpNotifier struct {
//		cfg struct {
//			Address string `json:"address"`
//			Prefix  string `json:"prefix"`
//		}
//	}
//
//	func (*udpNotifier) Schema() sdk.Schema {
//		return sdk.Schema{Attributes: []sdk.Attribute{
//			{Name: "address", Type: sdk.TypeString, Required: true, Description: "host:port to send to"},
//			{Name: "prefix", Type: sdk.TypeString, Default: "wigo", Description: "put before each message"},
//		}}
//	}
//
//	func (u *udpNotifier) Configure(ctx context.Context, cfg sdk.Config) error {
//		return cfg.Decode(&u.cfg) // attributes arrive as JSON, defaults filled in
//	}
//
//	func (u *udpNotifier) Notify(ctx context.Context, n *sdk.Notification) error {
//		conn, err := net.Dial("udp", u.cfg.Address)
//		if err != nil {
//			return fmt.Errorf("dial: %w", err) // the host retries later
//		}
//		defer conn.Close()
//		_, err = fmt.Fprintf(conn, "%s %s: %s", u.cfg.Prefix, n.NewLevel, n.Message)
//		return err
//	}
//
// The operator enables it with a block in wigo.hcl; the binary is
// plugins_dir/notify-udp:
//
//	notify "syslog" {
//	  plugin  = "notify-udp"
//	  address = "127.0.0.1:514"
//	}
//
// A misspelt attribute, a missing required one or a wrong type is reported
// by `wigo -check` with the file, line and column, before the plugin is
// configured. An error returned by Configure is shown at the attribute it
// names when it is sdk.AttributeError or sdk.Diagnostics, else next to the
// block;
// errors returned by Notify make the host retry with backoff, so the same
// notification (same EventId) may arrive more than once.
//
// Log with Logger(): lines appear in the daemon's log under the instance
// name. Do not write to stdout, which belongs to the plugin protocol.
//
// Test a plugin in-process over real gRPC with package sdktest; a complete
// plugin and its test are in sdk/examples/notify-file.
//
// # Other languages
//
// The protobuf files under sdk/proto are the contract; a plugin in another
// language implements the service of its kind, prints the go-plugin
// handshake line and checks the WIGO_PLUGIN cookie (see Handshake).
package sdk
