package sdk

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// Metric is one value reported by one probe of one host.
type Metric struct {
	Hostname string
	Group    string
	Probe    string
	Value    float64
	Tags     map[string]string
	// Time is when the probe produced the value (millisecond precision on
	// the wire).
	Time time.Time
}

// Output is what a metric output plugin implements (e.g. OpenTSDB). The
// host calls Schema, Configure, then Write with batches of metrics, one
// call at a time per instance.
type Output interface {
	// Schema declares the plugin's HCL block.
	Schema() Schema
	// Configure receives the block decoded against Schema.
	Configure(ctx context.Context, cfg Config) error
	// Write stores one batch; an error makes the host retry the batch
	// later or drop it, as its buffer allows.
	Write(ctx context.Context, metrics []Metric) error
}

// OutputPlugin is the go-plugin glue for the output kind; plugin authors
// use ServeOutput.
type OutputPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the implementation; nil on the host side.
	Impl Output
	// Info is returned by Schema on the plugin side.
	Info PluginInfo
}

var _ plugin.GRPCPlugin = (*OutputPlugin)(nil)

// GRPCServer registers the output service; called in the plugin process.
func (p *OutputPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	info := p.Info
	info.Kind = KindOutput
	pb.RegisterOutputServer(s, &outputServer{impl: p.Impl, info: info})
	registerBase(s, p.Impl, info)
	return nil
}

// GRPCClient returns an *OutputClient; called in the host process.
func (p *OutputPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &OutputClient{c: pb.NewOutputClient(c), base: newBase(c)}, nil
}

type outputServer struct {
	pb.UnimplementedOutputServer
	impl Output
	info PluginInfo
}

func (s *outputServer) Schema(context.Context, *pb.SchemaRequest) (*pb.SchemaResponse, error) {
	sch, err := schemaToProto(s.impl.Schema())
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &pb.SchemaResponse{Info: infoToProto(s.info), Schema: sch}, nil
}

func (s *outputServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	return configureReply(s.impl.Configure(ctx, NewConfig(req.GetInstance(), req.GetConfigJson()))), nil
}

func (s *outputServer) Write(ctx context.Context, req *pb.WriteRequest) (*pb.WriteResponse, error) {
	err := s.impl.Write(ctx, metricsFromProto(req.GetMetrics()))
	return &pb.WriteResponse{Error: errString(err)}, nil
}

func metricsToProto(ms []Metric) []*pb.Metric {
	out := make([]*pb.Metric, len(ms))
	for i, m := range ms {
		var ts int64
		if !m.Time.IsZero() {
			ts = m.Time.UnixMilli()
		}
		out[i] = &pb.Metric{Hostname: m.Hostname, Group: m.Group, Probe: m.Probe, Value: m.Value, Tags: m.Tags, TimestampUnixMs: ts}
	}
	return out
}

func metricsFromProto(ms []*pb.Metric) []Metric {
	out := make([]Metric, len(ms))
	for i, m := range ms {
		var t time.Time
		if ms := m.GetTimestampUnixMs(); ms != 0 {
			t = time.UnixMilli(ms)
		}
		out[i] = Metric{Hostname: m.GetHostname(), Group: m.GetGroup(), Probe: m.GetProbe(), Value: m.GetValue(), Tags: m.GetTags(), Time: t}
	}
	return out
}

// OutputClient is the host's handle on an output plugin; errors from the
// plugin's code are *RemoteError. Info and Close are the Base service's.
type OutputClient struct {
	c pb.OutputClient
	base
}

// Schema fetches the plugin's info and config schema.
func (c *OutputClient) Schema(ctx context.Context) (PluginInfo, Schema, error) {
	resp, err := c.c.Schema(ctx, &pb.SchemaRequest{})
	if err != nil {
		return PluginInfo{}, Schema{}, fmt.Errorf("schema: %w", err)
	}
	s, err := schemaFromProto(resp.GetSchema())
	return infoFromProto(resp.GetInfo()), s, err
}

// Configure sends the decoded config of the instance.
func (c *OutputClient) Configure(ctx context.Context, instance string, configJSON []byte) error {
	resp, err := c.c.Configure(ctx, &pb.ConfigureRequest{ConfigJson: configJSON, Instance: instance})
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	return configureResult(resp)
}

// Write sends one batch of metrics.
func (c *OutputClient) Write(ctx context.Context, metrics []Metric) error {
	resp, err := c.c.Write(ctx, &pb.WriteRequest{Metrics: metricsToProto(metrics)})
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return remoteErr(resp.GetError())
}

// ServeOutput runs impl as an output plugin; it is the whole main of a
// plugin binary.
func ServeOutput(impl Output, opts ...ServeOption) {
	c := newServeConfig(opts)
	c.info.Kind = KindOutput
	serve(c, KindOutput, &OutputPlugin{Impl: impl, Info: c.info})
}
