// Package auth says who makes a request and what that identity may do.
//
// Every request gets one Identity, decided once at the edge (Middleware)
// from, in order: a trusted proxy's header (only from the proxy's
// addresses), an API token (Authorization: Bearer), basic auth (the
// configured users, and the original's single http.login as an admin),
// else the anonymous role — the loopback address may get a role of its own,
// since without any login an instance is changed from its own machine. Each
// route then requires a role (Require, and the API's route table); a
// request below it gets 401 when it brought no credentials and 403 naming
// the role otherwise.
package auth

import (
	"context"
	"fmt"
	"net/http"
)

// Role is what an identity may do; each role may do what the ones below
// it may.
type Role int

// The roles, weakest first.
const (
	// RoleNone may do nothing: anonymous on an instance with a login.
	RoleNone Role = iota
	// RoleViewer reads everything.
	RoleViewer
	// RoleOperator also acknowledges, silences, approves push clients and
	// retries notifications.
	RoleOperator
	// RoleAdmin also manages tokens, users and what push clients may relay.
	RoleAdmin
)

var roleNames = []string{"none", "viewer", "operator", "admin"}

// String is the role's name as the configuration and the API write it.
func (r Role) String() string {
	if r < RoleNone || int(r) >= len(roleNames) {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames {
		if s == n {
			return Role(i), nil
		}
	}
	return RoleNone, fmt.Errorf("unknown role %q: want viewer, operator or admin", s)
}

// MarshalText writes the role's name (JSON answers).
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Identity is who makes a request.
type Identity struct {
	// Name is the user, the token's name ("token:NAME"), the proxy's user,
	// "local" for the loopback address without credentials, or
	// "anonymous".
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Via says how it was established: "basic", "token", "proxy",
	// "local" or "anonymous".
	Via string `json:"via"`
	// Credentials reports whether the request brought any: a request
	// without is asked for them (401), one with is refused (403).
	Credentials bool `json:"-"`
}

type ctxKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromRequest is the identity Middleware gave r; a request that did not
// pass through it has none and may do nothing.
func FromRequest(r *http.Request) (Identity, bool) {
	id, ok := r.Context().Value(ctxKey{}).(Identity)
	return id, ok
}

// Denial is why a request may not go on: the status to answer (401 or
// 403) and one sentence.
type Denial struct {
	Status  int
	Message string
}

// Check reports whether r's identity has at least role, and if not, why.
func Check(r *http.Request, role Role) *Denial {
	id, ok := FromRequest(r)
	switch {
	case ok && id.Role >= role:
		return nil
	case !ok || !id.Credentials:
		return &Denial{Status: http.StatusUnauthorized, Message: fmt.Sprintf("authentication required: this needs the %s role", role)}
	default:
		return &Denial{Status: http.StatusForbidden, Message: fmt.Sprintf("%s has the %s role; this needs %s", id.Name, id.Role, role)}
	}
}
