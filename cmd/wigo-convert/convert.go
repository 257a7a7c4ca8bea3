package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// original mirrors the original Wigo's wigo.conf. It is a superset of the
// versions seen in the wild: fields only some versions had (Global.ListenPort,
// the OpenTSDB Address-as-string + Port form, bool or int *Enabled flags) are
// typed loosely so every version decodes. Any key not listed here shows up in
// toml.MetaData.Undecoded and is reported, which is what guarantees that
// nothing is dropped silently.
type original struct {
	Global struct {
		Hostname              string
		Group                 string
		LogFile               string
		ProbesDirectory       string
		ProbesConfigDirectory string
		UuidFile              string
		Database              string
		AliveTimeout          int
		Debug                 bool
		Trace                 bool
		// Very old versions kept the listener here instead of in [Http].
		ListenAddress string
		ListenPort    int
		// ProbesLibDirectory is known but has no equivalent (reported).
		ProbesLibDirectory string
		// Newer versions: days of status changes (the timeline) and of
		// probe metrics kept in the database.
		StatusHistoryDays    int
		MetricsRetentionDays int
	}
	Http struct {
		Enabled    bool
		Address    string
		Port       int
		SslEnabled bool
		SslCert    string
		SslKey     string
		Login      string
		Password   string
		Gzip       bool
		// Newer versions: who may write, reported (no equivalent yet).
		AllowWriteActions bool
		AnonymousRole     string
	}
	PushServer struct {
		Enabled            bool
		Address            string
		Port               int
		SslEnabled         bool
		SslCert            string
		SslKey             string
		AllowedClientsFile string
		AutoAcceptClients  bool
		MaxWaitingClients  int
	}
	PushClient struct {
		Enabled      bool
		Address      string
		Port         int
		SslEnabled   bool
		SslCert      string
		UuidSig      string
		PushInterval int
		// Newer versions: the client block's allow_remote_control.
		AllowRemoteControl bool
	}
	RemoteWigos struct {
		CheckInterval int
		CheckTries    int
		SslEnabled    bool
		Login         string
		Password      string
		List          []string
		AdvancedList  []advancedRemote
	}
	// AdvancedList is top level in the original's struct, so
	// [[AdvancedList]] tables are written at the top level of wigo.conf.
	AdvancedList  []advancedRemote
	Notifications struct {
		MinLevelToSend   int
		RescueOnly       bool
		OnWigoChange     bool
		OnHostChange     bool
		OnProbeChange    bool
		HttpEnabled      any // bool in old versions, 0/1 later
		HttpUrl          string
		EmailEnabled     any // 0, 1, or 2 = only if http failed
		EmailSmtpServer  string
		EmailRecipients  []string
		EmailFromName    string
		EmailFromAddress string
		AppriseEnabled   any
		ApprisePath      string
		AppriseUrls      []string
		AppriseTargets   []appriseTarget
		// Newer versions: flap detection, renotify, escalation to the
		// Apprise targets marked Escalation, quiet hours.
		FlapDetection            bool
		FlapWindow               int
		FlapThreshold            int
		RenotifyInterval         int
		EscalateAfter            int
		QuietHoursFrom           string
		QuietHoursTo             string
		QuietHoursMinLevelToSend int
	}
	OpenTSDB struct {
		Enabled       bool
		Address       any // []string, or one string with Port in old versions
		Port          int
		SslEnabled    bool
		MetricPrefix  string
		Deduplication int
		BufferSize    int
		Tags          map[string]string
	}
	// Dependencies (newer versions): what sits behind what.
	Dependencies []dependency
}

type advancedRemote struct {
	Hostname          string
	Port              int
	CheckRemotesDepth int
	CheckInterval     int
	CheckTries        int
	SslEnabled        bool
	Login             string
	Password          string
}

// dependency is one [[Dependencies]] table: Host, or every host of Group
// (both: either), is reachable only through DependsOn.
type dependency struct {
	Host      string
	Group     string
	DependsOn []string
}

type appriseTarget struct {
	Name       string
	Urls       []string
	Groups     []string
	Hosts      []string
	Escalation bool
}

