package daemon

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/edge"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/core/ui"
	"github.com/wigo-project/wigo/core/ws"
)

// handler builds everything the HTTP server answers: the JSON API under
// /api, the websocket at /api/ws and the web UI at /. Every route sits
// behind the edge guard (security headers, Host check, cross-site check)
// and the identity check (core/auth), and needs a role. It also returns
// the websocket hub, which the server must close on shutdown.
func (d *Daemon) handler() (http.Handler, *ws.Hub, error) {
	h := d.cfg.HTTP
	log := d.log.Named("http")
	hosts := h.AllowedHosts
	if len(hosts) == 0 {
		self, _ := os.Hostname()
		hosts = edge.DefaultHosts(h.Address, d.cfg.Hostname, self)
	}
	guard, err := edge.New(edge.Options{AllowedHosts: hosts, AllowedOrigins: h.AllowedOrigins, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	authn := d.authenticator(log)
	apiHandler := d.newAPI(authn, log)
	hub := ws.New(ws.Options{
		State:          d.state,
		Acks:           d.decider.Acks,
		Silences:       d.decider.Silences,
		Soft:           d.decider.SoftStates,
		Logger:         d.log.Named("ws"),
		AllowedOrigins: h.AllowedOrigins,
	})
	page := ui.New()
	d.routes = []route{
		{"/api/ws", auth.RoleViewer, auth.RoleViewer, hub},
		{"/api/notifications", auth.RoleViewer, auth.RoleOperator, d.notify.Handler()},
		{"/api/notifications/", auth.RoleViewer, auth.RoleOperator, d.notify.Handler()},
		{"GET /api/plugins", auth.RoleViewer, auth.RoleViewer, http.HandlerFunc(d.servePlugins)},
		{"GET /api/cluster", auth.RoleViewer, auth.RoleViewer, http.HandlerFunc(d.serveCluster)},
		{"GET /metrics", auth.RoleViewer, auth.RoleViewer, d.metricsHandler(hub, pushAuthority(d.plugins))},
		// The login page and the files it and the dashboard load hold no
		// data: anyone may load them.
		{"/login", auth.RoleNone, auth.RoleNone, page},
		{"/assets/", auth.RoleNone, auth.RoleNone, page},
		{"/", auth.RoleViewer, auth.RoleViewer, page},
	}
	mux := http.NewServeMux()
	// The API checks the role of each of its routes (its route table),
	// and answers JSON errors and 404s for all of /api.
	mux.Handle("/api", apiHandler)
	mux.Handle("/api/", apiHandler)
	for _, rt := range d.routes {
		read, write := authn.Require(rt.read, rt.handler), authn.Require(rt.write, rt.handler)
		if rt.pattern == "/" {
			read = loginFirst(read)
		}
		mux.Handle(rt.pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				read.ServeHTTP(w, r)
				return
			}
			write.ServeHTTP(w, r)
		}))
	}
	return guard.Wrap(authn.Middleware(mux)), hub, nil
}

// newAPI builds the API handler, and has the transports carry out the
// probe control they receive (a push client's master asking) through it.
func (d *Daemon) newAPI(authn *auth.Authenticator, log hclog.Logger) http.Handler {
	d.remote = newRemoteControl(d.plugins, d.cfg)
	var remote api.RemoteControl
	if d.remote != nil { // not a typed nil in the interface
		remote = d.remote
	}
	a := api.New(api.Options{
		Auth:            authn,
		Tokens:          d.store,
		Probes:          d.probe,
		Remote:          remote,
		AcceptForwarded: d.cfg.HTTP.RemoteControl,
		State:           d.state,
		Authority:       pushAuthority(d.plugins),
		Decider:         d.decider,
		EndSilence:      d.EndSilence,
		Flush:           d.store.Flush,
		Logs:            d.store,
		History:         d.store,
		Now:             d.clock.Now,
		Gzip:            d.cfg.HTTP.Gzip,
		Logger:          log,
		Version:         Version,
	})
	if d.transport != nil {
		d.transport.SetControl(replayControl(a))
	}
	return a
}

