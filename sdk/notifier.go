package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// Notifier is what a notifier plugin implements. The host calls Schema
// once, Configure once per start (again after a restart), then Notify for
// every event that passed the instance's filter, one call at a time per
// instance (or batches, for a BatchNotifier).
type Notifier interface {
	// Schema declares the plugin's HCL block.
	Schema() Schema
	// Configure receives the operator's block decoded against Schema. An
	// error is shown to the operator and the instance does not run:
	// AttributeError or Diagnostics at the attribute they name, any other
	// error next to the block. Diagnostics holding only warnings are shown
	// and the config accepted.
	Configure(ctx context.Context, cfg Config) error
	// Notify delivers one notification. An error makes the host retry
	// later with backoff, so return one only for failures worth retrying or
	// worth a dead letter; the same EventId may arrive more than once.
	Notify(ctx context.Context, n *Notification) error
}

// RemoteError is an error returned by the plugin's own code (Configure,
// Notify), as opposed to a failure to reach the plugin at all.
type RemoteError struct {
	// Msg is the plugin's error text.
	Msg string
	// Diagnostics are set on a Configure error when the plugin sent them
	// (sdk.AttributeError and friends): each says which attribute is
	// wrong. When none of them is an error, the config was accepted and
	// they are warnings to show.
	Diagnostics Diagnostics
}

// Error implements error.
func (e *RemoteError) Error() string { return e.Msg }

func remoteErr(msg string) error {
	if msg == "" {
		return nil
	}
	return &RemoteError{Msg: msg}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	if s := err.Error(); s != "" {
		return s
	}
	return "error with an empty message"
}

// NotifierPlugin is the go-plugin glue for the notifier kind: the plugin
// side sets Impl, the host side leaves it nil and dispenses a
// *NotifierClient. Plugin authors use ServeNotifier instead.
type NotifierPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the plugin's implementation; nil on the host side.
	Impl Notifier
	// Info is returned by Schema on the plugin side.
	Info PluginInfo
}

var _ plugin.GRPCPlugin = (*NotifierPlugin)(nil)

// GRPCServer registers the notifier service; called in the plugin process.
func (p *NotifierPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	info := p.Info
	info.Kind = KindNotifier
	pb.RegisterNotifierServer(s, &notifierServer{impl: p.Impl, info: info})
	registerBase(s, p.Impl, info)
	return nil
}

// GRPCClient returns a *NotifierClient; called in the host process.
func (p *NotifierPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &NotifierClient{c: pb.NewNotifierClient(c), base: newBase(c)}, nil
}

type notifierServer struct {
	pb.UnimplementedNotifierServer
	impl Notifier
	info PluginInfo
}

func (s *notifierServer) Schema(context.Context, *pb.SchemaRequest) (*pb.SchemaResponse, error) {
	sch, err := schemaToProto(s.impl.Schema())
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &pb.SchemaResponse{Info: infoToProto(s.info), Schema: sch}, nil
}

func (s *notifierServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	return configureReply(s.impl.Configure(ctx, NewConfig(req.GetInstance(), req.GetConfigJson()))), nil
}

func (s *notifierServer) Notify(ctx context.Context, req *pb.NotifyRequest) (*pb.NotifyResponse, error) {
	var n Notification
	if err := json.Unmarshal(req.GetNotificationJson(), &n); err != nil {
		return &pb.NotifyResponse{Error: fmt.Sprintf("decode notification: %v", err)}, nil
	}
	err := s.impl.Notify(ctx, &n)
	return &pb.NotifyResponse{Error: errString(err)}, nil
}

// NotifierClient is the host's handle on a notifier plugin. Errors from the
// plugin's code are *RemoteError; any other error means the plugin could not
// be reached (a gRPC status error). Info and Close are the Base service's.
type NotifierClient struct {
	c pb.NotifierClient
	base
}

// Schema fetches the plugin's info and config schema.
func (c *NotifierClient) Schema(ctx context.Context) (PluginInfo, Schema, error) {
	resp, err := c.c.Schema(ctx, &pb.SchemaRequest{})
	if err != nil {
		return PluginInfo{}, Schema{}, fmt.Errorf("schema: %w", err)
	}
	s, err := schemaFromProto(resp.GetSchema())
	return infoFromProto(resp.GetInfo()), s, err
}

// Configure sends the decoded config of the instance.
func (c *NotifierClient) Configure(ctx context.Context, instance string, configJSON []byte) error {
	resp, err := c.c.Configure(ctx, &pb.ConfigureRequest{ConfigJson: configJSON, Instance: instance})
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	return configureResult(resp)
}

// Notify sends one notification.
func (c *NotifierClient) Notify(ctx context.Context, n *Notification) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	return c.NotifyJSON(ctx, b)
}

// NotifyJSON sends a notification already encoded as JSON (as an outbox
// stores it), so it reaches the plugin byte for byte.
func (c *NotifierClient) NotifyJSON(ctx context.Context, notification []byte) error {
	resp, err := c.c.Notify(ctx, &pb.NotifyRequest{NotificationJson: notification})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return remoteErr(resp.GetError())
}
