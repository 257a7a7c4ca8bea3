// Package api serves Wigo's HTTP API: the original Wigo's routes and JSON
// shapes (so the original wigocli, browser extensions and pull masters keep
// working against a new instance), with the original's bugs fixed: real log
// rows, JSON error bodies with real status codes, DOWN remotes counted in the
// global status.
//
// The handler is plain net/http and needs no server to be tested: build it
// with New and call ServeHTTP with an httptest.ResponseRecorder. TLS, the
// listener and the websocket are the daemon's business; who may do what is
// core/auth's, and each route's role is in the route table.
package api

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/decide"
	"github.com/wigo-project/wigo/core/edge"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/store"
)

// Limits of the logs routes' paging, the log store's own so that the API's
// validation and the store's never disagree.
const (
	// DefaultLimit is the page size when a request gives no limit, as in the
	// original.
	DefaultLimit = store.DefaultLimit
	// MaxLimit caps a page so one request cannot make the daemon read and
	// encode the whole log table.
	MaxLimit = store.MaxLimit
)

// LogSearcher is what the logs routes need from the log store: two methods
// rather than the whole store, so a test or another backend can stand in.
// *store.Store implements it.
type LogSearcher interface {
	// Search returns the rows matching q, newest first. An error wrapping
	// store.ErrInvalidQuery is answered 400.
	Search(ctx context.Context, q store.Query) ([]model.LogEntry, error)
	// Indexes lists the distinct groups, hosts and probes the log holds.
	Indexes(ctx context.Context) (groups, hosts, probes []string, err error)
}

// Authority is the push server's client authority (a transport plugin),
// reached through the core. Maps are UUID → hostname.
type Authority interface {
	// List returns the clients waiting for approval and the allowed ones.
	List(ctx context.Context) (waiting, allowed map[string]string, err error)
	// Allow approves a client. An unknown UUID is an error wrapping
	// ErrUnknownClient.
	Allow(ctx context.Context, uuid string) error
	// Revoke withdraws a client's approval. An unknown UUID is an error
	// wrapping ErrUnknownClient.
	Revoke(ctx context.Context, uuid string) error
}

// AuthorityClient describes one waiting or allowed push client in full:
// what an operator checks before approving it (where it connected from,
// since when, its key's fingerprint) and what it was granted.
type AuthorityClient struct {
	UUID     string `json:"uuid"`
	Hostname string `json:"hostname"`
	// Remote is the address a waiting client last connected from.
	Remote string `json:"remote,omitempty"`
	// FirstSeen is when a waiting client joined the list (RFC 3339).
	FirstSeen string `json:"first_seen,omitempty"`
	// KeyFingerprint is its client key's SHA-256 fingerprint ("SHA256:…").
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// Relay: an allowed client may report the hosts under it.
	Relay bool `json:"relay"`
	// Pending: allowed, its signature not yet collected.
	Pending bool `json:"pending,omitempty"`
	// UnrelayedHosts counts the hosts its latest session carried that were
	// dropped because it is not a relay.
	UnrelayedHosts int `json:"unrelayed_hosts,omitempty"`
}

// AuthorityDetailer is implemented by an Authority that describes its
// clients in full; GET /api/authority/hosts then adds waiting_clients and
// allowed_clients to the UUID → hostname maps.
type AuthorityDetailer interface {
	Clients(ctx context.Context) (waiting, allowed []AuthorityClient, err error)
}

// RelayGranter is implemented by an Authority whose clients may be granted
// relay (reporting the hosts under them), for
// POST /api/authority/hosts/{uuid}/relay. An unknown or not yet allowed
// UUID is an error wrapping ErrUnknownClient.
type RelayGranter interface {
	Relay(ctx context.Context, uuid string, relay bool) error
}

// ErrUnknownClient is what an Authority wraps when asked about a UUID it has
// never seen, so the API can answer 404 instead of blaming the push server.
var ErrUnknownClient = errors.New("unknown push client")

// ErrPushServerUnavailable is what an Authority wraps when the push server
// is configured but not running at the moment (starting, restarting), so
// the API answers 503 "try again" rather than 502.
var ErrPushServerUnavailable = errors.New("the push server is not running at the moment (starting or restarting); try again shortly")

