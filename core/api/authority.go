package api

import (
	"errors"
	"net/http"
	"regexp"
)

// Handlers of the push server's client authority. The push server is a
// plugin; without one these answer 503 with a JSON sentence (the original
// answered 500 with plain text, which clients could not tell from a crash).

// uuidRe is the UUID syntax the state accepts for hosts (core/state), so any
// client the state can hold can be addressed here, and nothing else reaches
// the plugin.
var uuidRe = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

var errNoPushServer = errorf(http.StatusServiceUnavailable, "push server is not enabled on this instance")

// authorityList is the original's answer: UUID → hostname, both maps always
// present.
type authorityList struct {
	Waiting map[string]string `json:"waiting"`
	Allowed map[string]string `json:"allowed"`
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
	return authorityList{Waiting: waiting, Allowed: allowed}, nil
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
	return &Error{Status: http.StatusBadGateway, Message: "push server: " + err.Error(), Err: err}
}
