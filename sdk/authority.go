package sdk

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// AuthorityProvider is implemented by a Transport that keeps a client
// authority (the push server role): clients waiting for approval, clients
// allowed. The core's /api/authority routes reach it through the Transport
// service's Authority RPC. A Transport that does not implement it answers
// ErrNoAuthority.
type AuthorityProvider interface {
	// AuthorityList returns the waiting and the allowed clients, UUID to
	// hostname.
	AuthorityList(ctx context.Context) (waiting, allowed map[string]string, err error)
	// AuthorityAllow allows uuid; ErrUnknownClient when it never connected
	// and is not allowed already.
	AuthorityAllow(ctx context.Context, uuid string) error
	// AuthorityRevoke revokes uuid; ErrUnknownClient when it is neither
	// waiting nor allowed.
	AuthorityRevoke(ctx context.Context, uuid string) error
}

var (
	// ErrUnknownClient is returned by authority operations on a UUID that
	// is neither waiting nor allowed.
	ErrUnknownClient = errors.New("unknown client")
	// ErrNoAuthority is returned when the transport keeps no authority
	// (not a push server, or a push plugin running the client role only).
	ErrNoAuthority = errors.New("transport has no client authority")
)

// Authority implements the Transport service's Authority RPC.
func (s *transportServer) Authority(ctx context.Context, req *pb.AuthorityRequest) (*pb.AuthorityResponse, error) {
	ap, ok := s.impl.(AuthorityProvider)
	if !ok {
		return &pb.AuthorityResponse{Code: pb.AuthorityResponse_CODE_NO_AUTHORITY, Error: ErrNoAuthority.Error()}, nil
	}
	var err error
	resp := &pb.AuthorityResponse{}
	switch req.GetAction() {
	case pb.AuthorityRequest_ACTION_LIST:
		resp.Waiting, resp.Allowed, err = ap.AuthorityList(ctx)
	case pb.AuthorityRequest_ACTION_ALLOW:
		err = ap.AuthorityAllow(ctx, req.GetUuid())
	case pb.AuthorityRequest_ACTION_REVOKE:
		err = ap.AuthorityRevoke(ctx, req.GetUuid())
	default:
		return nil, status.Errorf(codes.InvalidArgument, "unknown authority action %d", req.GetAction())
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknownClient):
		resp.Code, resp.Error = pb.AuthorityResponse_CODE_UNKNOWN_CLIENT, err.Error()
	case errors.Is(err, ErrNoAuthority):
		resp.Code, resp.Error = pb.AuthorityResponse_CODE_NO_AUTHORITY, err.Error()
	default:
		resp.Code, resp.Error = pb.AuthorityResponse_CODE_ERROR, errString(err)
	}
	return resp, nil
}

// authorityError turns a response into the matching error: ErrUnknownClient
// and ErrNoAuthority are kept recognizable (errors.Is) across the process
// boundary; anything else is a *RemoteError.
func authorityError(resp *pb.AuthorityResponse) error {
	switch resp.GetCode() {
	case pb.AuthorityResponse_CODE_OK:
		return nil
	case pb.AuthorityResponse_CODE_UNKNOWN_CLIENT:
		return fmt.Errorf("%w: %s", ErrUnknownClient, resp.GetError())
	case pb.AuthorityResponse_CODE_NO_AUTHORITY:
		return ErrNoAuthority
	}
	return remoteErr(errString(errors.New(resp.GetError())))
}

func (c *TransportClient) authority(ctx context.Context, req *pb.AuthorityRequest) (*pb.AuthorityResponse, error) {
	resp, err := c.c.Authority(ctx, req)
	if status.Code(err) == codes.Unimplemented {
		// A plugin built against an SDK older than the Authority RPC.
		return nil, ErrNoAuthority
	}
	if err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	return resp, authorityError(resp)
}

// AuthorityList returns the plugin's waiting and allowed clients (UUID to
// hostname); ErrNoAuthority when it keeps none.
func (c *TransportClient) AuthorityList(ctx context.Context) (waiting, allowed map[string]string, err error) {
	resp, err := c.authority(ctx, &pb.AuthorityRequest{Action: pb.AuthorityRequest_ACTION_LIST})
	if err != nil {
		return nil, nil, err
	}
	return resp.GetWaiting(), resp.GetAllowed(), nil
}

// AuthorityAllow allows the client uuid.
func (c *TransportClient) AuthorityAllow(ctx context.Context, uuid string) error {
	_, err := c.authority(ctx, &pb.AuthorityRequest{Action: pb.AuthorityRequest_ACTION_ALLOW, Uuid: uuid})
	return err
}

// AuthorityRevoke revokes the client uuid.
func (c *TransportClient) AuthorityRevoke(ctx context.Context, uuid string) error {
	_, err := c.authority(ctx, &pb.AuthorityRequest{Action: pb.AuthorityRequest_ACTION_REVOKE, Uuid: uuid})
	return err
}
