package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxBody caps what we read from the API. GET /api is ~6.7 MB at 1,000 hosts
// on the original; 256 MiB leaves room for tens of thousands of hosts while
// still refusing to eat all memory if pointed at something that never ends.
const maxBody = 256 << 20

// client is a configured connection to one instance's API.
type client struct {
	base     *url.URL // scheme, host and optional path prefix; never userinfo
	user     string
	password string
	token    string
	auth     bool
	timeout  time.Duration
	http     *http.Client
}

// newClient builds the HTTP client the options describe.
func newClient(o *options) (*client, error) {
	base, user, password, err := parseBase(o.host)
	if err != nil {
		return nil, err
	}
	c := &client{base: base, user: o.user, password: o.password, token: o.token, timeout: o.timeout}
	// Credentials written into an -H URL are honoured, but the flags win.
	if c.user == "" && c.password == "" {
		c.user, c.password = user, password
	}
	c.auth = c.user != "" || c.password != "" || c.token != ""

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Only when asked for with -k: the operator takes the risk knowingly.
		InsecureSkipVerify: o.insecure, //nolint:gosec
	}
	c.http = &http.Client{Transport: tr, Timeout: o.timeout}
	return c, nil
}

// parseBase turns -H into a base URL. It accepts host:port, a bare host or
// IPv6 address (port 4000, the daemon's default), or a full http(s) URL whose
// path, if any, is kept as a prefix so an instance behind a reverse proxy at
// https://example.org/wigo works. Userinfo in the URL is returned separately
// and removed, so no URL we print ever carries a password.
func parseBase(s string) (base *url.URL, user, password string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, "", "", errors.New("empty address")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, "", "", fmt.Errorf("%q is not a valid URL: %v", s, err)
		}
		u.Scheme = strings.ToLower(u.Scheme)
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, "", "", fmt.Errorf("unsupported scheme %q in %q: use http:// or https://", u.Scheme, s)
		}
		if u.Host == "" {
			return nil, "", "", fmt.Errorf("no host in %q", s)
		}
		if p := u.Port(); p != "" {
			if err := checkPort(p); err != nil {
				return nil, "", "", err
			}
		}
		if u.User != nil {
			user = u.User.Username()
			password, _ = u.User.Password()
			u.User = nil
		}
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = strings.TrimRight(u.RawPath, "/")
		u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
		return u, user, password, nil
	}
	if strings.ContainsAny(s, "/?#@ ") {
		return nil, "", "", fmt.Errorf("%q is neither host:port nor an http(s):// URL", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port (or a bare IPv6 address, whose colons confuse
		// SplitHostPort): the daemon's default port.
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), "4000"
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if err := checkPort(port); err != nil {
		return nil, "", "", err
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}, "", "", nil
}

func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("bad port %q", p)
	}
	return nil
}

// endpoint is the URL of an API route: segments are path-escaped one by one,
// so a host or probe name with "/", "?" or spaces stays one segment.
func (c *client) endpoint(query url.Values, segments ...string) string {
	var b strings.Builder
	b.WriteString(c.base.String())
	b.WriteString("/api")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	if len(query) > 0 {
		b.WriteByte('?')
		b.WriteString(query.Encode())
	}
	return b.String()
}

// response is a successful API answer.
type response struct {
	url         string
	body        []byte
	contentType string
}

// httpError is a non-2xx answer. Commands inspect Code (a 404 means "no such
// host/probe" to them) before the message reaches the user.
type httpError struct {
	method string
	url    string
	code   int
	status string
	body   string
	auth   bool // credentials were sent
	user   string
	bearer bool // they were a token
}

func (e *httpError) Error() string {
	switch e.code {
	case http.StatusUnauthorized:
		if e.bearer {
			return fmt.Sprintf("%s %s: authentication failed (401): the token in $WIGO_TOKEN is not valid (revoked or expired?)", e.method, e.url)
		}
		if e.auth {
			return fmt.Sprintf("%s %s: authentication failed (401) for login %q: check -u and -p", e.method, e.url, e.user)
		}
		return fmt.Sprintf("%s %s: authentication required: use -u and -p", e.method, e.url)
	case http.StatusForbidden:
		return fmt.Sprintf("%s %s: access denied (403)%s", e.method, e.url, bodyNote(e.body))
	case http.StatusBadRequest:
		if strings.Contains(e.body, "HTTP request to an HTTPS server") {
			return fmt.Sprintf("%s %s: the server speaks HTTPS: use -H https://…", e.method, e.url)
		}
	}
	return fmt.Sprintf("%s %s: the server answered %s%s", e.method, e.url, e.status, bodyNote(e.body))
}

// bodyNote quotes the start of an error body, which often says why.
func bodyNote(body string) string {
	body = strings.TrimSpace(body)
	if body == "" {
		return ""
	}
	return ": " + snippet([]byte(body))
}

// snippet is the first bytes of an answer, made safe to print: enough to
// recognise an HTML error page or a proxy's message.
func snippet(b []byte) string {
	const max = 160
	s := strings.TrimSpace(string(b))
	cut := false
	if len(s) > max {
		s, cut = s[:max], true
	}
	s = clean(s)
	if cut {
		s += "…"
	}
	return s
}

// get fetches one API route. Any failure comes back as an error that names
// the URL and says what went wrong in words an operator can act on.
func (c *client) get(ctx context.Context, query url.Values, segments ...string) (*response, error) {
	return c.do(ctx, http.MethodGet, query, nil, segments...)
}

// do sends method to one API route, with form as its body when not nil. A
// change (any method but GET) carries X-Wigo-Request, which tells the
// server it is no forged browser request.
func (c *client) do(ctx context.Context, method string, query, form url.Values, segments ...string) (*response, error) {
	u := c.endpoint(query, segments...)
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, u, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "wigocli/"+buildVersion())
	if method != http.MethodGet {
		req.Header.Set("X-Wigo-Request", "1")
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	switch {
	case c.user != "" || c.password != "":
		req.SetBasicAuth(c.user, c.password)
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s", method, u, c.describeTransportError(err))
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %s", method, u, c.describeTransportError(err))
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("%s %s: the answer is larger than %d MiB, giving up", method, u, maxBody>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &httpError{method: method, url: u, code: resp.StatusCode, status: resp.Status, body: string(b), auth: c.auth, user: c.user, bearer: c.user == "" && c.password == "" && c.token != ""}
	}
	return &response{url: u, body: b, contentType: resp.Header.Get("Content-Type")}, nil
}

// describeTransportError turns a client error into a sentence with a hint,
// without repeating the URL (the caller prefixes it).
func (c *client) describeTransportError(err error) string {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return fmt.Sprintf("no answer within %s (see -timeout)", c.timeout)
	case errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &badHost) || errors.As(err, &badCert):
		return fmt.Sprintf("the TLS certificate was not accepted: %v (fix the certificate, or use -k to skip verification)", inner)
	case strings.Contains(inner.Error(), "server gave HTTP response to HTTPS client"):
		return "the server speaks plain HTTP: use -H http://…"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: is wigo running and listening there?"
	}
	return inner.Error()
}
