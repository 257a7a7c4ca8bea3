package daemon

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/api"
)

// handler builds everything the HTTP server answers. New routes (websocket,
// web UI, plugin health) are mounted here, each behind the same auth.
func (d *Daemon) handler() http.Handler {
	h := d.cfg.HTTP
	return api.New(api.Options{
		State:    d.state,
		Logs:     d.store,
		Login:    h.Login,
		Password: h.Password,
		Gzip:     h.Gzip,
		Logger:   d.log.Named("http"),
		Version:  Version,
	})
}

func (d *Daemon) listen() error {
	h := d.cfg.HTTP
	handler := d.handler()
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
	return nil
}