// defaults returns the original's built-in defaults, so that an option the
// old file left out converts to what the old daemon actually did, not to
// this Wigo's default (they differ: the original notified nothing unless
// told to, and logged to /var/log/wigo.log).
func defaults() *original {
	o := &original{}
	o.Global.ProbesDirectory = "/usr/local/wigo/probes"
	o.Global.ProbesConfigDirectory = "/etc/wigo/conf.d"
	o.Global.LogFile = "/var/log/wigo.log"
	o.Global.UuidFile = "/var/lib/wigo/uuid"
	o.Global.Database = "/var/lib/wigo/wigo.db"
	o.Global.AliveTimeout = 60
	o.Http.Enabled = true
	o.Http.Address = "0.0.0.0"
	o.Http.Port = 4000
	o.Http.Gzip = true
	o.Http.SslCert = "/etc/wigo/ssl/wigo.crt"
	o.Http.SslKey = "/etc/wigo/ssl/wigo.key"
	o.PushServer.Address = "0.0.0.0"
	o.PushServer.Port = 4001
	o.PushServer.SslEnabled = true
	o.PushServer.SslCert = "/etc/wigo/ssl/wigo.crt"
	o.PushServer.SslKey = "/etc/wigo/ssl/wigo.key"
	o.PushServer.AllowedClientsFile = "/var/lib/wigo/allowed"
	o.PushClient.Address = "127.0.0.1"
	o.PushClient.Port = 4001
	o.PushClient.SslEnabled = true
	o.PushClient.SslCert = "/etc/wigo/ssl/wigo.crt"
	o.PushClient.UuidSig = "/etc/wigo/ssl/uuid.sig"
	o.PushClient.PushInterval = 15
	o.RemoteWigos.CheckInterval = 10
	o.Notifications.MinLevelToSend = 101
	o.Notifications.ApprisePath = "/usr/local/bin/apprise"
	// The versions that had flap detection had it on, 5 changes in an hour.
	o.Notifications.FlapDetection = true
	o.Notifications.FlapWindow = 3600
	o.Notifications.FlapThreshold = 5
	o.OpenTSDB.MetricPrefix = "wigo"
	o.OpenTSDB.Deduplication = 600
	o.OpenTSDB.BufferSize = 10000
	return o
}

// Result is the outcome of a conversion.
type Result struct {
	// HCL is the converted configuration, gofmt-like formatted.
	HCL []byte
	// Warnings name every original option that could not be carried over
	// as is, one sentence each, so the operator can act on them.
	Warnings []string
}

// converter accumulates the output file and the warnings.
type converter struct {
	o        *original
	md       toml.MetaData
	f        *hclwrite.File
	root     *hclwrite.Body
	warnings []string
	// zone names the machine's time zone (localZone; tests replace it).
	zone func() string
}

// Convert turns the text of an original wigo.conf into the equivalent HCL.
// It fails only when the input is not valid TOML or has the wrong types;
// everything it cannot map is returned in Result.Warnings.
func Convert(src []byte) (*Result, error) {
	o := defaults()
	md, err := toml.Decode(string(src), o)
	if err != nil {
		return nil, err
	}
	c := &converter{o: o, md: md, f: hclwrite.NewEmptyFile(), zone: localZone}
	c.root = c.f.Body()
	for _, k := range md.Undecoded() {
		c.warn("%s: unknown option, not converted", k.String())
	}
	c.header()
	c.global()
	c.http()
	c.notifications()
	c.opentsdb()
	c.pull()
	c.push()
	return &Result{HCL: trimBlank(hclwrite.Format(c.f.Bytes())), Warnings: c.warnings}, nil
}

func (c *converter) warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// defined reports whether the original file set the key itself.
func (c *converter) defined(key ...string) bool { return c.md.IsDefined(key...) }

// comment appends "# line" comments to b.
func comment(b *hclwrite.Body, lines ...string) {
	for _, l := range lines {
		text := "#"
		if l != "" {
			text += " " + l
		}
		b.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(text + "\n")}})
	}
}

// commentedOut appends block to b as comment lines: a disabled section keeps
// its values in the file, ready to be switched on by removing the '#'.
// section appends a converted block: as is when the original had it
// enabled, commented out after why otherwise, so the operator sees every
// section of the old file in the new one.
func (c *converter) section(blk *hclwrite.Block, live bool, why string) {
	if live {
		c.root.AppendBlock(blk)
	} else {
		comment(c.root, why)
		commentedOut(c.root, blk)
	}
	c.root.AppendNewline()
}

func commentedOut(b *hclwrite.Body, block *hclwrite.Block) {
	f := hclwrite.NewEmptyFile()
	f.Body().AppendBlock(block)
	text := strings.TrimRight(string(hclwrite.Format(f.Bytes())), "\n")
	comment(b, strings.Split(text, "\n")...)
}

func str(s string) cty.Value { return cty.StringVal(s) }
func num(n int) cty.Value    { return cty.NumberIntVal(int64(n)) }

