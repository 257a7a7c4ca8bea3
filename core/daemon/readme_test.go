package daemon

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/config"
)

// readmeRoutes returns the routes the README's route table (section "HTTP
// API") names in its first column, as "METHOD /path/{param}" (the README
// writes :param, and queries after the path, which are dropped).
func readmeRoutes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## HTTP API")
	if start < 0 {
		t.Fatal("README has no HTTP API section")
	}
	end := strings.Index(readme[start+1:], "\n## ")
	section := readme[start : start+1+end]
	span := regexp.MustCompile("`([A-Z]+ )?(/[^`?]*)[^`]*`")
	param := regexp.MustCompile(`:([a-z]+)`)
	var out []string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) < 2 {
			continue
		}
		for _, m := range span.FindAllStringSubmatch(cells[0], -1) {
			out = append(out, m[1]+param.ReplaceAllString(m[2], "{$1}"))
		}
	}
	return out
}

// The README's route table lists exactly the routes the daemon serves: the
// API's route table (api.Routes), each with its method, and the daemon's
// own routes (the websocket, notifications, plugins, /metrics, the
// dashboard), where a route of the daemon's without a method may be named
// with one, and one ending in "/" (a subtree served by another package)
// by the routes under it.
func TestReadmeRouteTable(t *testing.T) {
	dir := t.TempDir()
	src := `hostname = "readme"
probes_dir = "probes"
database = "wigo.db"
uuid_file = "uuid"
http {
  address = "127.0.0.1"
  port = 0
}
`
	d := newDaemon(t, dir, src)
	t.Cleanup(func() { d.listener.Close(); d.store.Close() })

	// served are the patterns: "METHOD /path" for the API's, the daemon's
	// as it registers them.
	var served []string
	for _, rt := range api.Routes() {
		served = append(served, rt.Method+" "+rt.Pattern)
	}
	for _, rt := range d.routes {
		served = append(served, rt.pattern)
	}
	matches := func(pattern, route string) bool {
		method, path, _ := strings.Cut(route, " ")
		if !strings.HasPrefix(pattern, "/") {
			return pattern == route
		}
		if method == "" || path == "" {
			path = route
		}
		if pattern != "/" && strings.HasSuffix(pattern, "/") && pattern != path {
			return strings.HasPrefix(path, pattern) || path == strings.TrimSuffix(pattern, "/")
		}
		return pattern == path
	}
	listed := readmeRoutes(t)
	if len(listed) < len(api.Routes()) {
		t.Fatalf("the README's route table names %d routes, fewer than the API's %d: the pattern no longer matches it", len(listed), len(api.Routes()))
	}
	for _, route := range listed {
		if !slices.ContainsFunc(served, func(p string) bool { return matches(p, route) }) {
			t.Errorf("the README's route table names %s, which the daemon does not serve", route)
		}
	}
	for _, p := range served {
		if !slices.ContainsFunc(listed, func(route string) bool { return matches(p, route) }) {
			t.Errorf("the README's route table does not name %s", p)
		}
	}
	if dup := duplicates(listed); len(dup) > 0 {
		t.Errorf("the README's route table names %v more than once", dup)
	}
}

func duplicates(list []string) []string {
	seen := map[string]bool{}
	var dup []string
	for _, s := range list {
		if seen[s] {
			dup = append(dup, s)
		}
		seen[s] = true
	}
	return dup
}

// newDaemon builds the daemon of the configuration src, as a wigo.hcl in
// dir.
func newDaemon(t *testing.T, dir, src string, opts ...Option) *Daemon {
	t.Helper()
	cfg, diags := config.Parse(config.Source{Name: filepath.Join(dir, "wigo.hcl"), Src: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	d, err := New(cfg, hclog.NewNullLogger(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
