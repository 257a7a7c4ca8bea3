package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// MaxDocumentBytes bounds one document crossing between a transport plugin
// and the core (Ingest, LocalState). gRPC's default of 4 MiB is smaller than
// the GET /api of a master with a thousand hosts.
const MaxDocumentBytes = 64 << 20

// Host is the core as a transport plugin sees it. The core serves it to
// the plugin through go-plugin's GRPCBroker, once per Start.
type Host interface {
	// Ingest hands the core a host document (GET /api shape) received from
	// source (a remote address or client UUID, for logs).
	Ingest(ctx context.Context, source string, document []byte) error
	// LocalState returns the instance's whole state as the GET /api document.
	LocalState(ctx context.Context) ([]byte, error)
	// Subscribe streams changes of the local state as JSON until ctx ends;
	// the channel is closed then, or when the core goes away.
	Subscribe(ctx context.Context) (<-chan []byte, error)
}

// EventClientWaiting is the event kind a transport raises when a new push
// client is waiting for approval.
const EventClientWaiting = "client_waiting"

// EventRemoteUnanswered is the event kind a transport raises when a remote
// it polls has not answered once since the transport started: host is the
// remote's address (the Source of its updates), hostUUID is empty (the
// remote never said its own), and message is the failure. The core shows
// the remote DOWN, "never answered", until it answers. Raising it again is
// harmless.
const EventRemoteUnanswered = "remote_unanswered"

// EventHost is optionally implemented by a Host that accepts core events
// raised by the transport (e.g. EventClientWaiting). The Host a plugin
// receives in Start implements it; the call fails if the core does not
// accept events (older core, or a Host implementation without Event).
type EventHost interface {
	// Event raises an event of kind about the host hostUUID/host, with a
	// human-readable message.
	Event(ctx context.Context, kind, hostUUID, host, message string) error
}

// Update is one entry of a BatchHost.IngestBatch call: either a whole host
// document, or a patch of the probes of a host that sent itself whole
// before.
type Update struct {
	// Source says where the update came from (remote address or client
	// UUID), for logs.
	Source string
	// Document, when not empty, is a whole host document (as Ingest takes);
	// the fields below are then ignored.
	Document []byte
	// HostUUID names the host a patch is for. It must have reached the core
	// whole (Document) as the top host of its own document. A patch with no
	// Probes and nothing Removed says the host answered and nothing changed
	// (a poll answered 304, or with the same bytes as the last): the core
	// decodes nothing and marks the host, and every host its last document
	// carried, as heard of now.
	HostUUID string
	// Probes are the probe results the patch sets.
	Probes []ProbeJSON
	// Removed are the names of the probes the patch removes.
	Removed []string
}

// ProbeJSON is one probe result as JSON, under the name it is reported as
// (its key in a document's LocalHost.Probes).
type ProbeJSON struct {
	Name string
	JSON []byte
}

// ErrNeedDocument is the result of a patch the core could not apply because
// it does not hold the host whole (it restarted, or the host went DOWN):
// send the whole document.
var ErrNeedDocument = errors.New("the core needs the whole document of this host")

// BatchHost is optionally implemented by a Host that takes many updates in
// one call (the Host a plugin receives in Start does). A plugin handling
// thousands of updates a second should use it: one call per update costs
// more than the update. Results are in the order of updates: nil, a
// *RemoteError when the core refused parts (as Ingest), or ErrNeedDocument.
// The error is for the call as a whole (the core unreachable).
type BatchHost interface {
	IngestBatch(ctx context.Context, updates []Update) ([]error, error)
}

// Transport is what a transport plugin (pull, push) implements.
type Transport interface {
	// Schema declares the plugin's HCL block.
	Schema() Schema
	// Configure receives the block decoded against Schema.
	Configure(ctx context.Context, cfg Config) error
	// Start begins moving documents, using host to reach the core. It must
	// return promptly: long-running work belongs in goroutines that run
	// until Stop. host stays valid until Stop returns.
	Start(ctx context.Context, host Host) error
	// Stop ends the work begun by Start.
	Stop(ctx context.Context) error
}

// TransportPlugin is the go-plugin glue for the transport kind; plugin
// authors use ServeTransport.
type TransportPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the implementation; nil on the host side.
	Impl Transport
	// Info is returned by Schema on the plugin side.
	Info PluginInfo
}

var _ plugin.GRPCPlugin = (*TransportPlugin)(nil)

// GRPCServer registers the transport service; called in the plugin process.
func (p *TransportPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	info := p.Info
	info.Kind = KindTransport
	pb.RegisterTransportServer(s, &transportServer{impl: p.Impl, info: info, broker: broker})
	registerBase(s, p.Impl, info)
	return nil
}

