package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/store"
)

// TokenStore keeps the API tokens (core/store).
type TokenStore interface {
	CreateToken(ctx context.Context, name string, role auth.Role, createdBy string, expires, now time.Time) (store.TokenInfo, string, error)
	Tokens(ctx context.Context) ([]store.TokenInfo, error)
	RevokeToken(ctx context.Context, id, by string, now time.Time) error
}

// getWhoami answers GET /api/whoami: the identity this request has.
func (s *server) getWhoami(r *http.Request) (any, error) {
	id, _ := auth.FromRequest(r)
	return id, nil
}

// tokenList answers GET /api/tokens.
type tokenList struct {
	Tokens []store.TokenInfo `json:"tokens"`
}

// newToken answers POST /api/tokens: the token's secret, shown once.
type newToken struct {
	store.TokenInfo
	Token string `json:"token"`
}

func (s *server) tokenStore() (TokenStore, error) {
	if s.tokens == nil {
		return nil, errorf(http.StatusServiceUnavailable, "tokens need the database: set database")
	}
	return s.tokens, nil
}

func (s *server) getTokens(r *http.Request) (any, error) {
	ts, err := s.tokenStore()
	if err != nil {
		return nil, err
	}
	l, err := ts.Tokens(r.Context())
	if err != nil {
		return nil, err
	}
	return tokenList{Tokens: l}, nil
}

// maxTokenLife bounds a token's life: one without end is asked for by
// leaving expires out, and a typo of years is refused.
const maxTokenLife = 5 * 366 * 24 * time.Hour

// postToken answers POST /api/tokens (form: name, role, expires as a
// duration such as 30d or 12h; left out, the token never expires).
func (s *server) postToken(r *http.Request) (any, error) {
	ts, err := s.tokenStore()
	if err != nil {
		return nil, err
	}
	if err := r.ParseForm(); err != nil {
		return nil, errorf(http.StatusBadRequest, "cannot read the form: %v", err)
	}
	name := r.Form.Get("name")
	if name == "" || len(name) > 64 || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\r\n\t") {
		return nil, errorf(http.StatusBadRequest, "name: 1 to 64 characters of text, saying what the token is for")
	}
	role, err := auth.ParseRole(r.Form.Get("role"))
	if err != nil || role == auth.RoleNone {
		return nil, errorf(http.StatusBadRequest, "role=%q: want viewer, operator or admin", truncate(r.Form.Get("role"), 20))
	}
	now := s.state.Now()
	var expires time.Time
	if v := r.Form.Get("expires"); v != "" {
		d, err := ParseLife(v)
		if err != nil || d <= 0 || d > maxTokenLife {
			return nil, errorf(http.StatusBadRequest, "expires=%q: want a duration such as 30d or 12h, up to 5 years (leave it out for a token that never expires)", truncate(v, 20))
		}
		expires = now.Add(d)
	}
	info, secret, err := ts.CreateToken(r.Context(), name, role, author(r), expires, now)
	if err != nil {
		return nil, err
	}
	s.log.Info("token created", "id", info.ID, "name", name, "role", role, "expires", expires, "by", author(r), "remote", r.RemoteAddr)
	s.record(r, "", "", "API token "+name+" ("+role.String()+") created")
	return newToken{TokenInfo: info, Token: secret}, nil
}

// deleteToken answers DELETE /api/tokens/:id: revoked, its row kept.
func (s *server) deleteToken(r *http.Request) (any, error) {
	ts, err := s.tokenStore()
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if err := ts.RevokeToken(r.Context(), id, author(r), s.state.Now()); err != nil {
		if errors.Is(err, store.ErrTokenNotFound) {
			return nil, errorf(http.StatusNotFound, "no token %q in force", truncate(id, 40))
		}
		return nil, err
	}
	s.log.Info("token revoked", "id", id, "by", author(r), "remote", r.RemoteAddr)
	s.record(r, "", "", "API token "+id+" revoked")
	return map[string]string{"revoked": id}, nil
}

// ParseLife reads a duration as operators write one: Go's (90m, 12h) or
// a number of days (30d).
func ParseLife(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		d, err := time.ParseDuration(n + "h")
		return d * 24, err
	}
	return time.ParseDuration(v)
}

// postLogin answers POST /api/login (form: user, password): a browser
// session, its cookie set, and who it is; 401 for a wrong pair.
func (s *server) postLogin(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := r.ParseForm(); err != nil {
		return nil, errorf(http.StatusBadRequest, "cannot read the form: %v", err)
	}
	id, ok := s.auth.Login(w, r, r.Form.Get("user"), r.Form.Get("password"))
	if !ok {
		return nil, errorf(http.StatusUnauthorized, "wrong user name or password")
	}
	return id, nil
}

// postLogout answers POST /api/logout: the session ends, its cookie is
// cleared.
func (s *server) postLogout(w http.ResponseWriter, r *http.Request) (any, error) {
	s.auth.Logout(w, r)
	return map[string]bool{"logged_out": true}, nil
}

// record logs, in the log table, a change made through the API that no
// other event logs: what, by whom, from where.
func (s *server) record(r *http.Request, host, probe, what string) {
	from, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		from = r.RemoteAddr
	}
	s.state.Record(host, probe, what+" by "+by(r)+" (from "+from+")")
}