func strList(l []string) cty.Value {
	if len(l) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(l))
	for i, s := range l {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// enabledFlag reads an *Enabled option that was a bool in some versions and an int
// in others; ok is false for any other type.
func enabledFlag(v any) (n int, ok bool) {
	switch x := v.(type) {
	case nil:
		return 0, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return int(x), true
	}
	return 0, false
}

func (c *converter) header() {
	comment(c.root,
		"Wigo configuration converted from an original wigo.conf by wigo-convert.",
		"Each value is the original's, or the original's default when the old file",
		"did not set it, so this host behaves as it did. \"Was:\" names the option.",
		"See /etc/wigo/wigo.hcl (or etc/wigo.hcl in the sources) for every option.",
		"Check it with: wigo -c FILE -check",
	)
	c.root.AppendNewline()
}

func (c *converter) global() {
	g := &c.o.Global
	b := c.root
	comment(b, "Was: Global.Hostname")
	b.SetAttributeValue("hostname", str(g.Hostname))
	comment(b, "Was: Global.Group")
	b.SetAttributeValue("group", str(g.Group))
	comment(b, "Was: Global.ProbesDirectory")
	b.SetAttributeValue("probes_dir", str(g.ProbesDirectory))
	comment(b, "Was: Global.ProbesConfigDirectory")
	b.SetAttributeValue("probes_config_dir", str(g.ProbesConfigDirectory))
	comment(b, "Was: Global.Database")
	b.SetAttributeValue("database", str(g.Database))
	comment(b, "Was: Global.UuidFile (keep it: masters know this host by its UUID)")
	b.SetAttributeValue("uuid_file", str(g.UuidFile))

	// A log file under /var/log is not writable by the packaged, sandboxed
	// daemon, which logs to the journal instead. Keeping the old path would
	// make the converted file fail at start, so it is commented out and said.
	if g.LogFile != "" {
		comment(b, "Was: Global.LogFile. The daemon now logs to stderr, which systemd sends to",
			"the journal (journalctl -u wigo). To keep a file, uncomment the line and let",
			"the unit write there (ReadWritePaths= in a systemd drop-in).",
			fmt.Sprintf("log_file = %q", g.LogFile))
		c.warn("Global.LogFile = %q: not carried over, the log goes to the journal; set log_file to keep a file", g.LogFile)
	}
	b.SetAttributeValue("log_file", str(""))

	if g.AliveTimeout <= 0 {
		c.warn("Global.AliveTimeout = %d: must be greater than 0, using 60", g.AliveTimeout)
		g.AliveTimeout = 60
	}
	comment(b, "Was: Global.AliveTimeout")
	b.SetAttributeValue("alive_timeout", num(g.AliveTimeout))
	level := "info"
	switch {
	case g.Trace:
		level = "trace"
	case g.Debug:
		level = "debug"
	}
	comment(b, "Was: Global.Debug (true = \"debug\"), Global.Trace (true = \"trace\")")
	b.SetAttributeValue("log_level", str(level))
	if c.defined("Global", "StatusHistoryDays") {
		if g.StatusHistoryDays > 0 {
			lb := b.AppendNewBlock("logs", nil).Body()
			comment(lb, "Was: Global.StatusHistoryDays (the status changes kept)")
			lb.SetAttributeValue("retention_days", num(g.StatusHistoryDays))
		} else {
			c.warn("Global.StatusHistoryDays = %d: the log of status changes is always kept here (logs.retention_days, 30 days by default)", g.StatusHistoryDays)
		}
	}
	if c.defined("Global", "MetricsRetentionDays") {
		c.warn("Global.MetricsRetentionDays = %d: no equivalent; metrics go to the metrics outputs (OpenTSDB, Prometheus), which keep them", g.MetricsRetentionDays)
	}
	if c.defined("Global", "ProbesLibDirectory") {
		c.warn("Global.ProbesLibDirectory = %q: no equivalent; probes find their libraries themselves", g.ProbesLibDirectory)
	}
	b.AppendNewline()
}

func (c *converter) http() {
	h := &c.o.Http
	// The oldest versions had the listener in [Global]; [Http] wins when
	// both are there, as it did in the versions that had both.
	if c.defined("Global", "ListenAddress") && !c.defined("Http", "Address") {
		h.Address = c.o.Global.ListenAddress
	}
	if c.defined("Global", "ListenPort") && !c.defined("Http", "Port") {
		h.Port = c.o.Global.ListenPort
	}
	blk := c.root.AppendNewBlock("http", nil)
	b := blk.Body()
	comment(b, "Was: Http.Enabled")
	b.SetAttributeValue("enabled", cty.BoolVal(h.Enabled))
	comment(b, "Was: Http.Address, Http.Port")
	b.SetAttributeValue("address", str(h.Address))
	b.SetAttributeValue("port", num(h.Port))
	if h.SslEnabled {
		comment(b, "Was: Http.SslEnabled = true, Http.SslCert, Http.SslKey")
		b.SetAttributeValue("tls_cert", str(h.SslCert))
		b.SetAttributeValue("tls_key", str(h.SslKey))
	} else if h.SslCert != "" || h.SslKey != "" {
		// Setting tls_cert/tls_key is what turns HTTPS on here, so the
		// paths of a disabled SSL setup must not be carried over live.
		comment(b, "Was: Http.SslEnabled = false; HTTPS is on when both are set:",
			fmt.Sprintf("tls_cert = %q", h.SslCert),
			fmt.Sprintf("tls_key  = %q", h.SslKey))
	}
	comment(b, "Was: Http.Login, Http.Password")
	b.SetAttributeValue("login", str(h.Login))
	b.SetAttributeValue("password", str(h.Password))
	if (h.Login == "") != (h.Password == "") {
		c.warn("Http.Login and Http.Password: only one is set; this Wigo refuses that, set both or neither")
	}
	comment(b, "Was: Http.Gzip")
	b.SetAttributeValue("gzip", cty.BoolVal(h.Gzip))
	c.root.AppendNewline()
	if c.defined("Http", "AllowWriteActions") || c.defined("Http", "AnonymousRole") {
		c.warn("Http.AllowWriteActions = %v, Http.AnonymousRole = %q: no equivalent yet; acknowledgements, silences and probe control are accepted with the login, or from this machine when there is none",
			h.AllowWriteActions, h.AnonymousRole)
	}
}

func (c *converter) notifications() {
	n := &c.o.Notifications
	blk := c.root.AppendNewBlock("notifications", nil)
	b := blk.Body()
	level := n.MinLevelToSend
	if level < 100 || level > 999 {
		c.warn("Notifications.MinLevelToSend = %d: outside 100..999, using %d", level, clamp(level))
		level = clamp(level)
	}
	comment(b, "Was: Notifications.MinLevelToSend")
	b.SetAttributeValue("min_level", num(level))
	comment(b, "Was: Notifications.OnProbeChange")
	b.SetAttributeValue("on_probe_change", cty.BoolVal(n.OnProbeChange))
	comment(b, "Was: Notifications.OnWigoChange (OnHostChange in some versions)")
	b.SetAttributeValue("on_host_change", cty.BoolVal(n.OnWigoChange || n.OnHostChange))
	comment(b, "Was: Notifications.RescueOnly")
	b.SetAttributeValue("rescue_only", cty.BoolVal(n.RescueOnly))
	c.root.AppendNewline()

	web := c.notifyHTTP()
	mail := c.notifyEmail(web.live)
	apprise, escalation := c.notifyApprise()
	notifiers := []*notifier{web, mail, apprise}
	c.renotify(notifiers)
	c.escalate(notifiers, escalation)
	c.quietHours(append(notifiers, escalation))
	for _, nt := range append(notifiers, escalation) {
		if nt == nil || nt.blk == nil {
			continue
		}
		comment(c.root, nt.header...)
		c.section(nt.blk, nt.live, nt.why)
	}
	c.flapping()
	c.dependencies()
}

// quietHours carries QuietHoursFrom/To, which held what was below
// QuietHoursMinLevelToSend for every notifier until they ended, in the
// machine's local time, to a quiet_hours block in each notify block (a
// fallback follows its primary's), in the machine's time zone by name.
func (c *converter) quietHours(notifiers []*notifier) {
	n := &c.o.Notifications
	if n.QuietHoursFrom == "" && n.QuietHoursTo == "" {
		return
	}
	if n.QuietHoursFrom == "" || n.QuietHoursTo == "" {
		c.warn("Notifications.QuietHoursFrom = %q, QuietHoursTo = %q: one without the other held nothing, not converted", n.QuietHoursFrom, n.QuietHoursTo)
		return
	}
	level := n.QuietHoursMinLevelToSend
	if level <= 100 {
		c.warn("Notifications.QuietHoursMinLevelToSend = %d: everything was at or above it and got through, the quiet hours held nothing; not converted", level)
		return
	}
	if level > 999 {
		level = 999
	}
	zone := c.zone()
	if zone == "" {
		zone = "UTC"
		c.warn("Notifications.QuietHoursFrom/To: the original read them in the machine's local time, whose zone name could not be found here (TZ, /etc/timezone, /etc/localtime); written as UTC: set time_zone")
	}
	for _, nt := range notifiers {
		if nt == nil || nt.blk == nil || nt.fallback {
			continue
		}
		q := nt.blk.Body().AppendNewBlock("quiet_hours", nil).Body()
		comment(q, "Was: Notifications.QuietHoursFrom, QuietHoursTo (local time), QuietHoursMinLevelToSend")
		q.SetAttributeValue("from", str(n.QuietHoursFrom))
		q.SetAttributeValue("to", str(n.QuietHoursTo))
		q.SetAttributeValue("time_zone", str(zone))
		q.SetAttributeValue("min_level", num(level))
	}
}

// localZone is the machine's time zone by name: $TZ, /etc/timezone, or
// where /etc/localtime points in the zone database; "" when none says.
func localZone() string {
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); tz != "" && !strings.HasPrefix(tz, "/") {
		return tz
	}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		if tz := strings.TrimSpace(string(b)); tz != "" {
			return tz
		}
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, tz, ok := strings.Cut(target, "zoneinfo/"); ok {
			return tz
		}
	}
	return ""
}

