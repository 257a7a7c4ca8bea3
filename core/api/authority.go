package api

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
)

// Handlers of the push server's client authority. The push server is a
// plugin; without one these answer 503 with a JSON sentence (the original
// answered 500 with plain text, which clients could not tell from a crash).

// uuidRe is the UUID syntax the state accepts for hosts (core/state), so any
// client the state can hold can be addressed here, and nothing else reaches
// the plugin.
var uuidRe = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

var errNoPushServer = errorf(http.StatusServiceUnavailable, "%s", ErrNoPushServer)

// authorityList is the original's answer: UUID → hostname, both maps always
// present; then, from an authority that describes its clients, the same
// clients in full (additive keys: clients of the original's shape ignore
// them).
type authorityList struct {
	Waiting        map[string]string `json:"waiting"`
	Allowed        map[string]string `json:"allowed"`
	WaitingClients []AuthorityClient `json:"waiting_clients,omitzero"`
	AllowedClients []AuthorityClient `json:"allowed_clients,omitzero"`
}

func (s *server) getAuthority(r *http.Request) (any, error) {
	if s.authority == nil {
		return nil, errNoPushServer
	}
	waiting, allowed, err := s.authority.List(r.Context())
	if err != nil {
		return nil, pushServerError(err)
	}
	if waiting == nil {
		waiting = map[string]string{}
	}
	if allowed == nil {
		allowed = map[string]string{}
	}
	list := authorityList{Waiting: waiting, Allowed: allowed}
	if d, ok := s.authority.(AuthorityDetailer); ok {
		// A plugin that lists hostnames only still answers the maps.
		w, a, err := d.Clients(r.Context())
		if err != nil {
			s.log.Debug("push clients not described in full", "error", err)
		} else {
			// Both present, empty or not, when described at all.
			list.WaitingClients, list.AllowedClients = append([]AuthorityClient{}, w...), append([]AuthorityClient{}, a...)
		}
	}
	return list, nil
}

// postRelay grants relay to an allowed client (reporting the hosts under
// it); ?relay=0 withdraws it.
func (s *server) postRelay(r *http.Request) (any, error) {
	uuid, err := s.clientUUID(r)
	if err != nil {
		return nil, err
	}
	relay := true
	switch v := r.URL.Query().Get("relay"); v {
	case "", "1", "true":
	case "0", "false":
		relay = false
	default:
		return nil, errorf(http.StatusBadRequest, "invalid relay=%q: expected 1 (grant) or 0 (withdraw)", truncate(v, 20))
	}
	g, ok := s.authority.(RelayGranter)
	if !ok {
		return nil, errorf(http.StatusNotImplemented, "this daemon cannot grant relays through the API: add relay to the client's line in allowed_clients_file")
	}
	if err := g.Relay(r.Context(), uuid, relay); err != nil {
		return nil, pushServerError(err)
	}
	s.log.Info("push client relay changed through the API", "uuid", uuid, "relay", relay, "remote", r.RemoteAddr)
	s.record(r, "", "", "push client "+uuid+" may relay: "+strconv.FormatBool(relay))
	return "OK", nil
}

func (s *server) postAllow(r *http.Request) (any, error) {
	uuid, err := s.clientUUID(r)
	if err != nil {
		return nil, err
	}
	if err := s.authority.Allow(r.Context(), uuid); err != nil {
		return nil, pushServerError(err)
	}
	s.log.Info("push client allowed through the API", "uuid", uuid, "remote", r.RemoteAddr)
	s.record(r, "", "", "push client "+uuid+" approved")
	return "OK", nil
}

func (s *server) postRevoke(r *http.Request) (any, error) {
	uuid, err := s.clientUUID(r)
	if err != nil {
		return nil, err
	}
	if err := s.authority.Revoke(r.Context(), uuid); err != nil {
		return nil, pushServerError(err)
	}
	s.log.Info("push client revoked through the API", "uuid", uuid, "remote", r.RemoteAddr)
	s.record(r, "", "", "push client "+uuid+" revoked")
	return "OK", nil
}

// clientUUID checks that there is a push server and that {uuid} is one.
func (s *server) clientUUID(r *http.Request) (string, error) {
	if s.authority == nil {
		return "", errNoPushServer
	}
	uuid := r.PathValue("uuid")
	if !uuidRe.MatchString(uuid) {
		return "", errorf(http.StatusBadRequest, "invalid client UUID %q: expected 1 to 64 letters, digits or dashes", truncate(uuid, 80))
	}
	return uuid, nil
}

// pushServerError maps the plugin's answer: an unknown client is the
// caller's mistake (404); anything else is the plugin failing (502), and its
// message is shown because it is what an operator needs (a file that cannot
// be written, a plugin being restarted).
func pushServerError(err error) error {
	if errors.Is(err, ErrUnknownClient) {
		return &Error{Status: http.StatusNotFound, Message: err.Error(), Err: err}
	}
	if errors.Is(err, ErrNoPushServer) {
		return errNoPushServer
	}
	if errors.Is(err, ErrPushServerUnavailable) {
		return &Error{Status: http.StatusServiceUnavailable, Message: ErrPushServerUnavailable.Error()}
	}
	return &Error{Status: http.StatusBadGateway, Message: "push server: " + err.Error(), Err: err}
}
