package sdk_test

import (
	"context"
	"fmt"
	"net"

	"github.com/wigo-project/wigo/sdk"
)

// udpNotifier sends each notification's message as one UDP datagram; it is
// the example of the package documentation, compiled here so it stays right.
type udpNotifier struct {
	cfg struct {
		Address string `json:"address"`
		Prefix  string `json:"prefix"`
	}
}

func (*udpNotifier) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "address", Type: sdk.TypeString, Required: true, Description: "host:port to send to"},
		{Name: "prefix", Type: sdk.TypeString, Default: "wigo", Description: "put before each message"},
	}}
}

func (u *udpNotifier) Configure(_ context.Context, cfg sdk.Config) error {
	return cfg.Decode(&u.cfg)
}

func (u *udpNotifier) Notify(_ context.Context, n *sdk.Notification) error {
	conn, err := net.Dial("udp", u.cfg.Address)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "%s %s: %s", u.cfg.Prefix, n.NewLevel, n.Message)
	return err
}

// A plugin's main is one call; it serves until the daemon closes the plugin.
func ExampleServeNotifier() {
	sdk.ServeNotifier(&udpNotifier{}, sdk.WithInfo("notify-udp", "1.0.0"))
}