// notifier is one notify block being written: it is appended once every
// block is known, since renotify and escalation span several.
type notifier struct {
	name   string
	blk    *hclwrite.Block
	live   bool
	header []string // comment lines above the block
	why    string   // the comment above it when it is written commented out
	// fallback: sent only when another block failed (EmailEnabled = 2).
	fallback bool
}

func clamp(level int) int {
	if level < 100 {
		return 100
	}
	return 999
}

// seconds bounds a renotify or escalation delay from the original to what
// this Wigo accepts (60 s to a year), saying so when it had to.
func (c *converter) seconds(option string, v int) int {
	switch {
	case v < 60:
		c.warn("Notifications.%s = %d: at least 60 seconds here, using 60", option, v)
		return 60
	case v > 365*24*3600:
		c.warn("Notifications.%s = %d: at most a year here, using a year", option, v)
		return 365 * 24 * 3600
	}
	return v
}

// renotify carries RenotifyInterval, which the original applied to every
// notifier, to each notify block that takes first notifications.
func (c *converter) renotify(notifiers []*notifier) {
	n := &c.o.Notifications
	if n.RenotifyInterval <= 0 {
		return
	}
	every := c.seconds("RenotifyInterval", n.RenotifyInterval)
	for _, nt := range notifiers {
		if nt == nil || nt.blk == nil {
			continue
		}
		b := nt.blk.Body()
		comment(b, "Was: Notifications.RenotifyInterval (for every notifier)")
		b.SetAttributeValue("renotify_every", num(every))
	}
}

