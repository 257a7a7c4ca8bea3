// Package ui serves Wigo's web dashboard: plain HTML, CSS and one vanilla
// JavaScript module embedded in the binary, so building or running the
// daemon needs no Node.js and no network.
//
// Caching: index.html is answered with "Cache-Control: no-cache" and an
// ETag, so browsers revalidate it on every load (a 304 costs nothing) and
// pick up a new daemon's UI at once. Every other file is served under a
// content-hashed name (app.3f2a9c1b.js), computed at start-up from the
// embedded bytes, with a one-year immutable lifetime; index.html's
// references are rewritten to those names at the same time. A new build
// changes the hash, hence the URL, so a stale asset can never be used.
//
// The page talks to the daemon only through the JSON API under /api and
// the websocket at /api/ws (package ws); see static/app.js.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// asset is one file ready to serve.
type asset struct {
	name  string // as served, e.g. "app.1a2b3c4d.js"
	data  []byte
	etag  string
	ctype string
}

// Handler serves the dashboard: "/" (and "/index.html") is the page,
// "/assets/<hashed name>" its files. Anything else is a 404, so a mistyped
// API path does not come back as HTML.
type Handler struct {
	index  asset
	login  asset
	assets map[string]asset // by served name
	// Paths maps each embedded file name (e.g. "app.js") to the URL path it
	// is served at, for tests and for the daemon's log.
	Paths map[string]string
}

// New prepares the handler: it hashes every embedded asset and rewrites
// index.html to point at the hashed names. It panics on a broken embed,
// which is a build bug, not a run-time condition.
func New() *Handler {
	h, err := build(static)
	if err != nil {
		panic("ui: " + err.Error())
	}
	return h
}

func build(fsys fs.FS) (*Handler, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	h := &Handler{assets: map[string]asset{}, Paths: map[string]string{}}
	index, err := fs.ReadFile(root, "index.html")
	if err != nil {
		return nil, err
	}
	login, err := fs.ReadFile(root, "login.html")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "index.html" || p == "login.html" {
			return err
		}
		data, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(p)
		served := strings.TrimSuffix(p, ext) + "." + hash + ext
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		h.assets[served] = asset{name: served, data: data, etag: `"` + hash + `"`, ctype: ctype}
		h.Paths[p] = "/assets/" + served
		// The pages refer to assets as "assets/NAME" (relative, so they
		// work behind a reverse proxy under a sub-path).
		ref := []byte(`"assets/` + p + `"`)
		index = bytes.ReplaceAll(index, ref, []byte(`"assets/`+served+`"`))
		login = bytes.ReplaceAll(login, ref, []byte(`"assets/`+served+`"`))
		return nil
	})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(index)
	h.index = asset{name: "index.html", data: index, etag: `"` + hex.EncodeToString(sum[:])[:16] + `"`, ctype: "text/html; charset=utf-8"}
	h.Paths["index.html"] = "/"
	sum = sha256.Sum256(login)
	h.login = asset{name: "login.html", data: login, etag: `"` + hex.EncodeToString(sum[:])[:16] + `"`, ctype: "text/html; charset=utf-8"}
	h.Paths["login.html"] = "/login"
	return h, nil
}

// ServeHTTP answers GET and HEAD for the page and its assets.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The security headers (nosniff, the content security policy) are the
	// edge's, set for every route in one place.
	hdr := w.Header()
	switch {
	case r.URL.Path == "/" || r.URL.Path == "/index.html":
		hdr.Set("Cache-Control", "no-cache")
		serve(w, r, h.index)
	case r.URL.Path == "/login":
		hdr.Set("Cache-Control", "no-cache")
		serve(w, r, h.login)
	case strings.HasPrefix(r.URL.Path, "/assets/"):
		a, ok := h.assets[strings.TrimPrefix(r.URL.Path, "/assets/")]
		if !ok {
			// An old page asking for an asset of a previous build: 404,
			// and never cache the miss.
			hdr.Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
		serve(w, r, a)
	default:
		http.NotFound(w, r)
	}
}

func serve(w http.ResponseWriter, r *http.Request, a asset) {
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("ETag", a.etag)
	// ServeContent answers If-None-Match with 304 and handles HEAD and
	// ranges; a zero modtime keeps Last-Modified out (the ETag is exact).
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.data))
}
