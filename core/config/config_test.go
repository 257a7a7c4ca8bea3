package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// writeTree writes files (relative name -> content) under a new temp dir and
// returns the dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	cfg, diags := Load(path)
	if len(diags) > 0 {
		t.Fatalf("Load(%s): unexpected diagnostics:\n%s", path, FormatDiagnostics(diags))
	}
	return cfg
}

const mainHCL = `group         = "base"
alive_timeout = 30
log_level     = "info"

http {
  port     = 4000
  login    = "admin"
  password = "pw"
}

notify "http" {
  url = "https://a.example/hook"
}

output "opentsdb" {
  address = ["tsdb:4242"]
}
`

const siteHCL = `group = "site"

http {
  port = 4443
}

notifications {
  min_level = 300
}

notify "ops" {
  plugin         = "notify-email"
  to             = ["ops@example.org"]
  on_host_change = false
}
`

const hostHCL = `group     = "host"
log_level = "DEBUG"

http {
  address = "127.0.0.1"
}

transport "pull" {
  check_interval = 15
  remote "10.0.0.2" {
    port = 4001
  }
}

notify "typo" {
  url = "https://b.example/"
  ulr = "https://c.example/"
}
`

func TestLoadMergesDropIns(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"wigo.hcl":                mainHCL,
		"wigo.d/20-host.hcl":      hostHCL,
		"wigo.d/10-site.hcl":      siteHCL,
		"wigo.d/README":           "not hcl {{{",
		"wigo.d/.10-swap.hcl":     "not hcl {{{",
		"wigo.d/99-disabled.hcl~": "not hcl {{{",
	})
	main := filepath.Join(dir, "wigo.hcl")
	site := filepath.Join(dir, "wigo.d", "10-site.hcl")
	host := filepath.Join(dir, "wigo.d", "20-host.hcl")
	cfg := mustLoad(t, main)

	if want := []string{main, site, host}; !reflect.DeepEqual(cfg.Files, want) {
		t.Errorf("Files = %q, want %q", cfg.Files, want)
	}
	// Top-level attributes: the last file wins, untouched ones keep the
	// earlier value or the default.
	if cfg.Group != "host" {
		t.Errorf("Group = %q, want the last drop-in's %q", cfg.Group, "host")
	}
	if cfg.LogLevel != "debug" {
		t.Errorf("LogLevel = %q, want %q (normalised)", cfg.LogLevel, "debug")
	}
	if cfg.AliveTimeout != 30*time.Second {
		t.Errorf("AliveTimeout = %v, want the main file's 30s", cfg.AliveTimeout)
	}
	if cfg.Database != Default().Database {
		t.Errorf("Database = %q, want the default", cfg.Database)
	}
	// Singleton blocks merge attribute by attribute across files.
	wantHTTP := HTTP{Enabled: true, Address: "127.0.0.1", Port: 4443, Login: "admin", Password: "pw", Gzip: true}
	if !reflect.DeepEqual(cfg.HTTP, wantHTTP) {
		t.Errorf("HTTP = %+v, want %+v", cfg.HTTP, wantHTTP)
	}
	wantNotif := Notifications{MinLevel: 300, OnProbeChange: true, OnHostChange: true}
	if cfg.Notifications != wantNotif {
		t.Errorf("Notifications = %+v, want %+v", cfg.Notifications, wantNotif)
	}

	// Labeled blocks are collected from every file, in file order.
	type inst struct{ kind, label, plugin, file string }
	var got []inst
	for _, list := range [][]PluginBlock{cfg.Notify, cfg.Outputs, cfg.Transports} {
		for _, pb := range list {
			got = append(got, inst{pb.Kind, pb.Label, pb.Plugin, pb.DefRange.Filename})
		}
	}
	want := []inst{
		{"notify", "http", "notify-http", main},
		{"notify", "ops", "notify-email", site},
		{"notify", "typo", "notify-typo", host},
		{"output", "opentsdb", "output-opentsdb", main},
		{"transport", "pull", "transport-pull", host},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plugin blocks =\n%+v\nwant\n%+v", got, want)
	}
	if pb := cfg.Notify[0]; pb.BaseDir != dir || pb.PluginRange.Start.Line != 11 || pb.PluginRange.Start.Column != 8 {
		t.Errorf("notify http: BaseDir %q PluginRange %v, want %q and the label at 11,8", pb.BaseDir, pb.PluginRange, dir)
	}

	// Each notify block's filter is the merged notifications block (even one
	// from a later file) with the block's own overrides on top.
	if f := cfg.Notify[0].Filter; f == nil || *f != wantNotif {
		t.Errorf("notify http Filter = %+v, want the global %+v", f, wantNotif)
	}
	if f := cfg.Notify[1].Filter; f == nil || *f != (Notifications{MinLevel: 300, OnProbeChange: true}) {
		t.Errorf("notify ops Filter = %+v, want on_host_change off", f)
	}
	if cfg.Outputs[0].Filter != nil || cfg.Transports[0].Filter != nil {
		t.Error("output/transport blocks must have no Filter")
	}

	// The bodies stay undecoded: a plugin decodes them against its own
	// schema, and never sees the attributes the core consumed.
	urlSpec := hcldec.ObjectSpec{"url": &hcldec.AttrSpec{Name: "url", Type: cty.String, Required: true}}
	v, diags := hcldec.Decode(cfg.Notify[0].Body, urlSpec, nil)
	if diags.HasErrors() {
		t.Fatalf("decode notify http body: %s", FormatDiagnostics(diags))
	}
	if u := v.GetAttr("url").AsString(); u != "https://a.example/hook" {
		t.Errorf("url = %q", u)
	}
	emailSpec := hcldec.ObjectSpec{"to": &hcldec.AttrSpec{Name: "to", Type: cty.List(cty.String)}}
	v, diags = hcldec.Decode(cfg.Notify[1].Body, emailSpec, nil)
	if len(diags) > 0 {
		t.Fatalf("plugin and filter attributes leaked into the ops body: %s", FormatDiagnostics(diags))
	}
	if to := v.GetAttr("to").Index(cty.NumberIntVal(0)).AsString(); to != "ops@example.org" {
		t.Errorf("to[0] = %q", to)
	}
	pullSpec := hcldec.ObjectSpec{
		"check_interval": &hcldec.AttrSpec{Name: "check_interval", Type: cty.Number},
		"remote": &hcldec.BlockMapSpec{TypeName: "remote", LabelNames: []string{"host"},
			Nested: hcldec.ObjectSpec{"port": &hcldec.AttrSpec{Name: "port", Type: cty.Number}}},
	}
	v, diags = hcldec.Decode(cfg.Transports[0].Body, pullSpec, nil)
	if diags.HasErrors() {
		t.Fatalf("decode transport pull body: %s", FormatDiagnostics(diags))
	}
	if p := v.GetAttr("remote").Index(cty.StringVal("10.0.0.2")).GetAttr("port"); !p.RawEquals(cty.NumberIntVal(4001)) {
		t.Errorf("remote port = %#v", p)
	}
	// A typo inside a plugin body is reported by the plugin's decode, at the
	// drop-in's position.
	_, diags = hcldec.Decode(cfg.Notify[2].Body, urlSpec, nil)
	wantLine := host + `:17,3: Unsupported argument; An argument named "ulr" is not expected here.`
	if got := FormatDiagnostics(diags); got != wantLine+"\n" {
		t.Errorf("typo in plugin body:\n got %q\nwant %q", got, wantLine+"\n")
	}
}

