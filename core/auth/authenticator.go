package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// User is one user block.
type User struct {
	Name         string
	PasswordHash string
	Role         Role
}

// Token is what the token store knows of one API token.
type Token struct {
	ID, Name string
	Role     Role
}

// ErrNoToken is what a Tokens store answers for a token it does not hold,
// or holds revoked or expired.
var ErrNoToken = errors.New("no such token")

// Tokens finds API tokens by the SHA-256 (hex) of their secret; it only
// answers tokens in force at now.
type Tokens interface {
	TokenByHash(ctx context.Context, hash string, now time.Time) (Token, error)
}

// HashToken is the digest a token is stored and looked up by: the token
// itself is shown once and never kept.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Proxy is a trusted proxy doing the login (an SSO gateway, oauth2-proxy):
// from its addresses, Header names the user and RoleHeader, when set and
// sent, the role (else DefaultRole). The header from any other address is
// not believed.
type Proxy struct {
	Header, RoleHeader string
	DefaultRole        Role
	From               []netip.Prefix
}

// Options configure an Authenticator.
type Options struct {
	Users []User
	// Login and Password are the original's single http.login: an admin.
	Login, Password string
	// Tokens, when set, checks bearer tokens.
	Tokens Tokens
	// Proxy, when set, is believed from its addresses.
	Proxy *Proxy
	// Anonymous is the role of a request without credentials; Local that
	// of one from the loopback address.
	Anonymous, Local Role
	// Deny writes a refusal as the API writes its errors (edge.Refuse).
	// Required.
	Deny func(w http.ResponseWriter, status int, msg string)
	// Now is the clock (tokens expire). Default time.Now.
	Now    func() time.Time
	Logger hclog.Logger
}

// Authenticator establishes identities. Build it with New.
type Authenticator struct {
	opts   Options
	users  map[string]User
	login  [2][32]byte
	log    hclog.Logger
	fails  *limiter
	cacheM sync.Mutex
	// cache remembers passwords verified recently (by digest, never in
	// clear), so that a script or a browser sending basic auth with every
	// request does not pay an argon2id derivation each time.
	cache map[[32]byte]cached
}

type cached struct {
	user  User
	until time.Time
}

const (
	cacheTTL  = 5 * time.Minute
	cacheSize = 1024
)

// New builds an authenticator.
func New(opts Options) *Authenticator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	a := &Authenticator{opts: opts, users: map[string]User{}, log: opts.Logger, fails: newLimiter(),
		cache: map[[32]byte]cached{}}
	for _, u := range opts.Users {
		a.users[u.Name] = u
	}
	a.login = [2][32]byte{sha256.Sum256([]byte(opts.Login)), sha256.Sum256([]byte(opts.Password))}
	return a
}

// errBadCredentials is a request whose credentials are wrong: 401.
var errBadCredentials = errors.New("the credentials are not valid")

// Identify returns who makes r. An error means r brought credentials that
// are not valid (or a role header that is not a role).
func (a *Authenticator) Identify(r *http.Request) (Identity, error) {
	remote := remoteAddr(r)
	if p := a.opts.Proxy; p != nil {
		if user := r.Header.Get(p.Header); user != "" && fromAny(remote, p.From) {
			role := p.DefaultRole
			if p.RoleHeader != "" {
				if v := r.Header.Get(p.RoleHeader); v != "" {
					var err error
					if role, err = ParseRole(v); err != nil || role == RoleNone {
						return Identity{}, fmt.Errorf("%s: %q is not a role (viewer, operator or admin)", p.RoleHeader, v)
					}
				}
			}
			return Identity{Name: user, Role: role, Via: "proxy", Credentials: true}, nil
		}
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		if a.opts.Tokens == nil {
			return Identity{}, errBadCredentials
		}
		t, err := a.opts.Tokens.TokenByHash(r.Context(), HashToken(strings.TrimSpace(h[7:])), a.opts.Now())
		if err != nil {
			if !errors.Is(err, ErrNoToken) {
				a.log.Error("token lookup", "error", err)
			}
			return Identity{}, errBadCredentials
		}
		return Identity{Name: "token:" + t.Name, Role: t.Role, Via: "token", Credentials: true}, nil
	}
	if user, password, ok := r.BasicAuth(); ok {
		u, ok := a.password(user, password)
		if !ok {
			return Identity{}, errBadCredentials
		}
		return Identity{Name: u.Name, Role: u.Role, Via: "basic", Credentials: true}, nil
	}
	if remote.IsValid() && remote.IsLoopback() {
		return Identity{Name: "local", Role: a.opts.Local, Via: "local"}, nil
	}
	return Identity{Name: "anonymous", Role: a.opts.Anonymous, Via: "anonymous"}, nil
}

// password checks a basic-auth pair against the original's login, then
// the users.
func (a *Authenticator) password(user, password string) (User, bool) {
	if a.opts.Login != "" {
		gotU, gotP := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
		if subtle.ConstantTimeCompare(gotU[:], a.login[0][:])&subtle.ConstantTimeCompare(gotP[:], a.login[1][:]) == 1 {
			return User{Name: user, Role: RoleAdmin}, true
		}
	}
	u, known := a.users[user]
	key := sha256.Sum256([]byte(user + "\x00" + password + "\x00" + u.PasswordHash))
	now := a.opts.Now()
	a.cacheM.Lock()
	c, hit := a.cache[key]
	a.cacheM.Unlock()
	if hit && now.Before(c.until) {
		return c.user, true
	}
	if !known {
		if len(a.users) > 0 {
			// Pay the same derivation as a known user, so that the
			// timing does not tell which names exist.
			VerifyPassword(dummyHash(), password)
		}
		return User{}, false
	}
	if !VerifyPassword(u.PasswordHash, password) {
		return User{}, false
	}
	a.cacheM.Lock()
	if len(a.cache) >= cacheSize {
		clear(a.cache)
	}
	a.cache[key] = cached{user: u, until: now.Add(cacheTTL)}
	a.cacheM.Unlock()
	return u, true
}

// dummyHash is checked for an unknown user name (its password is random),
// made on first use.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword(fmt.Sprint(time.Now().UnixNano()))
	if err != nil {
		return "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	}
	return h
})

// Middleware gives every request its identity (FromRequest). A request
// whose credentials are not valid is answered 401 and counted against its
// address: after too many failures in a minute, the address gets 429 until
// the minute is over.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, done := FromRequest(r); done {
			next.ServeHTTP(w, r)
			return
		}
		remote := remoteAddr(r)
		key := limitKey(remote)
		if wait := a.fails.blocked(key, a.opts.Now()); wait > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
			a.opts.Deny(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed logins from %s; try again in %d s", key, int(wait.Seconds())+1))
			return
		}
		id, err := a.Identify(r)
		if err != nil {
			if a.fails.fail(key, a.opts.Now()) {
				a.log.Warn("failed logins: address blocked for a minute", "address", key)
			}
			a.log.Info("authentication failed", "remote", r.RemoteAddr, "path", r.URL.Path, "error", err)
			w.Header().Set("WWW-Authenticate", `Basic realm="wigo"`)
			a.opts.Deny(w, http.StatusUnauthorized, err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}

// Require lets through only the requests whose identity has role.
func (a *Authenticator) Require(role Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := Check(r, role); d != nil {
			if d.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="wigo"`)
			}
			a.opts.Deny(w, d.Status, d.Message)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func fromAny(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if a.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// limitKey groups addresses the way one client holds them: an IPv6 /64.
func limitKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
