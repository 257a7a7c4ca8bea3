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
// and the same basic auth when a login or password is set. It also returns
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
	apiHandler := api.New(api.Options{
		State:      d.state,
		Authority:  pushAuthority(d.plugins, d.cfg),
		Decider:    d.decider,
		EndSilence: d.EndSilence,
		Flush:      d.store.Flush,
		Logs:       d.store,
		Login:      h.Login,
		Password:   h.Password,
		Gzip:       h.Gzip,
		Logger:     log,
		Version:    Version,
	})
	hub := ws.New(ws.Options{
		State:          d.state,
		Acks:           d.decider.Acks,
		Silences:       d.decider.Silences,
		Logger:         d.log.Named("ws"),
		AllowedOrigins: h.AllowedOrigins,
	})
	page := ui.New()
	auth := func(next http.Handler) http.Handler {
		if h.Login == "" && h.Password == "" {
			return next
		}
		return api.RequireBasicAuth(h.Login, h.Password, next, nil)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/ws", auth(hub))
	// The API keeps its own auth, JSON errors and 404s for all of /api.
	mux.Handle("/api", apiHandler)
	mux.Handle("/api/", apiHandler)
	mux.Handle("/api/notifications", auth(d.notify.Handler()))
	mux.Handle("/api/notifications/", auth(d.notify.Handler()))
	mux.Handle("GET /api/plugins", auth(http.HandlerFunc(d.servePlugins)))
	mux.Handle("GET /metrics", auth(d.metricsHandler(hub, pushAuthority(d.plugins, d.cfg))))
	mux.Handle("/", auth(page))
	return guard.Wrap(localWritesOnly(h.Login != "" || h.Password != "", mux)), hub, nil
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

// localWritesOnly refuses mutating requests (approving a push client,
// retrying a notification) from other hosts when no login is configured:
// an instance left without credentials can be read from the network, but
// only changed from the machine itself.
func localWritesOnly(authConfigured bool, next http.Handler) http.Handler {
	if authConfigured {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !fromLoopback(r) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"error": "changes from another host need authentication: set http.login and http.password"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