// escalate carries EscalateAfter: a problem nobody acknowledged in time
// went to the Apprise targets marked Escalation. Here those targets are
// their own block (escalation, escalations_only) and one notify block
// that takes first notifications escalates to it: one, so that a problem
// is escalated once, as it was.
func (c *converter) escalate(notifiers []*notifier, escalation *notifier) {
	n := &c.o.Notifications
	switch {
	case escalation == nil && n.EscalateAfter > 0:
		c.warn("Notifications.EscalateAfter = %d: no Apprise target is marked Escalation (or Apprise is off), nothing escalated and nothing does", n.EscalateAfter)
		return
	case escalation == nil:
		return
	case n.EscalateAfter <= 0:
		c.warn("Notifications.AppriseTargets marked Escalation: EscalateAfter is 0, they were never notified and are not converted")
		escalation.blk = nil
		return
	}
	for _, nt := range notifiers {
		if nt == nil || nt.blk == nil || !nt.live || nt.fallback {
			continue
		}
		b := nt.blk.Body()
		comment(b, "Was: Notifications.EscalateAfter: unacknowledged problems go on to",
			"the Apprise targets marked Escalation (notify \""+escalation.name+"\").")
		b.SetAttributeValue("escalate_after", num(c.seconds("EscalateAfter", n.EscalateAfter)))
		b.SetAttributeValue("escalate_to", str(escalation.name))
		return
	}
	c.warn("Notifications.EscalateAfter = %d: no notifier is on to escalate from, the Escalation targets are left commented out", n.EscalateAfter)
	escalation.live = false
	escalation.why = "Nothing to escalate from (no notifier on in the original):"
}

// notifyHTTP builds notify "http".
func (c *converter) notifyHTTP() *notifier {
	n := &c.o.Notifications
	mode, ok := enabledFlag(n.HttpEnabled)
	if !ok || mode > 1 || mode < 0 {
		c.warn("Notifications.HttpEnabled = %v: expected 0 or 1, the http notifier is left disabled", n.HttpEnabled)
		mode = 0
	}
	blk := hclwrite.NewBlock("notify", []string{"http"})
	b := blk.Body()
	b.SetAttributeValue("url", str(n.HttpUrl))
	comment(b, "\"form\" posts Notification=<json> like the original did.")
	b.SetAttributeValue("format", str("form"))
	if mode == 1 && n.HttpUrl == "" {
		c.warn("Notifications.HttpEnabled = 1 without HttpUrl: the http notifier is left disabled")
		mode = 0
	}
	return &notifier{name: "http", blk: blk, live: mode == 1,
		header: []string{"HTTP callback (notify-http plugin).", "Was: Notifications.HttpEnabled, Notifications.HttpUrl"},
		why:    "Disabled in the original (HttpEnabled = 0):"}
}

// notifyEmail builds notify "email"; httpOn says whether the http
// notifier it may back up is on.
func (c *converter) notifyEmail(httpOn bool) *notifier {
	n := &c.o.Notifications
	mode, ok := enabledFlag(n.EmailEnabled)
	if !ok || mode < 0 || mode > 2 {
		c.warn("Notifications.EmailEnabled = %v: expected 0, 1 or 2, the email notifier is left disabled", n.EmailEnabled)
		mode = 0
	}
	blk := hclwrite.NewBlock("notify", []string{"email"})
	b := blk.Body()
	b.SetAttributeValue("smtp_server", str(n.EmailSmtpServer))
	b.SetAttributeValue("to", strList(n.EmailRecipients))
	b.SetAttributeValue("from_name", str(n.EmailFromName))
	b.SetAttributeValue("from_address", str(n.EmailFromAddress))
	if mode == 2 {
		comment(b, "Was: EmailEnabled = 2, send only when notify \"http\" fails.")
		b.SetAttributeValue("fallback_for", str("http"))
	}
	live := mode == 1 || (mode == 2 && httpOn)
	if mode == 2 && !httpOn {
		// The original only tried email after a failed HTTP callback; with
		// the callback off it never sent any, so neither does this file.
		c.warn("Notifications.EmailEnabled = 2 (only if http failed) with the http notifier disabled: the original never sent email, the block is left commented out")
	}
	if live && (n.EmailSmtpServer == "" || len(n.EmailRecipients) == 0) {
		c.warn("Notifications.EmailEnabled = %d without EmailSmtpServer or EmailRecipients: the email notifier is left disabled", mode)
		live = false
	}
	return &notifier{name: "email", blk: blk, live: live, fallback: mode == 2,
		header: []string{"Email (notify-email plugin).",
			"Was: Notifications.EmailEnabled (1 = send, 2 = only if http failed),",
			"EmailSmtpServer, EmailRecipients, EmailFromName, EmailFromAddress"},
		why: "Disabled in the original:"}
}

// escalationBlock is the label of the notify block the Apprise targets
// marked Escalation are written to.
const escalationBlock = "apprise-escalation"