// loginFirst sends a browser that opens the dashboard without credentials
// to the login page (instead of the 401 and the browser's basic-auth
// prompt that a script gets): the dashboard is a viewer's.
func loginFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := auth.Check(r, auth.RoleViewer); d != nil && d.Status == http.StatusUnauthorized && r.URL.Path == "/" && r.Method == http.MethodGet {
			// Relative, as the page's own links: behind a proxy under a
			// sub-path it stays there.
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Location", "login")
			w.WriteHeader(http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// route is one of the routes the daemon serves besides the API's: the
// role reading it (GET, HEAD) needs, and the role any other method needs.
type route struct {
	pattern     string
	read, write auth.Role
	handler     http.Handler
}

// authenticator is who may do what, from the configuration: the users,
// the original's single login (an admin), API tokens, the trusted proxy.
// Without any of them an instance behaves as before roles: anyone reads,
// and the machine itself (loopback) may change anything; with one,
// requests without credentials get anonymous_role (default none), the
// loopback address included.
func (d *Daemon) authenticator(log hclog.Logger) *auth.Authenticator {
	h := d.cfg.HTTP
	opts := auth.Options{Login: h.Login, Password: h.Password, Tokens: d.store, Deny: edge.Refuse, SecureCookies: h.TLS(),
		Now: d.clock.Now, Logger: log.Named("auth")}
	for _, u := range d.cfg.Users {
		opts.Users = append(opts.Users, auth.User{Name: u.Name, PasswordHash: u.PasswordHash, Role: u.Role})
	}
	if p := h.TrustedProxy; p != nil {
		opts.Proxy = &auth.Proxy{Header: p.Header, RoleHeader: p.RoleHeader, DefaultRole: p.DefaultRole, From: p.From}
	}
	credentials := h.Login != "" || len(d.cfg.Users) > 0 || h.TrustedProxy != nil
	opts.Anonymous, opts.Local = auth.RoleViewer, auth.RoleAdmin
	if credentials {
		opts.Anonymous, opts.Local = auth.RoleNone, auth.RoleNone
	}
	if h.AnonymousRole == "viewer" {
		opts.Anonymous = auth.RoleViewer
		opts.Local = max(opts.Local, auth.RoleViewer)
	} else if h.AnonymousRole == "none" {
		opts.Anonymous = auth.RoleNone
	}
	return auth.New(opts)
}

// pluginHealth is one entry of GET /api/plugins: the plugin process's
// health and, for a notifier, how its deliveries go.
type pluginHealth struct {
	plugin.InstanceHealth
	Delivery *notify.InstanceHealth `json:"delivery,omitempty"`
}

// servePlugins answers every plugin instance with its state (running,
// restarting, failed), restarts and last error; a notifier's entry adds
// its delivery health (healthy, degraded, failing, with its last success,
// last failure and error, failures in a row, pending and dead rows).
func (d *Daemon) servePlugins(w http.ResponseWriter, r *http.Request) {
	delivery := map[string]notify.InstanceHealth{}
	if d.notify != nil {
		for _, h := range d.notify.Health() {
			delivery[h.Instance] = h
		}
	}
	out := []pluginHealth{}
	for _, h := range d.plugins.Health() {
		e := pluginHealth{InstanceHealth: h}
		if dh, ok := delivery[h.Instance]; ok && h.Kind == config.KindNotify {
			e.Delivery = &dh
		}
		out = append(out, e)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(out)
}

func (d *Daemon) listen() error {
	h := d.cfg.HTTP
	handler, hub, err := d.handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", h.Addr())
	if err != nil {
		return fmt.Errorf("http listen on %s: %w", h.Addr(), err)
	}
	if h.TLS() {
		cert, err := tls.LoadX509KeyPair(h.TLSCert, h.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate %s and key %s: %w", h.TLSCert, h.TLSKey, err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	d.listener = ln
	d.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          d.log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	// Shutdown does not touch hijacked connections: close the websockets
	// ourselves so browsers see the daemon go away (and reconnect).
	d.server.RegisterOnShutdown(hub.Close)
	return nil
}