// ErrNoPushServer is what an Authority wraps when no push server is
// configured on this instance, so the API answers 503 "not enabled".
var ErrNoPushServer = errors.New("push server is not enabled on this instance")

// Options configure the API handler.
type Options struct {
	// State is what the instance knows. Required.
	State *state.State
	// Logs answers the logs routes. Nil makes them answer 503: an instance
	// without a log store says so rather than pretend the log is empty (the
	// original's bug).
	Logs LogSearcher
	// Authority is the push server's client authority; nil when this
	// instance runs no push server.
	Authority Authority
	// Decider holds the core's decisions (acknowledgements, silences); nil
	// makes the ack and silence routes answer 503.
	Decider *decide.Decider
	// EndSilence ends a silence early (DELETE /api/silences/:id): its end
	// is published with what it held back. Required with Decider.
	EndSilence func(si event.Silence, why string)
	// Flush, when set, returns once every event published so far is
	// committed to the store: a change answered 200 is durable.
	Flush func(context.Context) error
	// Auth establishes who makes each request (core/auth); the route
	// table says which role each route needs. Nil is an instance without
	// credentials: anyone reads, the machine itself changes.
	Auth *auth.Authenticator
	// Tokens, when set, serves the token routes (/api/tokens).
	Tokens TokenStore
	// Probes, when set, runs and disables the local probes.
	Probes ProbeControl
	// Remote, when set, forwards probe control on remote hosts to the
	// instances running them; nil answers 501 for them.
	Remote RemoteControl
	// AcceptForwarded is http.remote_control: probe control forwarded by a
	// master (ForwardedHeader) is carried out; without it, refused (403).
	AcceptForwarded bool
	// History, when set, answers the metric history and timeline routes;
	// nil makes them answer 503.
	History HistoryReader
	// Now is the time the history's ranges are counted from; nil means
	// time.Now.
	Now func() time.Time
	// Gzip compresses answers for clients that accept it.
	Gzip bool
	// Logger receives request logs (debug level) and handler failures. Nil
	// discards them.
	Logger hclog.Logger
	// Version is the daemon's version, sent as X-Wigo-Version on answers to
	// authenticated (or unauthenticated-by-configuration) requests, so a
	// client can tell which API it talks to even from an error answer.
	// Empty sends no header.
	Version string
}

// server holds the handler's dependencies; its methods are the endpoints.
type server struct {
	state     *state.State
	logs      LogSearcher
	authority Authority
	decider   *decide.Decider
	// endSilence is Options.EndSilence.
	endSilence func(event.Silence, string)
	tokens     TokenStore
	probes     ProbeControl
	remote     RemoteControl
	// remoteControl is Options.AcceptForwarded.
	remoteControl bool
	auth          *auth.Authenticator
	flush         func(context.Context) error
	history       HistoryReader
	now           func() time.Time
	gzip          bool
	version       string
	log           hclog.Logger
	mux           *http.ServeMux
	// epoch sets this process's ETags apart from another's: the state's
	// revision starts again from zero after a restart.
	epoch uint64
}

// New builds the API handler. It panics when opts.State is nil: that is a
// wiring bug, not a run-time condition.
func New(opts Options) http.Handler {
	if opts.State == nil {
		panic("api.New: Options.State is required")
	}
	s := &server{
		state:         opts.State,
		logs:          opts.Logs,
		authority:     opts.Authority,
		decider:       opts.Decider,
		endSilence:    opts.EndSilence,
		tokens:        opts.Tokens,
		probes:        opts.Probes,
		remote:        opts.Remote,
		remoteControl: opts.AcceptForwarded,
		flush:         opts.Flush,
		history:       opts.History,
		now:           opts.Now,
		gzip:          opts.Gzip,
		version:       opts.Version,
		log:           opts.Logger,
		mux:           http.NewServeMux(),
		epoch:         rand.Uint64(),
	}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	if s.now == nil {
		s.now = time.Now
	}
	// One handler per path, answering each of its methods, so that a 405
	// names every method the path has.
	byPattern := map[string][]route{}
	var patterns []string
	for _, rt := range s.routes() {
		if byPattern[rt.Pattern] == nil {
			patterns = append(patterns, rt.Pattern)
		}
		byPattern[rt.Pattern] = append(byPattern[rt.Pattern], rt)
	}
	for _, p := range patterns {
		s.mux.Handle(p, s.endpoint(byPattern[p]...))
	}
	// Everything else, under /api or not, is a JSON 404 rather than
	// ServeMux's plain-text one.
	// A viewer's: on an instance with a login, who has none learns nothing
	// of what exists.
	s.mux.Handle("/", s.endpoint(route{Pattern: "/", Role: auth.RoleViewer, handle: notFound}))

	authn := opts.Auth
	if authn == nil {
		authn = auth.New(auth.Options{Anonymous: auth.RoleViewer, Local: auth.RoleAdmin, Deny: edge.Refuse})
	}
	s.auth = authn
	return s.observe(authn.Middleware(s.mux))
}

