package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// AuthorityClient describes one client of an authority, for the waiting
// list an operator approves from and the allowed list.
type AuthorityClient struct {
	UUID     string
	Hostname string
	// Remote is the address a waiting client last connected from.
	Remote string
	// FirstSeen is when a waiting client joined the list.
	FirstSeen time.Time
	// KeyFingerprint is the client key's SHA-256 fingerprint
	// ("SHA256:..."); empty for a client approved before client keys.
	KeyFingerprint string
	// Relay: the client may report the hosts under it.
	Relay bool
	// Pending: allowed, its signature not yet collected.
	Pending bool
	// UnrelayedHosts counts the hosts it carried in its latest session
	// that were dropped because it is not a relay.
	UnrelayedHosts int
}

// AuthorityDetailer is implemented by an AuthorityProvider that describes
// its clients beyond UUID and hostname; the LIST action then carries both.
type AuthorityDetailer interface {
	// AuthorityClients returns the waiting and the allowed clients.
	AuthorityClients(ctx context.Context) (waiting, allowed []AuthorityClient, err error)
}

// RelayGranter is implemented by an AuthorityProvider whose clients may be
// granted relay: reporting the hosts under them, not only their own.
type RelayGranter interface {
	// AuthorityRelay grants (relay true) or withdraws relay for the
	// allowed client uuid; ErrUnknownClient when it is not allowed.
	AuthorityRelay(ctx context.Context, uuid string, relay bool) error
}

var (
	// ErrUnsupported is returned by an authority action the plugin does
	// not implement (a plugin built before it).
	ErrUnsupported = errors.New("the transport's authority does not support this action")
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
		if d, ok := ap.(AuthorityDetailer); ok && err == nil {
			var waiting, allowed []AuthorityClient
			waiting, allowed, err = d.AuthorityClients(ctx)
			resp.WaitingClients, resp.AllowedClients = clientsToPB(waiting), clientsToPB(allowed)
		}
	case pb.AuthorityRequest_ACTION_RELAY:
		if g, ok := ap.(RelayGranter); ok {
			err = g.AuthorityRelay(ctx, req.GetUuid(), req.GetRelay())
		} else {
			err = ErrUnsupported
		}
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
	case errors.Is(err, ErrUnsupported):
		resp.Code, resp.Error = pb.AuthorityResponse_CODE_UNSUPPORTED, err.Error()
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
	case pb.AuthorityResponse_CODE_UNSUPPORTED:
		return ErrUnsupported
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

// AuthorityClients returns the plugin's waiting and allowed clients in
// full; ErrUnsupported from a plugin that describes them by hostname only
// (see AuthorityList).
func (c *TransportClient) AuthorityClients(ctx context.Context) (waiting, allowed []AuthorityClient, err error) {
	resp, err := c.authority(ctx, &pb.AuthorityRequest{Action: pb.AuthorityRequest_ACTION_LIST})
	if err != nil {
		return nil, nil, err
	}
	if len(resp.GetWaitingClients()) < len(resp.GetWaiting()) || len(resp.GetAllowedClients()) < len(resp.GetAllowed()) {
		return nil, nil, ErrUnsupported
	}
	return clientsFromPB(resp.GetWaitingClients()), clientsFromPB(resp.GetAllowedClients()), nil
}

// AuthorityRelay grants (relay true) or withdraws relay for the client
// uuid; ErrUnsupported from a plugin without relays.
func (c *TransportClient) AuthorityRelay(ctx context.Context, uuid string, relay bool) error {
	_, err := c.authority(ctx, &pb.AuthorityRequest{Action: pb.AuthorityRequest_ACTION_RELAY, Uuid: uuid, Relay: relay})
	if status.Code(err) == codes.InvalidArgument {
		// A plugin built before ACTION_RELAY refuses the unknown action.
		return ErrUnsupported
	}
	return err
}

func clientsToPB(cs []AuthorityClient) []*pb.AuthorityClient {
	out := make([]*pb.AuthorityClient, len(cs))
	for i, c := range cs {
		out[i] = &pb.AuthorityClient{Uuid: c.UUID, Hostname: c.Hostname, Remote: c.Remote, KeyFingerprint: c.KeyFingerprint,
			Relay: c.Relay, Pending: c.Pending, UnrelayedHosts: uint32(max(0, c.UnrelayedHosts))}
		if !c.FirstSeen.IsZero() {
			out[i].FirstSeenUnixMs = c.FirstSeen.UnixMilli()
		}
	}
	return out
}

func clientsFromPB(cs []*pb.AuthorityClient) []AuthorityClient {
	out := make([]AuthorityClient, len(cs))
	for i, c := range cs {
		out[i] = AuthorityClient{UUID: c.GetUuid(), Hostname: c.GetHostname(), Remote: c.GetRemote(), KeyFingerprint: c.GetKeyFingerprint(),
			Relay: c.GetRelay(), Pending: c.GetPending(), UnrelayedHosts: int(c.GetUnrelayedHosts())}
		if ms := c.GetFirstSeenUnixMs(); ms != 0 {
			out[i].FirstSeen = time.UnixMilli(ms)
		}
	}
	return out
}
