package config

import (
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/wigo-project/wigo/sdk/hclschema"
)

// maxSeconds caps durations written in seconds: a year is more than any sane
// timeout and keeps the conversion to time.Duration far from overflow.
const maxSeconds = 365 * 24 * 3600

// maxRetentionDays caps logs.retention_days for the same reason.
const maxRetentionDays = 100 * 365

// field is one attribute of a body: its name and how to decode, validate and
// store it on the struct R it belongs to. Tables of fields give the schema,
// the merge and the validation in one place, so adding an option is one line.
type field[R any] struct {
	name string
	// decode reports set=false when the value is null (HCL's "not set", so
	// the earlier value stands) or invalid.
	decode func(r *R, a *hcl.Attribute, ctx fieldCtx) (set bool, diags hcl.Diagnostics)
}

type fieldCtx struct {
	base string // directory of the file, for relative paths
	name string // qualified name for messages, e.g. "http.port"
}

func schemaOf[R any](fields []field[R]) *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, f := range fields {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: f.name})
	}
	return s
}

var topFields = []field[Config]{
	identityField("hostname", func(c *Config) *string { return &c.Hostname }),
	identityField("group", func(c *Config) *string { return &c.Group }),
	pathField("probes_dir", func(c *Config) *string { return &c.ProbesDir }),
	pathField("probes_config_dir", func(c *Config) *string { return &c.ProbesConfigDir }),
	pathField("plugins_dir", func(c *Config) *string { return &c.PluginsDir }),
	pathField("database", func(c *Config) *string { return &c.Database }),
	pathField("uuid_file", func(c *Config) *string { return &c.UUIDFile }),
	pathField("log_file", func(c *Config) *string { return &c.LogFile }),
	secondsField("alive_timeout", false, func(c *Config) *time.Duration { return &c.AliveTimeout }),
	secondsField("probe_timeout", true, func(c *Config) *time.Duration { return &c.ProbeTimeout }),
	{name: "log_level", decode: decodeLogLevel},
	intField("attempts", 1, 100, func(c *Config) *int { return &c.Attempts }),
	intField("recovery_attempts", 1, 100, func(c *Config) *int { return &c.RecoveryAttempts }),
}

var httpFields = []field[HTTP]{
	boolField("enabled", func(h *HTTP) *bool { return &h.Enabled }),
	stringField("address", func(h *HTTP) *string { return &h.Address }),
	intField("port", 0, 65535, func(h *HTTP) *int { return &h.Port }),
	pathField("tls_cert", func(h *HTTP) *string { return &h.TLSCert }),
	pathField("tls_key", func(h *HTTP) *string { return &h.TLSKey }),
	stringField("login", func(h *HTTP) *string { return &h.Login }),
	stringField("password", func(h *HTTP) *string { return &h.Password }),
	boolField("gzip", func(h *HTTP) *bool { return &h.Gzip }),
	boolField("remote_control", func(h *HTTP) *bool { return &h.RemoteControl }),
	namesField("allowed_hosts", func(h *HTTP) *[]string { return &h.AllowedHosts }),
	namesField("allowed_origins", func(h *HTTP) *[]string { return &h.AllowedOrigins }),
	{name: "public_url", decode: func(h *HTTP, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				return false, append(diags, invalid(a, "Invalid public_url",
					fmt.Sprintf("%s must be an http or https address such as \"https://wigo.example.org/\", got %.60q.", ctx.name, v)))
			}
			if !strings.HasSuffix(v, "/") {
				v += "/"
			}
		}
		h.PublicURL = v
		return true, diags
	}},
	{name: "anonymous_role", decode: func(h *HTTP, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		if v != "" && v != "none" && v != "viewer" {
			return false, append(diags, invalid(a, "Invalid anonymous_role",
				fmt.Sprintf("%s must be \"none\" or \"viewer\" (give a user or a token more), got %.40q.", ctx.name, v)))
		}
		h.AnonymousRole = v
		return true, diags
	}},
}

var notificationFields = []field[Notifications]{
	intField("min_level", 100, 999, func(n *Notifications) *int { return &n.MinLevel }),
	boolField("on_probe_change", func(n *Notifications) *bool { return &n.OnProbeChange }),
	boolField("on_host_change", func(n *Notifications) *bool { return &n.OnHostChange }),
	boolField("rescue_only", func(n *Notifications) *bool { return &n.RescueOnly }),
}