// notifyApprise builds notify "apprise" and, when some targets are marked
// Escalation, notify "apprise-escalation" with those targets (nil when none
// are); both nil for a version of the original without Apprise.
func (c *converter) notifyApprise() (main, escalation *notifier) {
	n := &c.o.Notifications
	mode, ok := enabledFlag(n.AppriseEnabled)
	if !ok || mode < 0 || mode > 1 {
		c.warn("Notifications.AppriseEnabled = %v: expected 0 or 1, the apprise notifier is left disabled", n.AppriseEnabled)
		mode = 0
	}
	present := c.defined("Notifications", "AppriseEnabled") || len(n.AppriseUrls) > 0 || len(n.AppriseTargets) > 0
	if !present {
		return nil, nil // a version of the original without Apprise: nothing to say
	}
	blk := hclwrite.NewBlock("notify", []string{"apprise"})
	b := blk.Body()
	comment(b, "Was: AppriseUrls: notified for every host.")
	b.SetAttributeValue("urls", strList(n.AppriseUrls))
	b.SetAttributeValue("apprise_path", str(n.ApprisePath))
	var esc *hclwrite.Body
	seen := map[string]bool{}
	first := 0 // targets in the main block
	for i, t := range n.AppriseTargets {
		name := t.Name
		if name == "" {
			// The original called unnamed targets "#1", "#2" in its logs.
			name = "#" + strconv.Itoa(i+1)
		}
		if seen[name] {
			c.warn("Notifications.AppriseTargets[%d]: name %q used twice, renamed %q", i, name, name+"-"+strconv.Itoa(i+1))
			name += "-" + strconv.Itoa(i+1)
		}
		seen[name] = true
		if len(t.Groups) == 0 && len(t.Hosts) == 0 {
			c.warn("Notifications.AppriseTargets[%d] (%s): neither Groups nor Hosts, it was never notified and still is not", i, name)
		}
		into := b
		if t.Escalation {
			if esc == nil {
				escalation = &notifier{name: escalationBlock, blk: hclwrite.NewBlock("notify", []string{escalationBlock}), live: mode == 1,
					header: []string{"Apprise targets woken second (notify-apprise plugin).",
						"Was: [[Notifications.AppriseTargets]] with Escalation = true"},
					why: "Disabled in the original (AppriseEnabled = 0):"}
				esc = escalation.blk.Body()
				esc.SetAttributeValue("plugin", str("notify-apprise"))
				esc.SetAttributeValue("apprise_path", str(n.ApprisePath))
				comment(esc, "Sent only what another block escalates to it (escalate_to).")
				esc.SetAttributeValue("escalations_only", cty.True)
			}
			into = esc
		} else {
			first++
		}
		tb := into.AppendNewBlock("target", []string{name}).Body()
		comment(tb, fmt.Sprintf("Was: [[Notifications.AppriseTargets]] #%d", i+1))
		tb.SetAttributeValue("urls", strList(t.Urls))
		tb.SetAttributeValue("groups", strList(t.Groups))
		tb.SetAttributeValue("hosts", strList(t.Hosts))
	}
	main = &notifier{name: "apprise", blk: blk, live: mode == 1,
		header: []string{"Apprise (notify-apprise plugin).",
			"Was: Notifications.AppriseEnabled, ApprisePath, AppriseUrls, [[Notifications.AppriseTargets]]"},
		why: "Disabled in the original (AppriseEnabled = 0):"}
	if len(n.AppriseUrls) == 0 && first == 0 && escalation != nil {
		// Everything it had is woken second: a block with no URL of its
		// own would not start.
		main.live = false
		main.why = "Every Apprise target is an escalation one (notify \"" + escalationBlock + "\"), none is notified first:"
	}
	return main, escalation
}

// flapping carries the flap detection of newer versions of the original
// (on by default there: 5 changes within an hour).
func (c *converter) flapping() {
	n := &c.o.Notifications
	blk := hclwrite.NewBlock("flapping", nil)
	b := blk.Body()
	window, threshold := n.FlapWindow, n.FlapThreshold
	if window <= 0 {
		window = 3600
	}
	if threshold <= 0 {
		threshold = 5
	}
	if !n.FlapDetection {
		comment(b, "Was: Notifications.FlapDetection = false")
		threshold = 0
	}
	comment(b, "Was: Notifications.FlapWindow")
	b.SetAttributeValue("window", num(window))
	comment(b, "Was: Notifications.FlapThreshold (0: no flap detection)")
	b.SetAttributeValue("threshold", num(threshold))
	comment(c.root, "Flap detection: a probe or host changing status more than threshold times",
		"within window seconds is notified once as flapping, then quiet until it settles.",
		"Versions of the original without it notified every change: threshold = 0 does that.")
	c.root.AppendBlock(blk)
	c.root.AppendNewline()
}

