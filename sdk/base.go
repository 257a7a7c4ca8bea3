package sdk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// Capabilities a plugin may declare (WithCapabilities, CapabilityReporter).
// The host dispatches on them, never on a plugin's name.
const (
	// CapAuthority: a transport keeping a client authority (the push
	// server role); the core's /api/authority routes reach it.
	CapAuthority = "authority"
	// CapBuffering: an output or notifier holding data between calls,
	// which it flushes when the host closes it (Closer).
	CapBuffering = "buffering"
	// CapBatchNotify: a notifier taking many notifications in one call.
	CapBatchNotify = "batch_notify"
)

// Has reports whether the plugin declared capability c.
func (i PluginInfo) Has(c string) bool { return slices.Contains(i.Capabilities, c) }

// WithCapabilities declares what the plugin can do beyond its kind's
// service (the Cap* constants), whatever its config. A plugin whose
// capabilities depend on its config implements CapabilityReporter too.
func WithCapabilities(caps ...string) ServeOption {
	return func(c *serveConfig) { c.info.Capabilities = append(c.info.Capabilities, caps...) }
}

// CapabilityReporter is optionally implemented by a plugin whose
// capabilities depend on its config. The host asks after each successful
// Configure; the answer is added to those of WithCapabilities.
type CapabilityReporter interface {
	Capabilities() []string
}

// Closer is optionally implemented by a notifier, output or transport that
// holds something worth flushing before its process ends (an output's
// buffered points). The host calls Close when it stops the plugin: daemon
// shutdown, its block removed or changed by a reload. ctx carries the
// deadline; return an *UnflushedError for what could not be flushed by
// then. The process is killed afterwards.
type Closer interface {
	Close(ctx context.Context) error
}

// UnflushedError is what Close returns when items (points, notifications)
// were still held at its deadline. It crosses the wire as a typed count.
type UnflushedError struct {
	// N is how many items were not flushed.
	N int
	// Err is why (the last send error, or the deadline).
	Err error
}

// Error implements error.
func (e *UnflushedError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%d items not flushed", e.N)
	}
	return fmt.Sprintf("%d items not flushed: %v", e.N, e.Err)
}

// Unwrap returns Err.
func (e *UnflushedError) Unwrap() error { return e.Err }

// ErrNoBase is returned by Info from a plugin that does not serve the Base
// service (built before it, or in another language without it): it
// declares no capabilities.
var ErrNoBase = errors.New("the plugin does not serve the Base service")

// baseServer serves the Base service for the implementation of any kind.
type baseServer struct {
	pb.UnimplementedBaseServer
	impl any
	info PluginInfo
}

func registerBase(s *grpc.Server, impl any, info PluginInfo) {
	pb.RegisterBaseServer(s, &baseServer{impl: impl, info: info})
}

func (s *baseServer) Info(context.Context, *pb.InfoRequest) (*pb.InfoResponse, error) {
	info := s.info
	info.Capabilities = slices.Clone(info.Capabilities)
	if _, ok := s.impl.(BatchNotifier); ok && !info.Has(CapBatchNotify) {
		info.Capabilities = append(info.Capabilities, CapBatchNotify)
	}
	if r, ok := s.impl.(CapabilityReporter); ok {
		for _, c := range r.Capabilities() {
			if !info.Has(c) {
				info.Capabilities = append(info.Capabilities, c)
			}
		}
	}
	return &pb.InfoResponse{Info: infoToProto(info)}, nil
}

func (s *baseServer) Close(ctx context.Context, _ *pb.CloseRequest) (*pb.CloseResponse, error) {
	c, ok := s.impl.(Closer)
	if !ok {
		return &pb.CloseResponse{}, nil
	}
	// The reply must make it back before the host's deadline: the plugin's
	// own ends a little earlier.
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-min(time.Until(d)/10, 500*time.Millisecond)))
		defer cancel()
	}
	err := c.Close(ctx)
	resp := &pb.CloseResponse{Error: errString(err)}
	var u *UnflushedError
	if errors.As(err, &u) {
		resp.Unflushed = uint64(max(0, u.N))
	}
	return resp, nil
}

// base is the host's side of the Base service, embedded in the client of
// every kind.
type base struct{ b pb.BaseClient }

func newBase(c *grpc.ClientConn) base { return base{b: pb.NewBaseClient(c)} }

// Info asks the plugin who it is and what it declares, as configured now;
// an error wrapping ErrNoBase from a plugin without the Base service.
func (c base) Info(ctx context.Context) (PluginInfo, error) {
	resp, err := c.b.Info(ctx, &pb.InfoRequest{})
	if status.Code(err) == codes.Unimplemented {
		return PluginInfo{}, ErrNoBase
	}
	if err != nil {
		return PluginInfo{}, fmt.Errorf("info: %w", err)
	}
	return infoFromProto(resp.GetInfo()), nil
}

// Close asks the plugin to flush what it holds within ctx's deadline. A
// plugin without the Base service, or without anything to flush, answers
// nil; one that could not flush everything an *UnflushedError, any other
// refusal a *RemoteError.
func (c base) Close(ctx context.Context) error {
	resp, err := c.b.Close(ctx, &pb.CloseRequest{})
	if status.Code(err) == codes.Unimplemented {
		return nil
	}
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if n := resp.GetUnflushed(); n > 0 {
		return &UnflushedError{N: int(n), Err: remoteErr(resp.GetError())}
	}
	return remoteErr(resp.GetError())
}