// deliveryFields are the notifications block's own attributes, beside the
// filter it shares with every notify block.
var deliveryFields = []field[Delivery]{
	secondsField("send_timeout", false, func(d *Delivery) *time.Duration { return &d.SendTimeout }),
	secondsField("lease", false, func(d *Delivery) *time.Duration { return &d.Lease }),
}

var logsFields = []field[Logs]{
	intField("retention_days", 0, maxRetentionDays, func(l *Logs) *int { return &l.RetentionDays }),
}

var flappingFields = []field[Flapping]{
	secondsField("window", false, func(f *Flapping) *time.Duration { return &f.Window }),
	intField("threshold", 0, 1000, func(f *Flapping) *int { return &f.Threshold }),
}

// decodeAttr evaluates a without variables or functions (a config file is
// data) and converts it to dst's Go type. Null reports set=false.
func decodeAttr(a *hcl.Attribute, dst any) (bool, hcl.Diagnostics) {
	ty, err := gocty.ImpliedType(dst)
	if err != nil {
		// Only reachable through a programming error in the field tables.
		return false, hcl.Diagnostics{invalid(a, "Internal error", fmt.Sprintf("decoding %s: %v.", a.Name, err))}
	}
	val, set, diags := evalAttr(a, ty)
	if !set {
		return false, diags
	}
	if err := gocty.FromCtyValue(val, dst); err != nil {
		return false, append(diags, typeError(a, err))
	}
	return true, diags
}

// evalAttr evaluates a and converts it to ty; set is false for null, for
// unknown values and on error.
func evalAttr(a *hcl.Attribute, ty cty.Type) (val cty.Value, set bool, diags hcl.Diagnostics) {
	if diags := hclschema.PlainData(a.Expr); diags.HasErrors() {
		return cty.NilVal, false, diags
	}
	val, diags = a.Expr.Value(nil)
	if diags.HasErrors() || val.IsNull() || !val.IsWhollyKnown() {
		return cty.NilVal, false, diags
	}
	if hclschema.HugeNumber(val) {
		return cty.NilVal, false, append(diags, invalid(a, "Number out of range",
			fmt.Sprintf("%s holds a number beyond what any option accepts.", a.Name)))
	}
	// A string where a number or bool is expected (port = "4000") is refused
	// rather than converted: the original read such a value as a mistake.
	if ty.IsPrimitiveType() && val.Type().IsPrimitiveType() && !val.Type().Equals(ty) {
		return cty.NilVal, false, append(diags, invalid(a, "Incorrect attribute value type",
			fmt.Sprintf("Inappropriate value for attribute %q: a %s is required.",
				a.Name, ty.FriendlyName())))
	}
	conv, err := convert.Convert(val, ty)
	if err != nil {
		return cty.NilVal, false, append(diags, typeError(a, err))
	}
	if conv.IsNull() || !conv.IsWhollyKnown() {
		return cty.NilVal, false, diags
	}
	return conv, true, diags
}

func typeError(a *hcl.Attribute, err error) *hcl.Diagnostic {
	return invalid(a, "Incorrect attribute value type",
		fmt.Sprintf("Inappropriate value for attribute %q: %s.", a.Name, err))
}

func invalid(a *hcl.Attribute, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  a.Expr.Range().Ptr(),
	}
}

func stringField[R any](name string, dst func(*R) *string) field[R] {
	return field[R]{name: name, decode: func(r *R, a *hcl.Attribute, _ fieldCtx) (bool, hcl.Diagnostics) {
		var v string
		set, diags := decodeAttr(a, &v)
		if set {
			*dst(r) = v
		}
		return set, diags
	}}
}

// maxIdentityBytes bounds hostname and group: a DNS name is at most 253
// bytes, and both travel in every document, log row and notification.
const maxIdentityBytes = 253