// route is one entry of the API's route table.
type route struct {
	// Method is GET, POST or DELETE (GET routes answer HEAD too); empty
	// accepts any method.
	Method string
	// Role is what the request's identity must have (core/auth).
	Role auth.Role
	// Pattern is a net/http ServeMux pattern without the method.
	Pattern string
	// handle produces the value encoded as the 200 answer, or an error.
	handle func(r *http.Request) (any, error)
	// respond, instead of handle, also gets the ResponseWriter: for the
	// routes that set a header of their own (the session cookie).
	respond func(w http.ResponseWriter, r *http.Request) (any, error)
}

// RouteInfo is one route of the API's table, as documentation and the
// tests of who may call what read it.
type RouteInfo struct {
	Method, Pattern string
	Role            auth.Role
}

// Routes lists the API's route table.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range (&server{}).routes() {
		out = append(out, RouteInfo{Method: rt.Method, Pattern: rt.Pattern, Role: rt.Role})
	}
	return out
}

// conditional lists the GET patterns answered from the state's documents
// alone: they carry an ETag made of the state's revision and answer a
// matching If-None-Match with 304 and no body (see etag.go).
var conditional = map[string]bool{"/api": true, "/api/hosts/{hostname}": true}

// routes is the route table. Methods are checked by endpoint rather than
// ServeMux patterns so that a wrong method gets a JSON 405, like every other
// error.
func (s *server) routes() []route {
	return []route{
		{http.MethodGet, auth.RoleViewer, "/api", s.getDocument, nil},
		{http.MethodGet, auth.RoleViewer, "/api/status", s.getStatus, nil},
		{http.MethodGet, auth.RoleViewer, "/api/logs", s.getLogs, nil},
		{http.MethodGet, auth.RoleViewer, "/api/logs/indexes", s.getLogIndexes, nil},
		{http.MethodGet, auth.RoleViewer, "/api/held", s.getHeld, nil},
		{http.MethodGet, auth.RoleViewer, "/api/groups", s.getGroups, nil},
		{http.MethodGet, auth.RoleViewer, "/api/groups/{group}", s.getGroup, nil},
		{http.MethodGet, auth.RoleViewer, "/api/groups/{group}/logs", s.getGroupLogs, nil},
		{http.MethodGet, auth.RoleViewer, "/api/groups/{group}/probes/{probe}/logs", s.getGroupProbeLogs, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts", s.getHosts, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}", s.getHost, nil},
		{http.MethodDelete, auth.RoleOperator, "/api/hosts/{hostname}", s.deleteHost, nil},
		{http.MethodPost, auth.RoleOperator, "/api/hosts/{hostname}/ack", s.postAck, nil},
		{http.MethodDelete, auth.RoleOperator, "/api/hosts/{hostname}/ack", s.deleteAck, nil},
		{http.MethodGet, auth.RoleViewer, "/api/acks", s.getAcks, nil},
		{http.MethodGet, auth.RoleViewer, "/api/silences", s.getSilences, nil},
		{http.MethodPost, auth.RoleOperator, "/api/silences", s.postSilence, nil},
		{http.MethodPost, auth.RoleOperator, "/api/silences/{id}", s.postSilenceEnd, nil},
		{http.MethodDelete, auth.RoleOperator, "/api/silences/{id}", s.deleteSilence, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/status", s.getHostStatus, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/logs", s.getHostLogs, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/timeline", s.getHostTimeline, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/probes", s.getHostProbes, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/probes/{probe}", s.getHostProbe, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/probes/{probe}/metrics", s.getHostProbeMetrics, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/probes/{probe}/status", s.getHostProbeStatus, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/probes/{probe}/logs", s.getHostProbeLogs, nil},
		{http.MethodGet, auth.RoleViewer, "/api/probes/{probe}/logs", s.getProbeLogs, nil},
		{http.MethodGet, auth.RoleViewer, "/api/authority/hosts", s.getAuthority, nil},
		{http.MethodPost, auth.RoleOperator, "/api/authority/hosts/{uuid}/allow", s.postAllow, nil},
		{http.MethodPost, auth.RoleOperator, "/api/authority/hosts/{uuid}/revoke", s.postRevoke, nil},
		{http.MethodPost, auth.RoleAdmin, "/api/authority/hosts/{uuid}/relay", s.postRelay, nil},
		{http.MethodGet, auth.RoleViewer, "/api/hosts/{hostname}/schedule", s.getSchedule, nil},
		{http.MethodPost, auth.RoleOperator, "/api/hosts/{hostname}/probes/{probe}/run", s.postRun, nil},
		{http.MethodPost, auth.RoleOperator, "/api/hosts/{hostname}/probes/{probe}/disable", s.postDisable, nil},
		{http.MethodPost, auth.RoleOperator, "/api/hosts/{hostname}/probes/{probe}/enable", s.postEnable, nil},
		{Method: http.MethodPost, Role: auth.RoleOperator, Pattern: "/api/hosts/{hostname}/probes/{probe}/interval", respond: s.postInterval},
		{http.MethodGet, auth.RoleNone, "/api/whoami", s.getWhoami, nil},
		{Method: http.MethodPost, Role: auth.RoleNone, Pattern: "/api/login", respond: s.postLogin},
		{Method: http.MethodPost, Role: auth.RoleNone, Pattern: "/api/logout", respond: s.postLogout},
		{http.MethodGet, auth.RoleNone, "/api/openapi.json", s.getOpenAPI, nil},
		{http.MethodGet, auth.RoleAdmin, "/api/tokens", s.getTokens, nil},
		{http.MethodPost, auth.RoleAdmin, "/api/tokens", s.postToken, nil},
		{http.MethodDelete, auth.RoleAdmin, "/api/tokens/{id}", s.deleteToken, nil},
	}
}

