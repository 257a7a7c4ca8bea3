package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wigo-project/wigo/sdk"
)

const (
	version = "1.0.0"
	// defaultPort is the original's and this project's default http.port.
	defaultPort = 4000
	// defaultMaxResponse bounds one /api answer (after decompression); the
	// original's /api at 1,000 hosts is 6.7 MB.
	defaultMaxResponse = 64 << 20
	// minDuration is the shortest interval or timeout accepted: tests poll
	// fast, but a zero would spin (and the first-poll jitter needs a
	// positive interval).
	minDuration = 10 * time.Millisecond
)

// schema is the transport "pull" block. Attributes of a remote block with
// a null default inherit the block-level value.
func schema() sdk.Schema {
	remote := []sdk.Attribute{
		{Name: "port", Type: sdk.TypeNumber, Description: "HTTP port of the remote (default 4000, or the port in the label)"},
		{Name: "tls", Type: sdk.TypeBool, Description: "poll over HTTPS (default: the block's tls)"},
		{Name: "ca_file", Type: sdk.TypePath, Description: "PEM CA bundle that signs the remote's certificate (default: the block's, else the system roots)"},
		{Name: "login", Type: sdk.TypeString, Description: "basic auth user (default: the block's)"},
		{Name: "password", Type: sdk.TypeString, Description: "basic auth password (default: the block's)"},
		{Name: "depth", Type: sdk.TypeNumber, Description: "levels of the remote's hierarchy to keep: 0 = all, 1 = the remote only (default: the block's)"},
		{Name: "check_interval", Type: sdk.TypeNumber, Description: "seconds between polls (default: the block's)"},
		{Name: "timeout", Type: sdk.TypeNumber, Description: "seconds allowed for one request (default: the block's)"},
		{Name: "control_token", Type: sdk.TypeString, Description: "an operator's API token of the remote, sent with probe control of its hosts (run, disable, enable); the remote must set http.remote_control = true"},
		{Name: "control_token_file", Type: sdk.TypePath, Description: "a file holding control_token (read at start), so the token stays out of the configuration"},
	}
	return sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "check_interval", Type: sdk.TypeNumber, Default: 10, Description: "seconds between polls of each remote"},
			{Name: "tls", Type: sdk.TypeBool, Default: false, Description: "poll over HTTPS"},
			{Name: "ca_file", Type: sdk.TypePath, Default: "", Description: "PEM CA bundle for HTTPS remotes; empty = system roots"},
			{Name: "login", Type: sdk.TypeString, Default: "", Description: "basic auth user; empty = no auth"},
			{Name: "password", Type: sdk.TypeString, Default: "", Description: "basic auth password"},
			{Name: "depth", Type: sdk.TypeNumber, Default: 0, Description: "levels of each remote's hierarchy to keep: 0 = all, 1 = the remote only"},
			{Name: "timeout", Type: sdk.TypeNumber, Default: 10, Description: "seconds allowed for one request (at most check_interval)"},
			{Name: "retries", Type: sdk.TypeNumber, Default: 2, Description: "extra attempts after a connection error or a 5xx, within one interval"},
			{Name: "max_response_size", Type: sdk.TypeNumber, Default: defaultMaxResponse, Description: "largest /api answer accepted, in bytes"},
			{Name: "remotes", Type: sdk.TypeListString, Default: []string{}, Description: `simple form: "host" or "host:port", block defaults apply`},
		},
		Blocks: []sdk.Block{{TypeName: "remote", Label: "address", Body: sdk.Schema{Attributes: remote},
			Description: `one remote; the label is "host" or "host:port"`}},
	}
}

// rawRemote is a remote block as decoded; nil means inherit.
type rawRemote struct {
	Port             *float64 `json:"port"`
	TLS              *bool    `json:"tls"`
	CAFile           *string  `json:"ca_file"`
	Login            *string  `json:"login"`
	Password         *string  `json:"password"`
	Depth            *float64 `json:"depth"`
	CheckInterval    *float64 `json:"check_interval"`
	Timeout          *float64 `json:"timeout"`
	ControlToken     *string  `json:"control_token"`
	ControlTokenFile *string  `json:"control_token_file"`
}

type rawConfig struct {
	CheckInterval   float64              `json:"check_interval"`
	TLS             bool                 `json:"tls"`
	CAFile          string               `json:"ca_file"`
	Login           string               `json:"login"`
	Password        string               `json:"password"`
	Depth           float64              `json:"depth"`
	Timeout         float64              `json:"timeout"`
	Retries         float64              `json:"retries"`
	MaxResponseSize float64              `json:"max_response_size"`
	Remotes         []string             `json:"remotes"`
	Remote          map[string]rawRemote `json:"remote"`
}

// remote is one polled instance, fully resolved.
type remote struct {
	label    string
	addr     string // host:port
	url      string
	tls      *tls.Config // nil for plain HTTP
	login    string
	password string
	depth    int
	interval time.Duration
	timeout  time.Duration
	// base is the remote's API root ("http://host:port/api").
	base string
	// controlToken is sent (Bearer) with probe control of the remote's
	// hosts; empty: none is forwarded. Never logged.
	controlToken string
}

type config struct {
	remotes     []*remote
	retries     int
	maxResponse int64
}