// GRPCClient returns a *TransportClient; called in the host process.
func (p *TransportPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &TransportClient{c: pb.NewTransportClient(c), base: newBase(c), broker: broker}, nil
}

type transportServer struct {
	pb.UnimplementedTransportServer
	impl   Transport
	info   PluginInfo
	broker *plugin.GRPCBroker

	mu   sync.Mutex
	conn *grpc.ClientConn
}

func (s *transportServer) Schema(context.Context, *pb.SchemaRequest) (*pb.SchemaResponse, error) {
	sch, err := schemaToProto(s.impl.Schema())
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &pb.SchemaResponse{Info: infoToProto(s.info), Schema: sch}, nil
}

func (s *transportServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	return configureReply(s.impl.Configure(ctx, NewConfig(req.GetInstance(), req.GetConfigJson()))), nil
}

func (s *transportServer) Start(ctx context.Context, req *pb.StartRequest) (*pb.StartResponse, error) {
	conn, err := s.broker.DialWithOptions(req.GetHostBrokerId(), grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxDocumentBytes), grpc.MaxCallSendMsgSize(MaxDocumentBytes)))
	if err != nil {
		return &pb.StartResponse{Error: fmt.Sprintf("dial host service: %v", err)}, nil
	}
	s.mu.Lock()
	if s.conn != nil {
		_ = s.conn.Close()
	}
	s.conn = conn
	s.mu.Unlock()
	err = s.impl.Start(ctx, &hostClient{c: pb.NewHostClient(conn)})
	return &pb.StartResponse{Error: errString(err)}, nil
}

func (s *transportServer) Stop(ctx context.Context, _ *pb.StopRequest) (*pb.StopResponse, error) {
	err := s.impl.Stop(ctx)
	s.mu.Lock()
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	s.mu.Unlock()
	return &pb.StopResponse{Error: errString(err)}, nil
}

// hostClient is Host in the plugin process, calling back into the core.
type hostClient struct{ c pb.HostClient }

func (h *hostClient) Ingest(ctx context.Context, source string, document []byte) error {
	resp, err := h.c.Ingest(ctx, &pb.IngestRequest{DocumentJson: document, Source: source})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	return remoteErr(resp.GetError())
}

func (h *hostClient) LocalState(ctx context.Context) ([]byte, error) {
	resp, err := h.c.LocalState(ctx, &pb.LocalStateRequest{})
	if err != nil {
		return nil, fmt.Errorf("local state: %w", err)
	}
	return resp.GetStateJson(), nil
}