// TestDiagnosticPositions checks each kind of error names the right file,
// line and column. want is the exact `file:line,col: summary` prefix, with
// FILE standing for the file the case's error lives in.
func TestDiagnosticPositions(t *testing.T) {
	cases := []struct {
		name   string
		main   string
		dropIn string // written as wigo.d/10-bad.hcl when set
		want   []string
	}{{
		name: "typo",
		main: "group = \"x\"\nalive_timout = 3\n",
		want: []string{`MAIN:2,1: Unsupported argument; An argument named "alive_timout" is not expected here. Did you mean "alive_timeout"?`},
	}, {
		name: "wrong type",
		main: "http {\n  port = \"abc\"\n}\n",
		want: []string{`MAIN:2,10: Incorrect attribute value type; Inappropriate value for attribute "port": a number is required.`},
	}, {
		name:   "syntax error in drop-in",
		main:   "group = \"x\"\n",
		dropIn: "http {\n  port = 4000\n\nlogs {\n",
		want:   []string{`DROPIN:4,6: Unclosed configuration block; There is no closing brace for this block before the end of the file.`},
	}, {
		name:   "duplicate labeled block across files",
		main:   "notify \"x\" {\n}\n",
		dropIn: "group = \"y\"\n\nnotify \"x\" {\n  plugin = \"notify-http\"\n}\n",
		want:   []string{`DROPIN:3,1: Duplicate notify "x" block; notify "x" is already defined at MAIN:1,1;`},
	}, {
		name: "duplicate labeled block in one file",
		main: "output \"a\" {}\noutput \"b\" {}\noutput \"a\" {}\n",
		want: []string{`MAIN:3,1: Duplicate output "a" block; output "a" is already defined at MAIN:1,1;`},
	}, {
		name: "duplicate singleton block in one file",
		main: "http {}\nlogs {}\n  http {\n}\n",
		want: []string{`MAIN:3,3: Duplicate http block; The http block is already defined at MAIN:1,1 in this file;`},
	}, {
		name: "negative port",
		main: "http {\n  port = -1\n}\n",
		want: []string{`MAIN:2,10: Value out of range; http.port must be between 0 and 65535, got -1.`},
	}, {
		name:   "port too large in drop-in",
		main:   "http {\n  port = 4000\n}\n",
		dropIn: "http {\n\tport = 65536\n}\n",
		want:   []string{`DROPIN:2,9: Value out of range; http.port must be between 0 and 65535, got 65536.`},
	}, {
		name: "fractional port",
		main: "http { port = 80.5 }\n",
		want: []string{`MAIN:1,15: Incorrect attribute value type;`},
	}, {
		name: "alive_timeout zero and negative probe_timeout",
		main: "alive_timeout = 0\nprobe_timeout = -2\n",
		want: []string{
			`MAIN:1,17: Value out of range; alive_timeout must be a number of seconds greater than 0 and at most 31536000, got 0.`,
			`MAIN:2,17: Value out of range; probe_timeout must be a number of seconds at least 0 and at most 31536000, got -2.`,
		},
	}, {
		name: "unknown log level",
		main: "\n\nlog_level = \"verbose\"\n",
		want: []string{`MAIN:3,13: Invalid log level; log_level must be one of trace, debug, info, warn, error, got "verbose".`},
	}, {
		name: "min_level out of range, globally and per notify block",
		main: "notifications {\n  min_level = 99\n}\nnotify \"x\" {\n  min_level = 1000\n}\n",
		want: []string{
			`MAIN:2,15: Value out of range; notifications.min_level must be between 100 and 999, got 99.`,
			`MAIN:5,15: Value out of range; notify."x".min_level must be between 100 and 999, got 1000.`,
		},
	}, {
		name: "negative retention",
		main: "logs {\n  retention_days = -1\n}\n",
		want: []string{`MAIN:2,20: Value out of range; logs.retention_days must be between 0 and 36500, got -1.`},
	}, {
		name:   "tls_cert without tls_key points at the file that set it",
		main:   "http {\n  port = 4000\n}\n",
		dropIn: "\nhttp {\n    tls_cert = \"/etc/wigo/ssl/http.crt\"\n}\n",
		want:   []string{`DROPIN:3,5: http.tls_cert without http.tls_key; HTTPS needs both a certificate and a key: set http.tls_key too, or neither.`},
	}, {
		name: "password without login",
		main: "http {\n  password = \"x\"\n}\n",
		want: []string{`MAIN:2,3: http.password without http.login;`},
	}, {
		name: "unknown block and bad nesting",
		main: "htttp {\n}\nhttp {\n  tls {}\n}\n",
		want: []string{
			`MAIN:1,1: Unsupported block type; Blocks of type "htttp" are not expected here. Did you mean "http"?`,
			`MAIN:4,3: Unsupported block type; Blocks of type "tls" are not expected here.`,
		},
	}, {
		name: "missing and extra labels",
		main: "notify {\n}\nhttp \"x\" {\n}\n",
		want: []string{`MAIN:1,8: Missing name for notify;`, `MAIN:3,6: Extraneous label for http;`},
	}, {
		name: "plugin names must be plain file names",
		main: "notify \"x\" {\n  plugin = \"../../bin/sh\"\n}\ntransport \"a/b\" {}\noutput \"\" {}\n",
		want: []string{
			`MAIN:2,12: Invalid plugin name; Plugin name "../../bin/sh" contains a path separator;`,
			`MAIN:4,11: Invalid plugin name; Plugin name "transport-a/b" contains a path separator; it must be a plain file name in plugins_dir. The name comes from the label;`,
			`MAIN:5,8: Empty output label;`,
		},
	}, {
		name: "variables and functions are not allowed",
		main: "group = var.x\nhostname = upper(\"a\")\n",
		want: []string{`MAIN:1,9: Variables not allowed;`, `MAIN:2,12: Function calls not allowed;`},
	}, {
		name: "interpolation is refused before evaluation, huge numbers after",
		main: "group = \"a${1e99999999 * 1e99999999}\"\nalive_timeout = 1e99999999 * 1e99999999\nprobe_timeout = 1e-12\nhttp { port = true ? 1 : 2 }\n",
		want: []string{
			`MAIN:1,9: Expression not allowed; Settings take plain values:`,
			`MAIN:2,17: Number out of range; alive_timeout holds a number beyond what any option accepts.`,
			`MAIN:4,15: Expression not allowed;`,
		},
	}, {
		name: "tiny alive_timeout rounds to zero",
		main: "alive_timeout = 1e-12\n",
		want: []string{`MAIN:1,17: Value out of range; alive_timeout must be a number of seconds greater than 0 and at most 31536000, got 1e-12.`},
	}, {
		name: "attribute defined twice in one file",
		main: "group = \"a\"\ngroup = \"b\"\n",
		want: []string{`MAIN:2,1: Attribute redefined; The argument "group" was already set at MAIN:1,1-6.`},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"wigo.hcl": tc.main}
			if tc.dropIn != "" {
				files["wigo.d/10-bad.hcl"] = tc.dropIn
			}
			dir := writeTree(t, files)
			main := filepath.Join(dir, "wigo.hcl")
			repl := strings.NewReplacer("MAIN", main, "DROPIN", filepath.Join(dir, "wigo.d", "10-bad.hcl"))
			cfg, diags := Load(main)
			if cfg == nil {
				t.Fatal("Load returned a nil Config")
			}
			if !diags.HasErrors() {
				t.Fatal("no error reported")
			}
			lines := strings.Split(strings.TrimSuffix(FormatDiagnostics(diags), "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Errorf("got %d diagnostics, want %d:\n%s", len(lines), len(tc.want), strings.Join(lines, "\n"))
			}
			for i, w := range tc.want {
				w = repl.Replace(w)
				if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
					t.Errorf("diagnostic %d:\n got %q\nwant prefix %q", i, lines[min(i, len(lines)-1)], w)
				}
			}
		})
	}
}