// parseConfig resolves the block into remotes, reading CA files now so a
// missing file is a configuration error, not a failed poll every interval.
func parseConfig(c sdk.Config) (*config, error) {
	var raw rawConfig
	if err := c.Decode(&raw); err != nil {
		return nil, err
	}
	if raw.CheckInterval <= 0 {
		return nil, fmt.Errorf("check_interval = %v: must be a positive number of seconds", raw.CheckInterval)
	}
	if raw.Timeout <= 0 {
		return nil, fmt.Errorf("timeout = %v: must be a positive number of seconds", raw.Timeout)
	}
	if raw.Retries < 0 || raw.Retries > 10 {
		return nil, fmt.Errorf("retries = %v: must be between 0 and 10", raw.Retries)
	}
	if raw.MaxResponseSize < 1024 {
		return nil, fmt.Errorf("max_response_size = %v: must be at least 1024 bytes", raw.MaxResponseSize)
	}
	cfg := &config{retries: int(raw.Retries), maxResponse: int64(raw.MaxResponseSize)}
	pools := map[string]*x509.CertPool{}
	byAddr := map[string]string{}
	add := func(label string, r rawRemote) error {
		host, port, err := splitLabel(label)
		if err != nil {
			return err
		}
		if r.Port != nil {
			if *r.Port != float64(int(*r.Port)) || *r.Port < 1 || *r.Port > 65535 {
				return fmt.Errorf("remote %q: port = %v: must be 1-65535", label, *r.Port)
			}
			port = int(*r.Port)
		}
		rm := &remote{label: label, addr: net.JoinHostPort(host, strconv.Itoa(port)),
			login: pick(r.Login, raw.Login), password: pick(r.Password, raw.Password)}
		depth := pick(r.Depth, raw.Depth)
		if depth < 0 || depth != float64(int(depth)) {
			return fmt.Errorf("remote %q: depth = %v: must be a whole number, 0 for all levels", label, depth)
		}
		rm.depth = int(depth)
		interval := pick(r.CheckInterval, raw.CheckInterval)
		if seconds(interval) < minDuration {
			return fmt.Errorf("remote %q: check_interval = %v: must be at least %v seconds", label, interval, minDuration.Seconds())
		}
		rm.interval = seconds(interval)
		timeout := pick(r.Timeout, raw.Timeout)
		if seconds(timeout) < minDuration {
			return fmt.Errorf("remote %q: timeout = %v: must be at least %v seconds", label, timeout, minDuration.Seconds())
		}
		// A request outliving the interval would overlap the next poll.
		rm.timeout = min(seconds(timeout), rm.interval)
		scheme := "http"
		if pick(r.TLS, raw.TLS) {
			scheme = "https"
			rm.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
			if ca := pick(r.CAFile, raw.CAFile); ca != "" {
				pool, ok := pools[ca]
				if !ok {
					if pool, err = loadPool(ca); err != nil {
						return fmt.Errorf("remote %q: %w", label, err)
					}
					pools[ca] = pool
				}
				rm.tls.RootCAs = pool
			}
		}
		rm.base = scheme + "://" + rm.addr + "/api"
		rm.url = rm.base
		if rm.controlToken, err = controlToken(label, r); err != nil {
			return err
		}
		if other, dup := byAddr[rm.addr]; dup {
			return fmt.Errorf("remote %q: same address %s as remote %q", label, rm.addr, other)
		}
		byAddr[rm.addr] = label
		cfg.remotes = append(cfg.remotes, rm)
		return nil
	}
	var errs []error
	for _, l := range raw.Remotes {
		errs = append(errs, add(l, rawRemote{}))
	}
	labels := make([]string, 0, len(raw.Remote))
	for l := range raw.Remote {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		errs = append(errs, add(l, raw.Remote[l]))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// splitLabel accepts "host", "host:port", "[v6]:port" and a bare IPv6.
func splitLabel(label string) (string, int, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		return "", 0, errors.New("remote with an empty address")
	}
	if strings.Contains(label, "/") {
		return "", 0, fmt.Errorf("remote %q: give host or host:port, not a URL", label)
	}
	host, p, err := net.SplitHostPort(label)
	if err != nil {
		// No port (or a bare IPv6 address).
		return strings.Trim(label, "[]"), defaultPort, nil
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || host == "" {
		return "", 0, fmt.Errorf("remote %q: bad host:port", label)
	}
	return host, port, nil
}

// controlToken is the remote's control_token, or the content of its
// control_token_file; the error never quotes the token.
func controlToken(label string, r rawRemote) (string, error) {
	tok, file := pick(r.ControlToken, ""), pick(r.ControlTokenFile, "")
	switch {
	case tok != "" && file != "":
		return "", fmt.Errorf("remote %q: give control_token or control_token_file, not both", label)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("remote %q: control_token_file: %w", label, err)
		}
		tok = strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("remote %q: control_token_file %s is empty", label, file)
		}
	}
	if strings.ContainsFunc(tok, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return "", fmt.Errorf("remote %q: the control token holds spaces or control characters", label)
	}
	return tok, nil
}

func pick[T any](v *T, def T) T {
	if v != nil {
		return *v
	}
	return def
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate found", path)
	}
	return pool, nil
}