// dependencies carries [[Dependencies]]: one dependency block per rule.
func (c *converter) dependencies() {
	used := map[string]bool{}
	for i, d := range c.o.Dependencies {
		where := fmt.Sprintf("Dependencies[%d]", i)
		if d.Host == "" && d.Group == "" {
			c.warn("%s: neither Host nor Group, it applied to nothing and is not converted", where)
			continue
		}
		var parents []string
		for _, p := range d.DependsOn {
			if p == "" || p == d.Host || slices.Contains(parents, p) {
				continue // the original skipped these too
			}
			parents = append(parents, p)
		}
		if len(parents) == 0 {
			c.warn("%s: DependsOn names no other host, it held nothing back and is not converted", where)
			continue
		}
		name := d.Host
		if name == "" {
			name = "group-" + d.Group
		}
		if used[name] {
			name += "-" + strconv.Itoa(i+1)
		}
		used[name] = true
		blk := c.root.AppendNewBlock("dependency", []string{name})
		b := blk.Body()
		comment(b, fmt.Sprintf("Was: [[Dependencies]] #%d (Host, Group, DependsOn)", i+1))
		if d.Host != "" {
			b.SetAttributeValue("hosts", strList([]string{d.Host}))
		}
		if d.Group != "" {
			b.SetAttributeValue("groups", strList([]string{d.Group}))
		}
		b.SetAttributeValue("parents", strList(parents))
		c.root.AppendNewline()
	}
}

func (c *converter) opentsdb() {
	t := &c.o.OpenTSDB
	var addrs []string
	switch a := t.Address.(type) {
	case nil:
	case string: // old versions: one Address plus Port
		if a != "" {
			addrs = []string{a}
		}
	case []any:
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				c.warn("OpenTSDB.Address: %v is not a string, skipped", x)
				continue
			}
			addrs = append(addrs, s)
		}
	default:
		c.warn("OpenTSDB.Address = %v: expected a list of strings, not converted", a)
	}
	// The original dialled port 4242 when an address had none; the plugin
	// wants host:port, so the default is written out.
	port := 4242
	if t.Port != 0 {
		port = t.Port
	}
	for i, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			addrs[i] = net.JoinHostPort(a, strconv.Itoa(port))
		}
	}
	blk := hclwrite.NewBlock("output", []string{"opentsdb"})
	b := blk.Body()
	b.SetAttributeValue("address", strList(addrs))
	b.SetAttributeValue("tls", cty.BoolVal(t.SslEnabled))
	b.SetAttributeValue("metric_prefix", str(t.MetricPrefix))
	b.SetAttributeValue("deduplication", num(t.Deduplication))
	b.SetAttributeValue("buffer_size", num(t.BufferSize))
	if len(t.Tags) > 0 {
		tags := make(map[string]cty.Value, len(t.Tags))
		for k, v := range t.Tags {
			tags[k] = str(v)
		}
		b.SetAttributeValue("tags", cty.ObjectVal(tags))
	}
	comment(c.root, "Metrics to OpenTSDB (output-opentsdb plugin).",
		"Was: [OpenTSDB] Enabled, Address, SslEnabled, MetricPrefix, Deduplication, BufferSize, Tags")
	live := t.Enabled
	if live && len(addrs) == 0 {
		c.warn("OpenTSDB.Enabled = true without Address: the output is left disabled")
		live = false
	}
	c.section(blk, live, "Disabled in the original ([OpenTSDB] Enabled = false):")
}

func (c *converter) pull() {
	r := &c.o.RemoteWigos
	blk := hclwrite.NewBlock("transport", []string{"pull"})
	b := blk.Body()
	comment(b, "Was: RemoteWigos.CheckInterval, SslEnabled, Login, Password")
	b.SetAttributeValue("check_interval", num(r.CheckInterval))
	b.SetAttributeValue("tls", cty.BoolVal(r.SslEnabled))
	b.SetAttributeValue("login", str(r.Login))
	b.SetAttributeValue("password", str(r.Password))
	if c.defined("RemoteWigos", "CheckTries") {
		if r.CheckTries >= 1 {
			// The original tried each poll CheckTries times; retries counts
			// the attempts after the first.
			comment(b, "Was: RemoteWigos.CheckTries (attempts per poll; retries counts those after the first)")
			b.SetAttributeValue("retries", num(r.CheckTries-1))
		} else {
			c.warn("RemoteWigos.CheckTries = %d: must be at least 1, the default applies", r.CheckTries)
		}
	}
	// The original polled a remote given without a port on its own
	// Http.Port, while the pull plugin's default is 4000.
	ownPort := c.o.Http.Port

	labels := map[string]bool{}
	label := func(host string, port int) string {
		l := host
		if labels[l] {
			// Two Wigos on one host differ by port; the label must be unique.
			l = net.JoinHostPort(host, strconv.Itoa(port))
		}
		labels[l] = true
		return l
	}
	n := 0
	for i, entry := range r.List {
		host, port := entry, 0
		if h, p, err := net.SplitHostPort(entry); err == nil {
			pn, perr := strconv.Atoi(p)
			if perr != nil || pn <= 0 || pn > 65535 {
				c.warn("RemoteWigos.List[%d] = %q: bad port, remote skipped", i, entry)
				continue
			}
			host, port = h, pn
		}
		if host == "" {
			c.warn("RemoteWigos.List[%d] = %q: no host, remote skipped", i, entry)
			continue
		}
		rb := b.AppendNewBlock("remote", []string{label(host, port)}).Body()
		if port == 0 {
			comment(rb, fmt.Sprintf("Was: RemoteWigos.List %q, polled on the original's own Http.Port", entry))
			port = ownPort
		} else {
			comment(rb, fmt.Sprintf("Was: RemoteWigos.List %q", entry))
		}
		rb.SetAttributeValue("port", num(port))
		n++
	}
	advanced := append(append([]advancedRemote{}, c.o.AdvancedList...), r.AdvancedList...)
	for i, a := range advanced {
		if a.Hostname == "" {
			c.warn("AdvancedList[%d]: no Hostname, remote skipped", i)
			continue
		}
		rb := b.AppendNewBlock("remote", []string{label(a.Hostname, a.Port)}).Body()
		comment(rb, fmt.Sprintf("Was: [[AdvancedList]] Hostname = %q", a.Hostname))
		port := a.Port
		if port == 0 {
			port = ownPort
		}
		rb.SetAttributeValue("port", num(port))
		if a.SslEnabled {
			rb.SetAttributeValue("tls", cty.True)
		}
		if a.Login != "" || a.Password != "" {
			rb.SetAttributeValue("login", str(a.Login))
			rb.SetAttributeValue("password", str(a.Password))
		}
		// CheckRemotesDepth 0 meant "all levels", as depth 0 does here, so
		// the value is carried over unchanged.
		rb.SetAttributeValue("depth", num(a.CheckRemotesDepth))
		if a.CheckInterval != 0 {
			rb.SetAttributeValue("check_interval", num(a.CheckInterval))
		}
		if a.CheckTries != 0 && a.CheckTries != r.CheckTries {
			c.warn("AdvancedList[%d] (%s).CheckTries = %d: retries is set for the whole block only (RemoteWigos.CheckTries), not converted", i, a.Hostname, a.CheckTries)
		}
		n++
	}
	comment(c.root, "Pull: poll other Wigo instances (transport-pull plugin).",
		"Was: [RemoteWigos] and [[AdvancedList]]")
	c.section(blk, n > 0, "The original polled no remote (empty List, no AdvancedList):")
}

