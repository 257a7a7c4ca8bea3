// Package edge is what every HTTP request meets before any route: the
// security headers, the Host check that defeats DNS rebinding, and the
// cross-site request check on every state-changing method. The daemon puts
// it in front of the API, the websocket, the web UI and /metrics alike, so
// no route can forget one of them.
//
// The checks, in order:
//
//   - Every answer carries nosniff, a frame-denying policy, no-referrer and
//     the dashboard's content security policy (harmless on JSON).
//   - The Host header must name this instance: one of Options.AllowedHosts,
//     compared without the port. A page on evil.example whose name was
//     re-pointed at 127.0.0.1 sends "Host: evil.example" and is refused, so
//     it can neither read the API nor open the websocket.
//   - A request that may change something (any method but GET, HEAD and
//     OPTIONS) must come from this instance's own pages or a trusted
//     origin, as judged by net/http's CrossOriginProtection (Sec-Fetch-Site,
//     then Origin against Host); and a request carrying neither header — not
//     sent by a current browser — must carry the X-Wigo-Request header,
//     which no cross-site form can send and no cross-site script can send
//     without a CORS preflight that this server never grants.
package edge

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// RequestHeader is the header a non-browser client (curl, a script) sends
// with a change: its presence proves the request was not forged by a page
// on another site. The dashboard sends it on every request.
const RequestHeader = "X-Wigo-Request"

// Options configure the guard.
type Options struct {
	// AllowedHosts are the names and addresses this instance answers to
	// (case-insensitive, without port). "*" accepts any Host: for an
	// instance behind a proxy that already checks it.
	AllowedHosts []string
	// AllowedOrigins are other origins ("https://noc.example:8443") whose
	// pages may change things here, besides the instance's own.
	AllowedOrigins []string
	// Logger receives one warning per refused Host name (not per request).
	// Nil discards them.
	Logger hclog.Logger
}

// maxLoggedHosts bounds the set of refused Host names remembered for "log
// once": a scan with random names must not grow it without end.
const maxLoggedHosts = 256

// Guard is the edge middleware. Build it with New.
type Guard struct {
	hosts   map[string]bool
	anyHost bool
	origins *http.CrossOriginProtection
	log     hclog.Logger
	mu      sync.Mutex
	refused map[string]bool
}

// New builds a guard. An allowed origin that is not scheme://host[:port]
// is an error naming it.
func New(opts Options) (*Guard, error) {
	g := &Guard{
		hosts:   map[string]bool{},
		origins: http.NewCrossOriginProtection(),
		log:     opts.Logger,
		refused: map[string]bool{},
	}
	if g.log == nil {
		g.log = hclog.NewNullLogger()
	}
	for _, h := range opts.AllowedHosts {
		if h == "*" {
			g.anyHost = true
			continue
		}
		g.hosts[normalHost(h)] = true
	}
	for _, o := range opts.AllowedOrigins {
		if err := g.origins.AddTrustedOrigin(strings.TrimRight(strings.TrimSpace(o), "/")); err != nil {
			return nil, fmt.Errorf("http.allowed_origins: %w", err)
		}
	}
	return g, nil
}

// Wrap returns next behind the guard.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w.Header())
		if !g.anyHost && !g.hosts[normalHost(r.Host)] {
			g.logRefusedHost(r)
			Refuse(w, http.StatusForbidden, fmt.Sprintf(
				"this instance does not answer to the name %q; if it is one of its names, add it to http.allowed_hosts", r.Host))
			return
		}
		if !safeMethod(r.Method) {
			if err := g.origins.Check(r); err != nil {
				Refuse(w, http.StatusForbidden, "cross-site request refused: changes are accepted from this instance's own pages or an origin listed in http.allowed_origins")
				return
			}
			if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" && r.Header.Get(RequestHeader) == "" {
				Refuse(w, http.StatusForbidden, fmt.Sprintf(
					"a change needs the header %s (e.g. curl -H '%s: 1'): it proves the request was not forged by another site", RequestHeader, RequestHeader))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// setHeaders sets the security headers every answer carries. A handler may
// still override one (a download that must be framed, say) after this.
func setHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// The dashboard loads only its own scripts and styles and talks only to
	// its own origin (the websocket included): a strict policy costs
	// nothing and blunts any injection through probe messages. On a JSON
	// answer it forbids everything, which is right for data.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (g *Guard) logRefusedHost(r *http.Request) {
	name := normalHost(r.Host)
	g.mu.Lock()
	first := !g.refused[name] && len(g.refused) < maxLoggedHosts
	if first {
		g.refused[name] = true
	}
	g.mu.Unlock()
	if first {
		g.log.Warn("request refused: Host is not one of this instance's names (http.allowed_hosts)",
			"host", r.Host, "remote", r.RemoteAddr, "path", r.URL.Path)
	}
}

// Refuse answers a refusal as every route answers its errors: JSON
// {"error": msg}, not cached. The identity checks (core/auth) answer
// through it too.
func Refuse(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// normalHost lowers a Host header or a configured name and drops its port,
// IPv6 brackets and trailing dot, so "LocalHost.:4000" and "localhost" are
// the same name.
func normalHost(h string) string {
	h = strings.TrimSpace(h)
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// DefaultHosts are the names an instance answers to when http.allowed_hosts
// is not set: localhost, the host names given, and the listen address — or,
// when it listens everywhere, every address of every interface.
func DefaultHosts(listenAddress string, names ...string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, n := range names {
		if n != "" {
			hosts = append(hosts, n)
		}
	}
	ip := net.ParseIP(listenAddress)
	if listenAddress != "" && (ip == nil || !ip.IsUnspecified()) {
		return append(hosts, listenAddress)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return hosts
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			hosts = append(hosts, n.IP.String())
		}
	}
	return hosts
}
