package daemon

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/ui"
	"github.com/wigo-project/wigo/core/ws"
)

// handler builds everything the HTTP server answers: the JSON API under
// /api, the websocket at /api/ws and the web UI at /. Every route sits
// behind the same basic auth when a login or password is set. It also
// returns the websocket hub, which the server must close on shutdown.
func (d *Daemon) handler() (http.Handler, *ws.Hub) {
	h := d.cfg.HTTP
	log := d.log.Named("http")
	apiHandler := api.New(api.Options{
		State:    d.state,
		Logs:     d.store,
		Login:    h.Login,
		Password: h.Password,
		Gzip:     h.Gzip,
		Logger:   log,
		Version:  Version,
	})
	hub := ws.New(ws.Options{
		State:  d.state,
		Logger: d.log.Named("ws"),
		// TODO: an http.allowed_origins option in core/config, passed here.
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
	mux.Handle("/", auth(page))
	return mux, hub
}

func (d *Daemon) listen() error {
	h := d.cfg.HTTP
	handler, hub := d.handler()
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
