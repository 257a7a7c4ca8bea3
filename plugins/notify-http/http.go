package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/wigo-project/wigo/sdk"
)

const version = "1.0.0"

// Body formats.
const (
	formatForm = "form" // the original Wigo's: Notification=<json>, form-encoded
	formatJSON = "json" // the JSON as the request body
)

// config is the decoded notify block; json tags are the attribute names.
type config struct {
	URL                string            `json:"url"`
	Format             string            `json:"format"`
	Timeout            string            `json:"timeout"`
	Headers            map[string]string `json:"headers"`
	InsecureSkipVerify bool              `json:"insecure_skip_verify"`
}

// notifier posts notifications; Configure may run again after a restart of
// the process, never concurrently with Notify.
type notifier struct {
	mu     sync.Mutex
	cfg    config
	client *http.Client
}

var _ sdk.Notifier = (*notifier)(nil)

// Schema implements sdk.Notifier.
func (*notifier) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "url", Type: sdk.TypeString, Required: true, Description: "Where to POST (http or https)."},
		{Name: "format", Type: sdk.TypeString, Default: formatForm,
			Description: `"form": the form field Notification=<json>, as the original Wigo sent it; "json": the JSON as the body.`},
		{Name: "timeout", Type: sdk.TypeString, Default: "10s",
			Description: `Time allowed for one request, a Go duration ("10s") or a number of seconds.`},
		{Name: "headers", Type: sdk.TypeMapString, Default: map[string]string{}, Description: "Extra request headers."},
		{Name: "insecure_skip_verify", Type: sdk.TypeBool, Default: false,
			Description: "Accept any TLS certificate; for test setups only."},
	}}
}

// Configure implements sdk.Notifier.
func (n *notifier) Configure(_ context.Context, c sdk.Config) error {
	var cfg config
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sdk.AttributeError("url", fmt.Sprintf("%q is not an absolute http:// or https:// URL.", cfg.URL))
	}
	if cfg.Format != formatForm && cfg.Format != formatJSON {
		return sdk.AttributeError("format", fmt.Sprintf("%q is not a format: want %q or %q.", cfg.Format, formatForm, formatJSON))
	}
	timeout, err := sdk.ParseDuration("timeout", cfg.Timeout)
	if err != nil {
		return err
	}
	for k := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return fmt.Errorf("headers: %q is not a header name", k)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = batchPosts // a batch's POSTs reuse their connections
	if cfg.InsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the operator asked for it
		sdk.Logger().Warn("TLS certificate verification is off", "instance", c.Instance(), "url", cfg.URL)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg = cfg
	n.client = &http.Client{Timeout: timeout, Transport: tr}
	return nil
}

// Notify implements sdk.Notifier: one POST, any status outside 2xx is an
// error so that the host retries.
func (n *notifier) Notify(ctx context.Context, note *sdk.Notification) error {
	n.mu.Lock()
	cfg, client := n.cfg, n.client
	n.mu.Unlock()
	if client == nil {
		return errors.New("not configured")
	}
	payload, err := json.Marshal(note)
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	var body io.Reader
	contentType := "application/json"
	if cfg.Format == formatForm {
		body = strings.NewReader(url.Values{"Notification": {string(payload)}}.Encode())
		contentType = "application/x-www-form-urlencoded"
	} else {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "wigo-notify-http/"+version)
	for k, v := range cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", redact(cfg.URL), err)
	}
	defer resp.Body.Close()
	// Read a little of the answer: it is the only clue when a receiver
	// refuses, and draining lets the connection be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post %s: %s: %s", redact(cfg.URL), resp.Status, strings.TrimSpace(string(snippet)))
	}
	return nil
}

// redact drops credentials from a URL before it is logged or returned.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	return u.Redacted()
}