// identityField reads hostname or group: what names this host everywhere
// (API paths, log rows, notifications), so it must be printable, without
// "/" (it could not be addressed as /api/hosts/:hostname) and short.
func identityField[R any](name string, dst func(*R) *string) field[R] {
	return field[R]{name: name, decode: func(r *R, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		if len(v) > maxIdentityBytes || strings.IndexFunc(v, func(c rune) bool { return unicode.IsControl(c) || c == '/' || c == utf8.RuneError }) >= 0 {
			return false, append(diags, invalid(a, "Invalid "+name,
				fmt.Sprintf("%s must be at most %d bytes of printable text without \"/\", got %d bytes starting %.40q.", ctx.name, maxIdentityBytes, len(v), v)))
		}
		*dst(r) = v
		return true, diags
	}}
}

// maxNameBytes bounds one entry of a names list (a DNS name is at most 253).
const maxNameBytes = 512

// namesField reads a list of host names or origins: each non-empty, without
// spaces or control characters, and of a sane length.
func namesField[R any](name string, dst func(*R) *[]string) field[R] {
	return field[R]{name: name, decode: func(r *R, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v []string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		for i, n := range v {
			if n == "" || len(n) > maxNameBytes || strings.IndexFunc(n, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 {
				return false, append(diags, invalid(a, "Invalid name",
					fmt.Sprintf("%s[%d] must be a name of 1 to %d characters without spaces or control characters, got %.40q.", ctx.name, i, maxNameBytes, n)))
			}
		}
		if len(v) == 0 {
			v = nil // [] is the default, written out
		}
		*dst(r) = v
		return true, diags
	}}
}

func pathField[R any](name string, dst func(*R) *string) field[R] {
	return field[R]{name: name, decode: func(r *R, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		if strings.ContainsRune(v, 0) {
			return false, append(diags, invalid(a, "Invalid path", fmt.Sprintf("%s contains a NUL byte.", ctx.name)))
		}
		*dst(r) = resolvePath(ctx.base, v)
		return true, diags
	}}
}

func boolField[R any](name string, dst func(*R) *bool) field[R] {
	return field[R]{name: name, decode: func(r *R, a *hcl.Attribute, _ fieldCtx) (bool, hcl.Diagnostics) {
		var v bool
		set, diags := decodeAttr(a, &v)
		if set {
			*dst(r) = v
		}
		return set, diags
	}}
}

func intField[R any](name string, lo, hi int, dst func(*R) *int) field[R] {
	return field[R]{name: name, decode: func(r *R, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v int
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		if v < lo || v > hi {
			return false, append(diags, invalid(a, "Value out of range",
				fmt.Sprintf("%s must be between %d and %d, got %d.", ctx.name, lo, hi, v)))
		}
		*dst(r) = v
		return true, diags
	}}
}

// secondsField reads a number of seconds. Fractions are allowed so tests can
// use sub-second timeouts; operators write whole seconds as in the original.
func secondsField[R any](name string, allowZero bool, dst func(*R) *time.Duration) field[R] {
	return field[R]{name: name, decode: func(r *R, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		// big.Float, not float64, so an absurd value gets the range message
		// below instead of a conversion error quoting float64's limits.
		val, set, diags := evalAttr(a, cty.Number)
		if !set {
			return false, diags
		}
		v := val.AsBigFloat()
		secs, _ := v.Float64()
		d := time.Duration(secs * float64(time.Second))
		// d, not v, decides "greater than 0": 1e-12 seconds is 0 once stored.
		if v.Sign() < 0 || (d == 0 && !allowZero) || v.Cmp(big.NewFloat(maxSeconds)) > 0 {
			low := "greater than 0"
			if allowZero {
				low = "at least 0"
			}
			return false, append(diags, invalid(a, "Value out of range",
				fmt.Sprintf("%s must be a number of seconds %s and at most %d, got %s.",
					ctx.name, low, maxSeconds, v.Text('g', 10))))
		}
		*dst(r) = d
		return true, diags
	}}
}

// decodeLogLevel accepts any case, because "INFO" in a config file is an
// obvious intent, and stores the lower-case name hclog expects.
func decodeLogLevel(c *Config, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
	var v string
	set, diags := decodeAttr(a, &v)
	if !set {
		return false, diags
	}
	norm := strings.ToLower(strings.TrimSpace(v))
	if !slices.Contains(LogLevels, norm) {
		return false, append(diags, invalid(a, "Invalid log level",
			fmt.Sprintf("%s must be one of %s, got %q.", ctx.name, strings.Join(LogLevels, ", "), v)))
	}
	c.LogLevel = norm
	return true, diags
}