func (h *hostClient) Subscribe(ctx context.Context) (<-chan []byte, error) {
	stream, err := h.c.Subscribe(ctx, &pb.SubscribeRequest{})
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	ch := make(chan []byte, 64)
	go func() {
		defer close(ch)
		for {
			c, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case ch <- c.GetChangeJson():
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (h *hostClient) Event(ctx context.Context, kind, hostUUID, host, message string) error {
	resp, err := h.c.Event(ctx, &pb.EventRequest{Kind: kind, HostUuid: hostUUID, Host: host, Message: message})
	if err != nil {
		return fmt.Errorf("event: %w", err)
	}
	return remoteErr(resp.GetError())
}

func (h *hostClient) IngestBatch(ctx context.Context, updates []Update) ([]error, error) {
	req := &pb.IngestBatchRequest{Updates: make([]*pb.HostUpdate, len(updates))}
	for i, u := range updates {
		pu := &pb.HostUpdate{Source: u.Source, DocumentJson: u.Document, HostUuid: u.HostUUID, RemovedProbes: u.Removed}
		for _, p := range u.Probes {
			pu.Probes = append(pu.Probes, &pb.ProbeJSON{Name: p.Name, Json: p.JSON})
		}
		req.Updates[i] = pu
	}
	resp, err := h.c.IngestBatch(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("ingest batch: %w", err)
	}
	if len(resp.GetResults()) != len(updates) {
		return nil, fmt.Errorf("ingest batch: %d results for %d updates", len(resp.GetResults()), len(updates))
	}
	errs := make([]error, len(updates))
	for i, r := range resp.GetResults() {
		if r.GetNeedDocument() {
			errs[i] = ErrNeedDocument
		} else {
			errs[i] = remoteErr(r.GetError())
		}
	}
	return errs, nil
}

var (
	_ EventHost = (*hostClient)(nil)
	_ BatchHost = (*hostClient)(nil)
)

// hostServer serves the core's Host implementation to the plugin.
type hostServer struct {
	pb.UnimplementedHostServer
	impl Host
}

func (s *hostServer) Ingest(ctx context.Context, req *pb.IngestRequest) (*pb.IngestResponse, error) {
	err := s.impl.Ingest(ctx, req.GetSource(), req.GetDocumentJson())
	return &pb.IngestResponse{Error: errString(err)}, nil
}

func (s *hostServer) LocalState(ctx context.Context, _ *pb.LocalStateRequest) (*pb.LocalStateResponse, error) {
	b, err := s.impl.LocalState(ctx)
	if err != nil {
		return nil, fmt.Errorf("local state: %w", err)
	}
	return &pb.LocalStateResponse{StateJson: b}, nil
}

func (s *hostServer) Event(ctx context.Context, req *pb.EventRequest) (*pb.EventResponse, error) {
	eh, ok := s.impl.(EventHost)
	if !ok {
		return &pb.EventResponse{Error: "host does not accept events"}, nil
	}
	err := eh.Event(ctx, req.GetKind(), req.GetHostUuid(), req.GetHost(), req.GetMessage())
	return &pb.EventResponse{Error: errString(err)}, nil
}

func (s *hostServer) IngestBatch(ctx context.Context, req *pb.IngestBatchRequest) (*pb.IngestBatchResponse, error) {
	bh, ok := s.impl.(BatchHost)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "host does not take batches")
	}
	updates := make([]Update, len(req.GetUpdates()))
	for i, u := range req.GetUpdates() {
		updates[i] = Update{Source: u.GetSource(), Document: u.GetDocumentJson(), HostUUID: u.GetHostUuid(),
			Removed: u.GetRemovedProbes()}
		for _, p := range u.GetProbes() {
			updates[i].Probes = append(updates[i].Probes, ProbeJSON{Name: p.GetName(), JSON: p.GetJson()})
		}
	}
	errs, err := bh.IngestBatch(ctx, updates)
	if err != nil {
		return nil, err
	}
	resp := &pb.IngestBatchResponse{Results: make([]*pb.UpdateResult, len(updates))}
	for i := range updates {
		var e error
		if i < len(errs) {
			e = errs[i]
		}
		resp.Results[i] = &pb.UpdateResult{NeedDocument: errors.Is(e, ErrNeedDocument), Error: errString(e)}
	}
	return resp, nil
}

func (s *hostServer) Subscribe(_ *pb.SubscribeRequest, stream pb.Host_SubscribeServer) error {
	ch, err := s.impl.Subscribe(stream.Context())
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	for b := range ch {
		if err := stream.Send(&pb.Change{ChangeJson: b}); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	return nil
}

// TransportClient is the host's handle on a transport plugin. Info and
// Close are the Base service's.
type TransportClient struct {
	c pb.TransportClient
	base
	broker *plugin.GRPCBroker
}

// Schema fetches the plugin's info and config schema.
func (c *TransportClient) Schema(ctx context.Context) (PluginInfo, Schema, error) {
	resp, err := c.c.Schema(ctx, &pb.SchemaRequest{})
	if err != nil {
		return PluginInfo{}, Schema{}, fmt.Errorf("schema: %w", err)
	}
	s, err := schemaFromProto(resp.GetSchema())
	return infoFromProto(resp.GetInfo()), s, err
}

// Configure sends the decoded config of the instance.
func (c *TransportClient) Configure(ctx context.Context, instance string, configJSON []byte) error {
	resp, err := c.c.Configure(ctx, &pb.ConfigureRequest{ConfigJson: configJSON, Instance: instance})
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	return configureResult(resp)
}

// Start serves host to the plugin through the broker and starts it. The
// host service lives until the plugin process ends.
func (c *TransportClient) Start(ctx context.Context, host Host) error {
	id := c.broker.NextId()
	go c.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		opts = append(opts, grpc.MaxRecvMsgSize(MaxDocumentBytes), grpc.MaxSendMsgSize(MaxDocumentBytes))
		s := grpc.NewServer(opts...)
		pb.RegisterHostServer(s, &hostServer{impl: host})
		return s
	})
	resp, err := c.c.Start(ctx, &pb.StartRequest{HostBrokerId: id})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	return remoteErr(resp.GetError())
}

// Stop asks the plugin to stop its work.
func (c *TransportClient) Stop(ctx context.Context) error {
	resp, err := c.c.Stop(ctx, &pb.StopRequest{})
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return remoteErr(resp.GetError())
}

// ServeTransport runs impl as a transport plugin; it is the whole main of
// a plugin binary.
func ServeTransport(impl Transport, opts ...ServeOption) {
	c := newServeConfig(opts)
	c.info.Kind = KindTransport
	serve(c, KindTransport, &TransportPlugin{Impl: impl, Info: c.info})
}
