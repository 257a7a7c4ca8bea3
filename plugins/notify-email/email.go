package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/wigo-project/wigo/sdk"
)

const version = "1.0.0"

// TLS modes.
const (
	tlsStartTLS      = "starttls"      // STARTTLS required: refuse a server without it
	tlsOpportunistic = "opportunistic" // STARTTLS when offered, plain otherwise
	tlsImplicit      = "implicit"      // TLS from the first byte (port 465)
	tlsNone          = "none"          // never TLS, e.g. a local relay
)

// config is the decoded notify block; json tags are the attribute names.
type config struct {
	SMTPServer         string   `json:"smtp_server"`
	TLS                string   `json:"tls"`
	InsecureSkipVerify bool     `json:"insecure_skip_verify"`
	Username           string   `json:"username"`
	Password           string   `json:"password"`
	FromName           string   `json:"from_name"`
	FromAddress        string   `json:"from_address"`
	To                 []string `json:"to"`
	DashboardURL       string   `json:"dashboard_url"`
	Timeout            string   `json:"timeout"`
}

// notifier sends one mail per notification, opening a connection each time:
// notifications are rare and a kept-alive SMTP session would time out.
type notifier struct {
	mu      sync.Mutex
	cfg     config
	host    string
	port    int
	timeout time.Duration
}

var _ sdk.Notifier = (*notifier)(nil)

// Schema implements sdk.Notifier.
func (*notifier) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "smtp_server", Type: sdk.TypeString, Required: true,
			Description: `host:port of the SMTP server; the port defaults to 465 with tls = "implicit", 25 otherwise.`},
		{Name: "tls", Type: sdk.TypeString, Default: tlsStartTLS,
			Description: `"starttls" (required, the default), "opportunistic" (STARTTLS when offered), "implicit" (TLS from the start) or "none".`},
		{Name: "insecure_skip_verify", Type: sdk.TypeBool, Default: false, Description: "Accept any TLS certificate; for test setups only."},
		{Name: "username", Type: sdk.TypeString, Default: "", Description: "SMTP login; no authentication when empty."},
		{Name: "password", Type: sdk.TypeString, Default: "", Description: "SMTP password."},
		{Name: "from_name", Type: sdk.TypeString, Default: "Wigo", Description: "Display name of the sender."},
		{Name: "from_address", Type: sdk.TypeString, Required: true, Description: "Sender address."},
		{Name: "to", Type: sdk.TypeListString, Required: true, Description: "Recipient addresses."},
		{Name: "dashboard_url", Type: sdk.TypeString, Default: "", Description: "When set, the mail ends with a link to the dashboard."},
		{Name: "timeout", Type: sdk.TypeString, Default: "30s", Description: `Time allowed for one mail, a Go duration or a number of seconds.`},
	}}
}

// Configure implements sdk.Notifier.
func (n *notifier) Configure(_ context.Context, c sdk.Config) error {
	var cfg config
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	switch cfg.TLS {
	case tlsStartTLS, tlsOpportunistic, tlsImplicit, tlsNone:
	default:
		return fmt.Errorf("tls %q: want %q, %q, %q or %q", cfg.TLS, tlsStartTLS, tlsOpportunistic, tlsImplicit, tlsNone)
	}
	host, port, err := splitServer(cfg.SMTPServer, cfg.TLS)
	if err != nil {
		return err
	}
	if _, err := mail.ParseAddress(cfg.FromAddress); err != nil {
		return fmt.Errorf("from_address %q: %w", cfg.FromAddress, err)
	}
	if len(cfg.To) == 0 {
		return errors.New("to: give at least one recipient")
	}
	for _, a := range cfg.To {
		if _, err := mail.ParseAddress(a); err != nil {
			return fmt.Errorf("to %q: %w", a, err)
		}
	}
	if cfg.Password != "" && cfg.Username == "" {
		return errors.New("password is set without username")
	}
	if cfg.DashboardURL != "" {
		if u, err := url.Parse(cfg.DashboardURL); err != nil || u.Host == "" {
			return fmt.Errorf("dashboard_url %q: want an absolute URL", cfg.DashboardURL)
		}
	}
	timeout, err := sdk.ParseDuration("timeout", cfg.Timeout)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg, n.host, n.port, n.timeout = cfg, host, port, timeout
	return nil
}

func splitServer(s, mode string) (string, int, error) {
	host, portS, err := net.SplitHostPort(s)
	if err != nil {
		// No port: use the one the TLS mode implies.
		host, portS = s, "25"
		if mode == tlsImplicit {
			portS = "465"
		}
	}
	port, perr := strconv.Atoi(portS)
	if host == "" || strings.ContainsAny(host, " /") || perr != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("smtp_server %q: want host:port", s)
	}
	return host, port, nil
}

// body is the summary (or the message when there is none) and the link to
// the dashboard.
func body(cfg config, note *sdk.Notification) string {
	text := strings.TrimSpace(note.Summary)
	if text == "" {
		text = note.Message
	}
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\n")
	if len(note.HostProbesInError) > 0 {
		fmt.Fprintf(&b, "\nProbes in error on %s: %s\n", note.Hostname, strings.Join(note.HostProbesInError, ", "))
	}
	if cfg.DashboardURL != "" {
		fmt.Fprintf(&b, "\nDashboard: %s\n", cfg.DashboardURL)
	}
	return b.String()
}

// Notify implements sdk.Notifier.
func (n *notifier) Notify(ctx context.Context, note *sdk.Notification) error {
	n.mu.Lock()
	cfg, host, port, timeout := n.cfg, n.host, n.port, n.timeout
	n.mu.Unlock()
	if host == "" {
		return errors.New("not configured")
	}
	msg := gomail.NewMsg()
	if err := msg.FromFormat(cfg.FromName, cfg.FromAddress); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := msg.To(cfg.To...); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	subject := note.Message
	if subject == "" {
		subject = fmt.Sprintf("Wigo: %s %s", note.Hostname, note.NewLevel)
	}
	msg.Subject(subject)
	if note.EventId != "" {
		// Lets a mail client thread retries of one event together.
		msg.SetGenHeader("X-Wigo-Event-Id", note.EventId)
	}
	msg.SetBodyString(gomail.TypeTextPlain, body(cfg, note))

	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: host, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12})} //nolint:gosec // opt-in
	switch cfg.TLS {
	case tlsStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case tlsOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case tlsImplicit:
		opts = append(opts, gomail.WithSSL())
	case tlsNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.Username != "" {
		// Discovery only picks mechanisms safe over the connection; without
		// TLS that leaves none, so PLAIN is named, which go-mail still only
		// allows towards localhost.
		mech := gomail.SMTPAuthAutoDiscover
		if cfg.TLS == tlsNone {
			mech = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(mech),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail via %s:%d: %w", host, port, err)
	}
	return nil
}