// TestInvalidValueKeepsEarlier: a rejected override must not leave a half
// value behind; the earlier file's value stands (and the error is reported).
func TestInvalidValueKeepsEarlier(t *testing.T) {
	cfg, diags := Parse(
		Source{Name: "/etc/wigo/wigo.hcl", Src: []byte("http {\n  port = 4001\n}\n")},
		Source{Name: "/etc/wigo/wigo.d/10.hcl", Src: []byte("http {\n  port = -5\n}\n")},
	)
	if !diags.HasErrors() {
		t.Fatal("no error for port = -5")
	}
	if cfg.HTTP.Port != 4001 {
		t.Errorf("Port = %d, want 4001 kept", cfg.HTTP.Port)
	}
}

func TestArithmeticAndFractions(t *testing.T) {
	cfg, diags := Parse(Source{Name: "/x/wigo.hcl", Src: []byte(
		"alive_timeout = 5 * 60\nprobe_timeout = 0.5\nlogs {\n  retention_days = 7 * 4\n}\n")})
	if len(diags) > 0 {
		t.Fatal(FormatDiagnostics(diags))
	}
	if cfg.AliveTimeout != 5*time.Minute || cfg.ProbeTimeout != 500*time.Millisecond || cfg.Logs.RetentionDays != 28 {
		t.Errorf("alive %v probe %v retention %d", cfg.AliveTimeout, cfg.ProbeTimeout, cfg.Logs.RetentionDays)
	}
}