func (c *converter) push() {
	s, cl := &c.o.PushServer, &c.o.PushClient
	server := hclwrite.NewBlock("server", nil)
	sb := server.Body()
	comment(sb, "Was: [PushServer] Address, Port, SslCert, SslKey, AllowedClientsFile, AutoAcceptClients, MaxWaitingClients.",
		"The original signed client UUIDs with this same key pair.")
	sb.SetAttributeValue("address", str(s.Address))
	sb.SetAttributeValue("port", num(s.Port))
	sb.SetAttributeValue("tls_cert", str(s.SslCert))
	sb.SetAttributeValue("tls_key", str(s.SslKey))
	sb.SetAttributeValue("allowed_clients_file", str(s.AllowedClientsFile))
	sb.SetAttributeValue("auto_accept", cty.BoolVal(s.AutoAcceptClients))
	if c.defined("PushServer", "MaxWaitingClients") {
		sb.SetAttributeValue("max_waiting_clients", num(s.MaxWaitingClients))
	}
	if s.Enabled && !s.SslEnabled {
		c.warn("PushServer.SslEnabled = false: push is always TLS in this Wigo; clients must use TLS too")
	}

	client := hclwrite.NewBlock("client", nil)
	cb := client.Body()
	comment(cb, "Was: [PushClient] Address, Port, SslCert (pinned on first contact), UuidSig, PushInterval, AllowRemoteControl")
	cb.SetAttributeValue("address", str(cl.Address))
	cb.SetAttributeValue("port", num(cl.Port))
	cb.SetAttributeValue("master_cert", str(cl.SslCert))
	cb.SetAttributeValue("uuid_sig", str(cl.UuidSig))
	cb.SetAttributeValue("push_interval", num(cl.PushInterval))
	if c.defined("PushClient", "AllowRemoteControl") {
		cb.SetAttributeValue("allow_remote_control", cty.BoolVal(cl.AllowRemoteControl))
	}
	if cl.Enabled && !cl.SslEnabled {
		c.warn("PushClient.SslEnabled = false: push is always TLS in this Wigo")
	}
	clientOn := cl.Enabled
	if clientOn && cl.Address == "" {
		c.warn("PushClient.Enabled = true without Address: the push client is left disabled")
		clientOn = false
	}

	comment(c.root, "Push: clients behind NAT keep one TLS connection to a master",
		"(transport-push plugin). Was: [PushServer] and [PushClient]")
	if !s.Enabled && !clientOn {
		comment(c.root, "Both disabled in the original:")
		blk := hclwrite.NewBlock("transport", []string{"push"})
		blk.Body().AppendBlock(server)
		blk.Body().AppendBlock(client)
		commentedOut(c.root, blk)
		return
	}
	blk := c.root.AppendNewBlock("transport", []string{"push"})
	b := blk.Body()
	if s.Enabled {
		b.AppendBlock(server)
	} else {
		comment(b, "PushServer disabled in the original:")
		commentedOut(b, server)
	}
	if clientOn {
		b.AppendBlock(client)
	} else {
		comment(b, "PushClient disabled in the original:")
		commentedOut(b, client)
	}
}

// trimBlank drops the blank lines hclwrite leaves at the ends of the file,
// so the output ends with exactly one newline.
func trimBlank(b []byte) []byte { return append(bytes.TrimSpace(b), '\n') }
