package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/core/testbin"
)

// fixture is the original Wigo's sample configuration, kept next to the
// repository by the project (see the brief of issue 7).
const fixture = "../../../shared/fixtures/original-wigo.conf"

// convertFile converts path, writes the HCL to a temp wigo.hcl and loads it
// with the daemon's own loader, failing on any diagnostic at all (warnings
// included): the converted file must be clean, not merely acceptable.
func convertFile(t *testing.T, path string) (*config.Config, *Result, string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(src)
	if err != nil {
		t.Fatalf("Convert(%s): %v", path, err)
	}
	out := filepath.Join(t.TempDir(), "wigo.hcl")
	if err := os.WriteFile(out, res.HCL, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(out)
	if len(diags) > 0 {
		t.Fatalf("converted file has diagnostics:\n%s\n--- file ---\n%s", config.FormatDiagnostics(diags), res.HCL)
	}
	return cfg, res, out
}

// wigoBin is the daemon binary, built once per test run.
func wigoBin(t *testing.T) string {
	t.Helper()
	return testbin.Build(t, "github.com/wigo-project/wigo/cmd/wigo")
}

// wigoCheck runs the real daemon binary with -check on path, which also
// starts every configured plugin to decode its block. The daemon and the
// plugins are built once per test run; a drop-in beside path points
// plugins_dir at them.
func wigoCheck(t *testing.T, path string) {
	t.Helper()
	dropIn := filepath.Join(filepath.Dir(path), "wigo.d", "zz-test-plugins.hcl")
	if err := os.MkdirAll(filepath.Dir(dropIn), 0o755); err != nil {
		t.Fatal(err)
	}
	plugins := fmt.Sprintf("plugins_dir = %q\n", testbin.Plugins(t))
	if err := os.WriteFile(dropIn, []byte(plugins), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(wigoBin(t), "-c", path, "-check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration OK") {
		t.Fatalf("wigo -check refused the converted file: %v\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

func hasWarning(res *Result, option string) bool {
	for _, w := range res.Warnings {
		if strings.HasPrefix(w, option) {
			return true
		}
	}
	return false
}

func TestConvertOriginalFixture(t *testing.T) {
	if _, err := os.Stat(fixture); err != nil {
		t.Skipf("original fixture not available (%v): this test needs the shared fixtures next to the repository", err)
	}
	cfg, res, path := convertFile(t, fixture)
	if cfg.Group != "" || cfg.AliveTimeout != 60*time.Second || cfg.LogLevel != "info" {
		t.Errorf("global: group %q alive %v level %q", cfg.Group, cfg.AliveTimeout, cfg.LogLevel)
	}
	if cfg.ProbesDir != "/usr/local/wigo/probes" || cfg.ProbesConfigDir != "/etc/wigo/conf.d" ||
		cfg.Database != "/var/lib/wigo/wigo.db" || cfg.UUIDFile != "/var/lib/wigo/uuid" {
		t.Errorf("paths: %+v", cfg)
	}
	if !cfg.HTTP.Enabled || cfg.HTTP.Port != 4000 || cfg.HTTP.Address != "0.0.0.0" || cfg.HTTP.TLS() || cfg.HTTP.Login != "" {
		t.Errorf("http: %+v (SslEnabled = false must not turn TLS on)", cfg.HTTP)
	}
	// The fixture turns both event kinds off: the converted file must too,
	// although this Wigo's own defaults are on.
	want := config.Notifications{MinLevel: 250}
	if cfg.Notifications != want {
		t.Errorf("notifications = %+v, want %+v", cfg.Notifications, want)
	}
	// Everything is disabled in the fixture: no plugin may start.
	if len(cfg.Notify)+len(cfg.Outputs)+len(cfg.Transports) != 0 {
		t.Errorf("disabled sections became live blocks: %d notify, %d output, %d transport",
			len(cfg.Notify), len(cfg.Outputs), len(cfg.Transports))
	}
	// ... but they are kept, commented out, for the operator to switch on.
	for _, s := range []string{`# notify "http" {`, `# notify "email" {`, `# output "opentsdb" {`, `# transport "pull" {`, `# transport "push" {`} {
		if !bytes.Contains(res.HCL, []byte(s)) {
			t.Errorf("converted file lacks the commented-out %s", s)
		}
	}
	if !hasWarning(res, "Global.LogFile") || len(res.Warnings) != 1 {
		t.Errorf("warnings = %q, want exactly the Global.LogFile one", res.Warnings)
	}
	wigoCheck(t, path)
}

// pluginBody finds the block kind "label" among cfg's plugin blocks.
func pluginBody(t *testing.T, blocks []config.PluginBlock, label string) config.PluginBlock {
	t.Helper()
	for _, b := range blocks {
		if b.Label == label {
			return b
		}
	}
	t.Fatalf("no block labelled %q", label)
	return config.PluginBlock{}
}

// notifyBlock returns the notify block labelled label as the core reads
// it (its filter and routing) and the body left for its plugin.
func notifyBlock(t *testing.T, cfg *config.Config, label string) (notify.Instance, hcl.Body) {
	t.Helper()
	inst, body, diags := notify.InstanceFromBlock(pluginBody(t, cfg.Notify, label))
	if diags.HasErrors() {
		t.Fatalf("notify %q: %s", label, diags.Error())
	}
	return inst, body
}

// decode decodes a plugin body with spec, the way a plugin would with the
// schema it declares, and converts the result into dst.
func decode(t *testing.T, body hcl.Body, spec hcldec.Spec, dst any) {
	t.Helper()
	val, diags := hcldec.Decode(body, spec, nil)
	if diags.HasErrors() {
		t.Fatalf("decode: %s", diags.Error())
	}
	if err := gocty.FromCtyValue(val, dst); err != nil {
		t.Fatalf("convert %#v: %v", val, err)
	}
}

func sAttr(name string) hcldec.Spec { return &hcldec.AttrSpec{Name: name, Type: cty.String} }
func nAttr(name string) hcldec.Spec { return &hcldec.AttrSpec{Name: name, Type: cty.Number} }
func bAttr(name string) hcldec.Spec { return &hcldec.AttrSpec{Name: name, Type: cty.Bool} }
func lAttr(name string) hcldec.Spec {
	return &hcldec.AttrSpec{Name: name, Type: cty.List(cty.String)}
}

type remote struct {
	Port          *int    `cty:"port"`
	TLS           *bool   `cty:"tls"`
	Login         *string `cty:"login"`
	Password      *string `cty:"password"`
	Depth         *int    `cty:"depth"`
	CheckInterval *int    `cty:"check_interval"`
}

func TestConvertEverySection(t *testing.T) {
	t.Setenv("TZ", "Europe/Paris") // the original read quiet hours in local time
	cfg, res, path := convertFile(t, "testdata/every-option.conf")

	// Global.
	if cfg.Hostname != "web-1.example.org" || cfg.Group != "webserver" || cfg.AliveTimeout != 90*time.Second ||
		cfg.LogLevel != "debug" || cfg.LogFile != "" {
		t.Errorf("global: %q %q %v %q %q", cfg.Hostname, cfg.Group, cfg.AliveTimeout, cfg.LogLevel, cfg.LogFile)
	}
	if cfg.ProbesDir != "/srv/wigo/probes" || cfg.ProbesConfigDir != "/srv/wigo/conf.d" ||
		cfg.Database != "/srv/wigo/wigo.db" || cfg.UUIDFile != "/srv/wigo/uuid" {
		t.Errorf("paths: %q %q %q %q", cfg.ProbesDir, cfg.ProbesConfigDir, cfg.Database, cfg.UUIDFile)
	}
	// Http.
	wantHTTP := config.HTTP{Enabled: true, Address: "127.0.0.1", Port: 4400, TLSCert: "/etc/wigo/ssl/http.crt",
		TLSKey: "/etc/wigo/ssl/http.key", Login: "admin", Password: "s3cret", Gzip: false}
	if !reflect.DeepEqual(cfg.HTTP, wantHTTP) {
		t.Errorf("http = %+v, want %+v", cfg.HTTP, wantHTTP)
	}
	// Notifications, and the filter each notify block inherits.
	wantN := config.Notifications{MinLevel: 300, OnProbeChange: true, OnHostChange: true, RescueOnly: true}
	if cfg.Notifications != wantN {
		t.Errorf("notifications = %+v, want %+v", cfg.Notifications, wantN)
	}
	if len(cfg.Notify) != 4 {
		t.Fatalf("notify blocks: %d, want http, email, apprise, apprise-escalation", len(cfg.Notify))
	}
	for _, nb := range cfg.Notify {
		if nb.Filter == nil || *nb.Filter != wantN {
			t.Errorf("notify %q filter = %+v", nb.Label, nb.Filter)
		}
	}

	var httpN struct {
		URL    string `cty:"url"`
		Format string `cty:"format"`
	}
	webIn, webBody := notifyBlock(t, cfg, "http")
	decode(t, webBody, hcldec.ObjectSpec{"url": sAttr("url"), "format": sAttr("format")}, &httpN)
	if httpN.URL != "https://hooks.example.org/wigo" || httpN.Format != "form" {
		t.Errorf("notify http = %+v", httpN)
	}

	var email struct {
		SMTP        string   `cty:"smtp_server"`
		To          []string `cty:"to"`
		FromName    string   `cty:"from_name"`
		FromAddress string   `cty:"from_address"`
		FallbackFor string
	}
	mailIn, mailBody := notifyBlock(t, cfg, "email")
	email.FallbackFor = mailIn.FallbackFor
	decode(t, mailBody, hcldec.ObjectSpec{
		"smtp_server": sAttr("smtp_server"), "to": lAttr("to"), "from_name": sAttr("from_name"),
		"from_address": sAttr("from_address"),
	}, &email)
	if email.SMTP != "smtp.example.org:25" || !reflect.DeepEqual(email.To, []string{"ops@example.org", "noc@example.org"}) ||
		email.FromName != "Wigo web-1" || email.FromAddress != "wigo@example.org" || email.FallbackFor != "http" {
		t.Errorf("notify email = %+v", email)
	}

	type target struct {
		URLs   []string `cty:"urls"`
		Groups []string `cty:"groups"`
		Hosts  []string `cty:"hosts"`
	}
	var apprise struct {
		URLs    []string          `cty:"urls"`
		Path    string            `cty:"apprise_path"`
		Targets map[string]target `cty:"target"`
	}
	appriseSpec := hcldec.ObjectSpec{
		"urls": lAttr("urls"), "apprise_path": sAttr("apprise_path"),
		"target": &hcldec.BlockMapSpec{TypeName: "target", LabelNames: []string{"name"}, Nested: hcldec.ObjectSpec{
			"urls": lAttr("urls"), "groups": lAttr("groups"), "hosts": lAttr("hosts"),
		}},
	}
	appIn, appBody := notifyBlock(t, cfg, "apprise")
	decode(t, appBody, appriseSpec, &apprise)
	wantTargets := map[string]target{
		"dba team": {URLs: []string{"mailto://user:pass@example.org"}, Groups: []string{"databases"}, Hosts: []string{"db-master.example.org"}},
	}
	if !reflect.DeepEqual(apprise.URLs, []string{"tgram://bottoken/ChatID"}) || apprise.Path != "/usr/bin/apprise" ||
		!reflect.DeepEqual(apprise.Targets, wantTargets) {
		t.Errorf("notify apprise = %+v", apprise)
	}
	// The target marked Escalation is woken second: its own block, sent
	// what the first notifier escalates after EscalateAfter.
	escBlock := pluginBody(t, cfg.Notify, "apprise-escalation")
	escIn, escBody := notifyBlock(t, cfg, "apprise-escalation")
	apprise.URLs, apprise.Targets = nil, nil
	decode(t, escBody, appriseSpec, &apprise)
	wantEsc := map[string]target{
		"#2": {URLs: []string{"slack://token/#alerts"}, Groups: []string{"frontend", "backend"}, Hosts: []string{}},
	}
	if escBlock.Plugin != "notify-apprise" || !escIn.Filter.EscalationsOnly || len(apprise.URLs) != 0 ||
		apprise.Path != "/usr/bin/apprise" || !reflect.DeepEqual(apprise.Targets, wantEsc) {
		t.Errorf("notify apprise-escalation: plugin %q escalations_only %v %+v", escBlock.Plugin, escIn.Filter.EscalationsOnly, apprise)
	}
	// RenotifyInterval for every notifier that hears first; EscalateAfter
	// from one of them (the first that is on), so a problem escalates once.
	for _, in := range []notify.Instance{webIn, mailIn, appIn} {
		if in.RenotifyEvery != 2*time.Hour {
			t.Errorf("notify %q renotify_every = %v, want 2h (RenotifyInterval = 7200)", in.Name, in.RenotifyEvery)
		}
	}
	if escIn.RenotifyEvery != 0 {
		t.Errorf("the escalation block renotifies: %v", escIn.RenotifyEvery)
	}
	if webIn.EscalateAfter != 15*time.Minute || webIn.EscalateTo != "apprise-escalation" || mailIn.EscalateTo != "" || appIn.EscalateTo != "" {
		t.Errorf("escalation: http %v to %q, email to %q, apprise to %q; want http only, 15m to apprise-escalation",
			webIn.EscalateAfter, webIn.EscalateTo, mailIn.EscalateTo, appIn.EscalateTo)
	}
	if err := notify.CheckInstances([]notify.Instance{webIn, mailIn, appIn, escIn}); err != nil {
		t.Error(err)
	}
	// Quiet hours held every notifier, in the machine's local time: each
	// block but the fallback (which follows its primary) has them, in the
	// machine's zone by name.
	for _, in := range []notify.Instance{webIn, appIn, escIn} {
		if q := in.QuietHours; q == nil || q.From != "22:00" || q.To != "07:00" || q.TimeZone != "Europe/Paris" || q.MinLevel != 500 {
			t.Errorf("notify %q quiet_hours = %+v, want 22:00-07:00 Europe/Paris below 500", in.Name, in.QuietHours)
		}
	}
	if mailIn.QuietHours != nil {
		t.Errorf("the fallback has quiet hours of its own: %+v", mailIn.QuietHours)
	}

	// Flap detection, the log's retention and the dependencies.
	if cfg.Flapping != (config.Flapping{Window: 30 * time.Minute, Threshold: 8}) {
		t.Errorf("flapping = %+v, want 30m and 8 (FlapWindow, FlapThreshold)", cfg.Flapping)
	}
	if cfg.Logs.RetentionDays != 14 {
		t.Errorf("logs.retention_days = %d, want 14 (StatusHistoryDays)", cfg.Logs.RetentionDays)
	}
	var deps []string
	for _, d := range cfg.Dependencies {
		deps = append(deps, fmt.Sprintf("%s: hosts %v groups %v parents %v", d.Name, d.Hosts, d.Groups, d.Parents))
	}
	wantDeps := []string{
		"app-1.example.org: hosts [app-1.example.org] groups [] parents [relay-1 relay-2]",
		"group-dmz: hosts [] groups [dmz] parents [relay-1]",
	}
	if !reflect.DeepEqual(deps, wantDeps) {
		t.Errorf("dependencies:\n got %q\nwant %q", deps, wantDeps)
	}

	// OpenTSDB.
	var tsdb struct {
		Address []string          `cty:"address"`
		TLS     bool              `cty:"tls"`
		Prefix  string            `cty:"metric_prefix"`
		Dedup   int               `cty:"deduplication"`
		Buffer  int               `cty:"buffer_size"`
		Tags    map[string]string `cty:"tags"`
	}
	if len(cfg.Outputs) != 1 {
		t.Fatalf("outputs: %d", len(cfg.Outputs))
	}
	decode(t, pluginBody(t, cfg.Outputs, "opentsdb").Body, hcldec.ObjectSpec{
		"address": lAttr("address"), "tls": bAttr("tls"), "metric_prefix": sAttr("metric_prefix"),
		"deduplication": nAttr("deduplication"), "buffer_size": nAttr("buffer_size"),
		"tags": &hcldec.AttrSpec{Name: "tags", Type: cty.Map(cty.String)},
	}, &tsdb)
	if !reflect.DeepEqual(tsdb.Address, []string{"tsdb1:4242", "tsdb2:4343"}) || !tsdb.TLS || tsdb.Prefix != "prod" ||
		tsdb.Dedup != 300 || tsdb.Buffer != 5000 || !reflect.DeepEqual(tsdb.Tags, map[string]string{"dc": "par1"}) {
		t.Errorf("output opentsdb = %+v", tsdb)
	}

	// Pull: the same remotes the original polled, with their ports and depth.
	var pull struct {
		CheckInterval int               `cty:"check_interval"`
		TLS           bool              `cty:"tls"`
		Login         string            `cty:"login"`
		Password      string            `cty:"password"`
		Retries       int               `cty:"retries"`
		Remotes       map[string]remote `cty:"remote"`
	}
	decode(t, pluginBody(t, cfg.Transports, "pull").Body, hcldec.ObjectSpec{
		"check_interval": nAttr("check_interval"), "tls": bAttr("tls"), "login": sAttr("login"), "password": sAttr("password"),
		"retries": nAttr("retries"),
		"remote": &hcldec.BlockMapSpec{TypeName: "remote", LabelNames: []string{"host"}, Nested: hcldec.ObjectSpec{
			"port": nAttr("port"), "tls": bAttr("tls"), "login": sAttr("login"), "password": sAttr("password"),
			"depth": nAttr("depth"), "check_interval": nAttr("check_interval"),
		}},
	}, &pull)
	// CheckTries = 3: three attempts per poll, the first and two retries.
	if pull.CheckInterval != 15 || pull.TLS || pull.Login != "puller" || pull.Password != "pw" || pull.Retries != 2 {
		t.Errorf("pull defaults = %+v", pull)
	}
	ip, bp, sp := func(v int) *int { return &v }, func(v bool) *bool { return &v }, func(v string) *string { return &v }
	wantRemotes := map[string]remote{
		"10.0.0.2":      {Port: ip(4400)}, // List "ip": polled on the original's own Http.Port
		"10.0.0.3":      {Port: ip(4010)}, // List "ip:port"
		"10.0.0.4":      {Port: ip(4020), TLS: bp(true), Login: sp("deep"), Password: sp("pw2"), Depth: ip(2), CheckInterval: ip(30)},
		"10.0.0.2:4030": {Port: ip(4030), Depth: ip(0)}, // same host, another Wigo: label made unique
	}
	if !reflect.DeepEqual(pull.Remotes, wantRemotes) {
		t.Errorf("pull remotes:\n got %s\nwant %s", fmtRemotes(pull.Remotes), fmtRemotes(wantRemotes))
	}

	// Push: both roles.
	type server struct {
		Address     string `cty:"address"`
		Port        int    `cty:"port"`
		TLSCert     string `cty:"tls_cert"`
		TLSKey      string `cty:"tls_key"`
		Allowed     string `cty:"allowed_clients_file"`
		AutoAccept  bool   `cty:"auto_accept"`
		Unspecified *int   `cty:"ca"`
		MaxWaiting  int    `cty:"max_waiting_clients"`
	}
	type client struct {
		Address      string `cty:"address"`
		Port         int    `cty:"port"`
		MasterCert   string `cty:"master_cert"`
		UUIDSig      string `cty:"uuid_sig"`
		PushInterval int    `cty:"push_interval"`
		AllowRemote  bool   `cty:"allow_remote_control"`
	}
	var push struct {
		Server []server `cty:"server"`
		Client []client `cty:"client"`
	}
	decode(t, pluginBody(t, cfg.Transports, "push").Body, hcldec.ObjectSpec{
		"server": &hcldec.BlockListSpec{TypeName: "server", MaxItems: 1, Nested: hcldec.ObjectSpec{
			"address": sAttr("address"), "port": nAttr("port"), "tls_cert": sAttr("tls_cert"), "tls_key": sAttr("tls_key"),
			"allowed_clients_file": sAttr("allowed_clients_file"), "auto_accept": bAttr("auto_accept"), "ca": nAttr("ca"),
			"max_waiting_clients": nAttr("max_waiting_clients"),
		}},
		"client": &hcldec.BlockListSpec{TypeName: "client", MaxItems: 1, Nested: hcldec.ObjectSpec{
			"address": sAttr("address"), "port": nAttr("port"), "master_cert": sAttr("master_cert"),
			"uuid_sig": sAttr("uuid_sig"), "push_interval": nAttr("push_interval"), "allow_remote_control": bAttr("allow_remote_control"),
		}},
	}, &push)
	wantServer := server{Address: "0.0.0.0", Port: 4101, TLSCert: "/etc/wigo/ssl/wigo.crt", TLSKey: "/etc/wigo/ssl/wigo.key",
		Allowed: "/var/lib/wigo/allowed_clients", AutoAccept: true, MaxWaiting: 50}
	wantClient := client{Address: "master.example.org", Port: 4102, MasterCert: "/var/lib/wigo/master.crt",
		UUIDSig: "/var/lib/wigo/uuid.sig", PushInterval: 20, AllowRemote: true}
	if len(push.Server) != 1 || push.Server[0] != wantServer || len(push.Client) != 1 || push.Client[0] != wantClient {
		t.Errorf("push = %+v", push)
	}

	// Every option without a home is named, none more.
	wantWarn := []string{
		"Global.NotAnOption: unknown option",
		"Global.LogFile",
		"Global.ProbesLibDirectory",
		"Global.MetricsRetentionDays",
		"Http.AllowWriteActions",
		"Dependencies[2]: DependsOn names no other host",
	}
	for _, w := range wantWarn {
		if !hasWarning(res, w) {
			t.Errorf("no warning for %s", w)
		}
	}
	if len(res.Warnings) != len(wantWarn) {
		t.Errorf("warnings:\n%s", strings.Join(res.Warnings, "\n"))
	}
	wigoCheck(t, path)
}

// fmtRemotes prints remotes with their pointers followed, for a readable diff.
func fmtRemotes(m map[string]remote) string {
	out := map[string]map[string]any{}
	for k, r := range m {
		fields := map[string]any{}
		for name, p := range map[string]any{"port": r.Port, "tls": r.TLS, "login": r.Login,
			"password": r.Password, "depth": r.Depth, "check_interval": r.CheckInterval} {
			if v := reflect.ValueOf(p); !v.IsNil() {
				fields[name] = v.Elem().Interface()
			}
		}
		out[k] = fields
	}
	return fmt.Sprint(out)
}

// TestDaemonRunsConvertedFixture starts the real daemon on the converted
// original configuration (a drop-in moves its state, probes and listener
// into a temp dir, as an operator would with wigo.d/) and checks that it
// serves the host the original file describes. The fixture enables no
// plugin, so this does not depend on plugin binaries being built.
func TestDaemonRunsConvertedFixture(t *testing.T) {
	if _, err := os.Stat(fixture); err != nil {
		t.Skipf("original fixture not available (%v)", err)
	}
	_, _, path := convertFile(t, fixture)
	wigoCheck(t, path) // builds the binary
	dir := filepath.Dir(path)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := os.MkdirAll(filepath.Join(dir, "wigo.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "probes", "60"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Relative paths resolve against the drop-in's own directory.
	dropIn := fmt.Sprintf("probes_dir = \"../probes\"\ndatabase = \"../wigo.db\"\nuuid_file = \"../uuid\"\n"+
		"http {\n  address = \"127.0.0.1\"\n  port = %d\n}\n", port)
	if err := os.WriteFile(filepath.Join(dir, "wigo.d", "99-test.hcl"), []byte(dropIn), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(wigoBin(t), "-c", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	var doc struct {
		Hostname  string
		IsAlive   bool
		LocalHost struct {
			Name  string
			Group string
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api", port))
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not serve /api: %v\nlog:\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	host, _ := os.Hostname()
	// Hostname = "" in the original means the system hostname; Group = "".
	if doc.Hostname != host || doc.LocalHost.Name != host || doc.LocalHost.Group != "" || !doc.IsAlive {
		t.Errorf("/api: %+v, want host %q, no group, alive", doc, host)
	}
	if _, err := os.Stat(filepath.Join(dir, "uuid")); err != nil {
		t.Errorf("the drop-in's uuid_file was not used: %v\nlog:\n%s", err, logs.String())
	}
}