func TestNullMeansUnset(t *testing.T) {
	cfg, diags := Parse(
		Source{Name: "/x/wigo.hcl", Src: []byte("group = \"g\"\nhttp {\n  port = 4001\n}\n")},
		Source{Name: "/x/wigo.d/a.hcl", Src: []byte("group = null\nhttp {\n  port = null\n}\n")},
	)
	if len(diags) > 0 {
		t.Fatal(FormatDiagnostics(diags))
	}
	if cfg.Group != "g" || cfg.HTTP.Port != 4001 {
		t.Errorf("null overrode a value: group %q port %d", cfg.Group, cfg.HTTP.Port)
	}
}

func TestDefaultConfigFile(t *testing.T) {
	const path = "../../etc/wigo.hcl"
	cfg := mustLoad(t, path)
	if cfg.Hostname == "" {
		t.Error("Hostname not resolved from the system")
	}

	// The documented file must say exactly what Default says.
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	only, diags := Parse(Source{Name: path, Src: src})
	if len(diags) > 0 {
		t.Fatal(FormatDiagnostics(diags))
	}
	want := Default()
	want.Hostname, want.Files = only.Hostname, []string{path}
	if !reflect.DeepEqual(only, want) {
		t.Errorf("etc/wigo.hcl differs from Default():\n got %+v\nwant %+v", only, want)
	}

	// And it must document every option, so an option added to the tables
	// without a line in etc/wigo.hcl fails here.
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	body := f.Body.(*hclsyntax.Body)
	for _, fl := range topFields {
		if _, ok := body.Attributes[fl.name]; !ok {
			t.Errorf("etc/wigo.hcl does not set %s", fl.name)
		}
	}
	blocks := map[string]*hclsyntax.Body{}
	for _, b := range body.Blocks {
		blocks[b.Type] = b.Body
	}
	check := func(block string, names []string) {
		b := blocks[block]
		if b == nil {
			t.Errorf("etc/wigo.hcl has no %s block", block)
			return
		}
		for _, n := range names {
			if _, ok := b.Attributes[n]; !ok {
				t.Errorf("etc/wigo.hcl does not set %s.%s", block, n)
			}
		}
	}
	check("http", names(httpFields))
	check("notifications", names(notificationFields))
	check("logs", names(logsFields))
	check("flapping", names(flappingFields))
	check("history", names(historyFields))
}

