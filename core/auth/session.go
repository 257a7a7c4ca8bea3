package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// SessionCookie is the dashboard's login cookie: HttpOnly, SameSite=Strict
// (a page on another site cannot send it), Secure over HTTPS.
const SessionCookie = "wigo_session"

// How long a browser session lasts: idle (without a request) and at most.
// A wall screen that keeps its websocket open is not idle: the socket was
// let in once, and the page's other requests renew the session.
const (
	sessionIdle     = 24 * time.Hour
	sessionLifetime = 30 * 24 * time.Hour
	maxSessions     = 10000
)

// sessions are the browser sessions, in memory: a restart logs the
// browsers out (they log in again), nothing else.
type sessions struct {
	mu sync.Mutex
	m  map[[32]byte]*session // by the cookie's SHA-256
}

type session struct {
	user             User
	created, touched time.Time
}

func newSessions() *sessions { return &sessions{m: map[[32]byte]*session{}} }

func (s *sessions) open(u User, now time.Time) string {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // crypto/rand.Read does not fail
	secret := base64.RawURLEncoding.EncodeToString(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		for k, v := range s.m {
			if expired(v, now) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= maxSessions {
			clear(s.m) // a flood of logins: everyone logs in again
		}
	}
	s.m[sha256.Sum256([]byte(secret))] = &session{user: u, created: now, touched: now}
	return secret
}

func expired(v *session, now time.Time) bool {
	return now.Sub(v.touched) > sessionIdle || now.Sub(v.created) > sessionLifetime
}

// user is the session's user, renewing it; false when there is none or it
// expired.
func (s *sessions) user(secret string, now time.Time) (User, bool) {
	k := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return User{}, false
	}
	if expired(v, now) {
		delete(s.m, k)
		return User{}, false
	}
	v.touched = now
	return v.user, true
}

func (s *sessions) close(secret string) {
	s.mu.Lock()
	delete(s.m, sha256.Sum256([]byte(secret)))
	s.mu.Unlock()
}

// Login checks a user name and password (the users, or the original's
// login) and opens a browser session: the cookie is set on w. A wrong pair
// counts against the address like any failed login.
func (a *Authenticator) Login(w http.ResponseWriter, r *http.Request, user, password string) (Identity, bool) {
	key := limitKey(remoteAddr(r))
	if a.fails.blocked(key, a.opts.Now()) > 0 {
		return Identity{}, false
	}
	u, ok := a.password(user, password)
	if !ok {
		if a.fails.fail(key, a.opts.Now()) {
			a.log.Warn("failed logins: address blocked for a minute", "address", key)
		}
		a.log.Info("login failed", "user", user, "remote", r.RemoteAddr)
		return Identity{}, false
	}
	secret := a.sessions.open(u, a.opts.Now())
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", HttpOnly: true,
		Secure: a.opts.SecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLifetime / time.Second)})
	a.log.Info("logged in", "user", u.Name, "role", u.Role, "remote", r.RemoteAddr)
	return Identity{Name: u.Name, Role: u.Role, Via: "session", Credentials: true}, true
}

// Logout ends r's browser session, if any, and clears its cookie on w.
func (a *Authenticator) Logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		a.sessions.close(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: a.opts.SecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}
