package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wigo-project/wigo/sdk"
)

const version = "1.0.0"

// target is a named routing rule: its URLs are notified for events of a
// matching group or host.
type target struct {
	URLs   []string `json:"urls"`
	Groups []string `json:"groups"`
	Hosts  []string `json:"hosts"`
}

// config is the decoded notify block; json tags are the attribute names.
type config struct {
	ApprisePath string            `json:"apprise_path"`
	URLs        []string          `json:"urls"`
	Timeout     string            `json:"timeout"`
	Targets     map[string]target `json:"target"`
}

// notifier runs apprise once per notification.
type notifier struct {
	mu      sync.Mutex
	cfg     config
	bin     string
	timeout time.Duration
}

var _ sdk.Notifier = (*notifier)(nil)

// Schema implements sdk.Notifier.
func (*notifier) Schema() sdk.Schema {
	return sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "apprise_path", Type: sdk.TypePath, Default: "", Description: "The apprise executable; looked up in PATH when empty."},
			{Name: "urls", Type: sdk.TypeListString, Default: []string{}, Description: "Apprise URLs notified for every event."},
			{Name: "timeout", Type: sdk.TypeString, Default: "30s", Description: "Time allowed for one apprise run, a Go duration or a number of seconds."},
		},
		Blocks: []sdk.Block{{
			TypeName: "target", Label: "name",
			Description: "URLs notified only for events whose group or host matches (case-insensitive, * wildcard); " +
				"a target with neither groups nor hosts matches every event.",
			Body: sdk.Schema{Attributes: []sdk.Attribute{
				{Name: "urls", Type: sdk.TypeListString, Required: true, Description: "Apprise URLs of this target."},
				{Name: "groups", Type: sdk.TypeListString, Default: []string{}, Description: "Host group patterns."},
				{Name: "hosts", Type: sdk.TypeListString, Default: []string{}, Description: "Host name patterns."},
			}},
		}},
	}
}

// Configure implements sdk.Notifier.
func (n *notifier) Configure(_ context.Context, c sdk.Config) error {
	var cfg config
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	bin := cfg.ApprisePath
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("apprise"); err != nil {
			return errors.New("apprise is not in PATH: install it (Debian: apt install apprise) or set apprise_path")
		}
	} else if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("apprise_path %q: %w", bin, err)
	}
	total := len(cfg.URLs)
	for name, t := range cfg.Targets {
		if len(t.URLs) == 0 {
			return fmt.Errorf("target %q: urls is empty", name)
		}
		for _, p := range append(append([]string{}, t.Groups...), t.Hosts...) {
			if _, err := path.Match(strings.ToLower(p), ""); err != nil {
				return fmt.Errorf("target %q: pattern %q: %w", name, p, err)
			}
		}
		total += len(t.URLs)
	}
	if total == 0 {
		return errors.New("no apprise URL: set urls or add a target block")
	}
	for _, u := range allURLs(cfg) {
		if !strings.Contains(u, "://") || strings.HasPrefix(u, "-") {
			return fmt.Errorf("%q is not an apprise URL (scheme://...)", u)
		}
	}
	timeout, err := sdk.ParseDuration("timeout", cfg.Timeout)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg, n.bin, n.timeout = cfg, bin, timeout
	return nil
}

func allURLs(cfg config) []string {
	out := append([]string{}, cfg.URLs...)
	for _, t := range cfg.Targets {
		out = append(out, t.URLs...)
	}
	return out
}

// match reports whether value matches one of patterns, case-insensitively,
// with * standing for any run of characters.
func match(patterns []string, value string) bool {
	v := strings.ToLower(value)
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), v); ok {
			return true
		}
	}
	return false
}

// route returns the URLs to notify for n: urls, then the URLs of every
// matching target in name order, each URL once.
func route(cfg config, n *sdk.Notification) []string {
	seen := map[string]bool{}
	var out []string
	add := func(urls []string) {
		for _, u := range urls {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	add(cfg.URLs)
	names := make([]string, 0, len(cfg.Targets))
	for name := range cfg.Targets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := cfg.Targets[name]
		all := len(t.Groups) == 0 && len(t.Hosts) == 0
		if all || match(t.Groups, n.Group) || match(t.Hosts, n.Hostname) {
			add(t.URLs)
		}
	}
	return out
}

// notifyType maps a level to apprise's notification types, which decide
// the colour or icon on most services.
func notifyType(level string) string {
	switch level {
	case "OK":
		return "success"
	case "WARN":
		return "warning"
	case "CRIT", "ERROR", "DOWN":
		return "failure"
	}
	return "info"
}

// Notify implements sdk.Notifier.
func (n *notifier) Notify(ctx context.Context, note *sdk.Notification) error {
	n.mu.Lock()
	cfg, bin, timeout := n.cfg, n.bin, n.timeout
	n.mu.Unlock()
	if bin == "" {
		return errors.New("not configured")
	}
	urls := route(cfg, note)
	if len(urls) == 0 {
		sdk.Logger().Debug("no target matches", "event", note.EventId, "host", note.Hostname, "group", note.Group)
		return nil
	}
	body := strings.TrimSpace(note.Summary)
	if body == "" {
		body = note.Message
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Arguments, never a shell: the message comes from probes and hosts.
	// "--" keeps a URL from being read as an option.
	args := append([]string{"-t", note.Message, "-b", body, "-n", notifyType(note.NewLevel), "--"}, urls...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 1024 {
			msg = msg[len(msg)-1024:]
		}
		if ctx.Err() != nil {
			return fmt.Errorf("apprise timed out after %v: %s", timeout, msg)
		}
		return fmt.Errorf("apprise: %w: %s", err, msg)
	}
	return nil
}