func names[R any](fields []field[R]) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.name)
	}
	return out
}

func TestRelativePaths(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"etc/wigo.hcl": `probes_dir = "../probes"
database   = "var/wigo.db"
plugins_dir = "/opt/wigo//plugins/"
log_file   = ""
http {
  tls_cert = "ssl/http.crt"
  tls_key  = "/abs/http.key"
}
`,
		"etc/wigo.d/10-host.hcl": `uuid_file = "uuid"
probes_config_dir = "./conf.d"
transport "push" {}
`,
	})
	// From another working directory, with a relative path to the main file:
	// the results must not depend on the cwd.
	t.Chdir(dir)
	cfg := mustLoad(t, filepath.Join("etc", "wigo.hcl"))
	for name, c := range map[string]struct{ got, want string }{
		"probes_dir":        {cfg.ProbesDir, filepath.Join(dir, "probes")},
		"database":          {cfg.Database, filepath.Join(dir, "etc", "var", "wigo.db")},
		"plugins_dir":       {cfg.PluginsDir, "/opt/wigo/plugins"},
		"log_file":          {cfg.LogFile, ""},
		"uuid_file":         {cfg.UUIDFile, filepath.Join(dir, "etc", "wigo.d", "uuid")},
		"probes_config_dir": {cfg.ProbesConfigDir, filepath.Join(dir, "etc", "wigo.d", "conf.d")},
		"http.tls_cert":     {cfg.HTTP.TLSCert, filepath.Join(dir, "etc", "ssl", "http.crt")},
		"http.tls_key":      {cfg.HTTP.TLSKey, "/abs/http.key"},
		"push BaseDir":      {cfg.Transports[0].BaseDir, filepath.Join(dir, "etc", "wigo.d")},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", name, c.got, c.want)
		}
	}
	if !cfg.HTTP.TLS() {
		t.Error("TLS() false with both files set")
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "wigo.hcl")
	_, diags := Load(main)
	if got, want := FormatDiagnostics(diags), main+": Cannot read configuration file; open: no such file or directory.\n"; got != want {
		t.Errorf("missing main file:\n got %q\nwant %q", got, want)
	}

	// No wigo.d at all is fine; a wigo.d that is a file is not.
	if err := os.WriteFile(main, []byte("group = \"g\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, main)
	if err := os.WriteFile(filepath.Join(dir, "wigo.d"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags = Load(main)
	if got := FormatDiagnostics(diags); !strings.HasPrefix(got, filepath.Join(dir, "wigo.d")+": Cannot read drop-in directory;") {
		t.Errorf("wigo.d as a file: %q", got)
	}

	// A dangling symlink and a directory named *.hcl are reported, not
	// silently skipped.
	if err := os.Remove(filepath.Join(dir, "wigo.d")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "wigo.d", "20-dir.hcl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere.hcl"), filepath.Join(dir, "wigo.d", "10-link.hcl")); err != nil {
		t.Fatal(err)
	}
	_, diags = Load(main)
	got := FormatDiagnostics(diags)
	for _, w := range []string{
		filepath.Join(dir, "wigo.d", "10-link.hcl") + ": Cannot read drop-in file; stat: no such file or directory.\n",
		filepath.Join(dir, "wigo.d", "20-dir.hcl") + ": Drop-in is not a regular file;",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

func TestHostname(t *testing.T) {
	cfg, diags := Parse(Source{Name: "/x/wigo.hcl", Src: []byte(`hostname = "web-1"`)})
	if len(diags) > 0 || cfg.Hostname != "web-1" {
		t.Fatalf("hostname = %q, %s", cfg.Hostname, FormatDiagnostics(diags))
	}
	sys, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	cfg, _ = Parse(Source{Name: "/x/wigo.hcl", Src: []byte(`hostname = ""`)})
	if cfg.Hostname != sys {
		t.Errorf("hostname = %q, want the system's %q", cfg.Hostname, sys)
	}
}

func TestFormatDiagnostics(t *testing.T) {
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Bad thing", Detail: "Fix it\nnow.",
			Subject: &hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: 3, Column: 7}}},
		{Severity: hcl.DiagWarning, Summary: "Odd thing",
			Subject: &hcl.Range{Filename: "b.hcl", Start: hcl.Pos{Line: 1, Column: 1}}},
		{Severity: hcl.DiagError, Summary: "Whole file", Detail: "gone.", Subject: &hcl.Range{Filename: "c.hcl"}},
		nil,
		{Severity: hcl.DiagError, Summary: "Nowhere", Detail: "at all."},
	}
	want := "a.hcl:3,7: Bad thing; Fix it now.\n" +
		"b.hcl:1,1: warning: Odd thing\n" +
		"c.hcl: Whole file; gone.\n" +
		"Nowhere; at all.\n"
	if got := FormatDiagnostics(diags); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if FormatDiagnostics(nil) != "" {
		t.Error("nil diagnostics must format to nothing")
	}
}