// endpoint adapts the routes of one path to net/http: the request's method
// picks the route (a 405 naming the path's methods when none has it), then
// the handler's value or error is written as JSON.
func (s *server) endpoint(routes ...route) http.Handler {
	var methods []string
	for _, rt := range routes {
		methods = append(methods, rt.Method)
		if rt.Method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
	}
	allow := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rt *route
		for i := range routes {
			m := routes[i].Method
			if m == "" || m == r.Method || (m == http.MethodGet && r.Method == http.MethodHead) {
				rt = &routes[i]
				break
			}
		}
		role := auth.RoleViewer // to learn which methods a path has
		if rt != nil {
			role = rt.Role
		}
		if d := auth.Check(r, role); d != nil {
			if d.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="wigo"`)
			}
			s.writeError(w, r, errorf(d.Status, "%s", d.Message))
			return
		}
		if s.version != "" {
			w.Header().Set("X-Wigo-Version", s.version)
		}
		if rt == nil {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s; use %s", r.Method, r.URL.Path, allow))
			return
		}
		var tag string
		if rt.Method == http.MethodGet && conditional[rt.Pattern] {
			// The revision is read before the document is built, so the
			// document is at least as new as its tag says.
			tag = s.etag(r)
			if notModified(r.Header.Values("If-None-Match"), tag) {
				s.writeNotModified(w, tag)
				return
			}
		}
		var v any
		var err error
		if rt.respond != nil {
			v, err = rt.respond(w, r)
		} else {
			v, err = rt.handle(r)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if tag != "" {
			w.Header().Set("ETag", tag)
		}
		s.writeJSON(w, r, http.StatusOK, v)
	})
}

func notFound(r *http.Request) (any, error) {
	return nil, errorf(http.StatusNotFound, "no such route: %s %s", r.Method, r.URL.Path)
}