func TestHTTPHelpers(t *testing.T) {
	h := HTTP{Address: "::1", Port: 4000}
	if h.Addr() != "[::1]:4000" {
		t.Errorf("Addr = %q", h.Addr())
	}
	if h.TLS() {
		t.Error("TLS() true without files")
	}
	if got := (Logs{RetentionDays: 2}).Retention(); got != 48*time.Hour {
		t.Errorf("Retention = %v", got)
	}
}

// The notifications block's send_timeout and lease go to Delivery, and a
// lease a send could outlive is refused where it is written.
func TestDeliveryTimes(t *testing.T) {
	cfg, diags := Parse(Source{Name: "wigo.hcl", Src: []byte("notifications {\n  send_timeout = 5\n  lease = 8\n}\n")})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if want := (Delivery{SendTimeout: 5 * time.Second, Lease: 8 * time.Second}); cfg.Delivery != want {
		t.Errorf("Delivery = %+v, want %+v", cfg.Delivery, want)
	}
	for _, src := range []string{"notifications {\n  lease = 30\n}\n", "notifications {\n  send_timeout = 10\n  lease = 10\n}\n"} {
		_, diags := Parse(Source{Name: "wigo.hcl", Src: []byte(src)})
		msg := FormatDiagnostics(diags)
		if !diags.HasErrors() || !strings.Contains(msg, "wigo.hcl:") || !strings.Contains(msg, "lease") {
			t.Errorf("%q: diagnostics %q, want a lease error with its location", src, msg)
		}
	}
}
