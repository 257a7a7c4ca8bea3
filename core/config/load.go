package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Source is one configuration file, named as it should appear in
// diagnostics. Parse takes Sources so tests and tools can check a
// configuration that is not (or not yet) on disk.
type Source struct {
	// Name is the file name used in diagnostics; its directory is also the
	// base for relative paths, so give the real path when there is one.
	Name string
	// Src is the file's HCL text.
	Src []byte
}

// Load reads the main file at path, then every *.hcl drop-in of
// <dir of path>/wigo.d/ in lexical order (a missing wigo.d is fine), and merges
// them as the package doc describes.
//
// The Config is never nil, so `wigo -check` can go on to validate plugin
// blocks after a core error; it must not be used to run the daemon when
// diags.HasErrors().
func Load(path string) (*Config, hcl.Diagnostics) {
	src, err := readConfigFile(path)
	if err != nil {
		return Default(), hcl.Diagnostics{fileDiag(path, "Cannot read configuration file", err)}
	}
	sources := []Source{{Name: path, Src: src}}
	dropIns, diags := readDropIns(filepath.Join(filepath.Dir(path), DropInDir))
	cfg, more := Parse(append(sources, dropIns...)...)
	return cfg, append(diags, more...)
}

// Parse merges sources in the order given (the first playing the main file)
// exactly as Load does, without touching the file system except to resolve
// an empty hostname.
func Parse(sources ...Source) (*Config, hcl.Diagnostics) {
	l := &loader{
		cfg:    Default(),
		origin: make(map[string]hcl.Range),
		seen:   make(map[string]hcl.Range),
	}
	for _, s := range sources {
		l.cfg.Files = append(l.cfg.Files, s.Name)
		l.file(s)
	}
	l.finish()
	return l.cfg, l.diags
}

// readDropIns lists dir the way Load promises: *.hcl only, dot-files skipped,
// lexical order (os.ReadDir sorts by name).
func readDropIns(dir string) ([]Source, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var diags hcl.Diagnostics
	if err != nil {
		// ReadDir may return what it read before failing; keep going with
		// that so one bad entry does not hide the rest.
		diags = append(diags, fileDiag(dir, "Cannot read drop-in directory", err))
	}
	var out []Source
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".hcl") {
			continue
		}
		p := filepath.Join(dir, name)
		// Stat, not the entry's own type, so a symlinked drop-in (the usual
		// way to enable a shipped example) is followed.
		info, err := os.Stat(p)
		if err != nil {
			diags = append(diags, fileDiag(p, "Cannot read drop-in file", err))
			continue
		}
		if !info.Mode().IsRegular() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Drop-in is not a regular file",
				Detail:   fmt.Sprintf("Every *.hcl entry of %s is loaded, and this one is a %s; rename or remove it.", dir, info.Mode().Type()),
				Subject:  &hcl.Range{Filename: p},
			})
			continue
		}
		src, err := readConfigFile(p)
		if err != nil {
			diags = append(diags, fileDiag(p, "Cannot read drop-in file", err))
			continue
		}
		out = append(out, Source{Name: p, Src: src})
	}
	return out, diags
}

// fileDiag reports an I/O error on a whole file. The path is already in the
// position prefix, so only the underlying reason goes in the detail.
func fileDiag(path, summary string, err error) *hcl.Diagnostic {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   err.Error() + ".",
		Subject:  &hcl.Range{Filename: path},
	}
}

// loader carries the merge state across files.
type loader struct {
	cfg   *Config
	diags hcl.Diagnostics
	// origin remembers which attribute set each merged value last, keyed
	// "name" or "block.name", so checks on the merged result (tls_cert
	// without tls_key) point at the line that matters.
	origin map[string]hcl.Range
	// seen maps `kind "label"` to its first definition, to reject duplicates.
	seen map[string]hcl.Range
	// filters holds each notify block's filter attributes, applied in finish
	// because the top-level notifications block may come from a later file.
	filters []pendingFilter
}

type pendingFilter struct {
	index int // into cfg.Notify
	attrs hcl.Attributes
	base  string
	label string
}

var singletonBlocks = map[string]bool{"http": true, "notifications": true, "logs": true, "flapping": true, "history": true}

var topSchema = func() *hcl.BodySchema {
	s := schemaOf(topFields)
	for _, t := range []string{"http", "notifications", "logs", "flapping", "history"} {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: t})
	}
	for _, t := range []string{KindNotify, KindOutput, KindTransport, KindMaintenance, KindDependency, KindCheck, KindUser, KindStore} {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: t, LabelNames: []string{"name"}})
	}
	return s
}()

var (
	httpSchema = func() *hcl.BodySchema {
		s := schemaOf(httpFields)
		s.Blocks = []hcl.BlockHeaderSchema{{Type: "trusted_proxy"}}
		return s
	}()
	notificationsSchema = func() *hcl.BodySchema {
		s := schemaOf(notificationFields)
		s.Attributes = append(s.Attributes, schemaOf(deliveryFields).Attributes...)
		return s
	}()
	logsSchema     = schemaOf(logsFields)
	flappingSchema = schemaOf(flappingFields)
	pluginSchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "plugin"}}}
	notifySchema   = func() *hcl.BodySchema {
		s := schemaOf(notificationFields)
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: "plugin"})
		return s
	}()
)

// blockText is b's source text, header to closing brace.
func blockText(b *hcl.Block, src []byte) string {
	body, ok := b.Body.(*hclsyntax.Body)
	if !ok {
		return ""
	}
	start, end := b.DefRange.Start.Byte, body.SrcRange.End.Byte
	if start < 0 || end > len(src) || start > end {
		return ""
	}
	return string(src[start:end])
}

func (l *loader) add(diags hcl.Diagnostics) { l.diags = append(l.diags, diags...) }

func (l *loader) file(s Source) {
	if diags := guard(s); diags.HasErrors() {
		l.add(diags)
		return
	}
	f, diags := hclsyntax.ParseConfig(s.Src, s.Name, hcl.InitialPos)
	l.add(diags)
	if diags.HasErrors() {
		// A body with syntax errors decodes into a cascade of misleading
		// follow-up errors; the syntax error is the one worth reading.
		return
	}
	base := baseDir(s.Name)
	content, diags := f.Body.Content(topSchema)
	l.add(diags)
	apply(l, l.cfg, topFields, content.Attributes, base, "")

	singles := make(map[string]*hcl.Block)
	for _, b := range content.Blocks {
		if b.Type == KindMaintenance {
			l.maintenance(b, base)
			continue
		}
		if b.Type == KindDependency {
			l.dependency(b, base)
			continue
		}
		if b.Type == KindCheck {
			l.check(b, base)
			continue
		}
		if b.Type == KindUser {
			l.user(b, base)
			continue
		}
		if b.Type == KindStore {
			l.store(b, base, singles)
			continue
		}
		if !singletonBlocks[b.Type] {
			l.plugin(b, base, s.Src)
			continue
		}
		if prev := singles[b.Type]; prev != nil {
			l.add(hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
				Detail: fmt.Sprintf("The %s block is already defined at %s in this file; merge the two. Only separate files (drop-ins) override each other.",
					b.Type, pos(prev.DefRange)),
				Subject: b.DefRange.Ptr(),
			}})
			continue
		}
		singles[b.Type] = b
		switch b.Type {
		case "http":
			c, d := b.Body.Content(httpSchema)
			l.add(d)
			apply(l, &l.cfg.HTTP, httpFields, c.Attributes, base, "http.")
			for i, pb := range c.Blocks {
				if i > 0 {
					l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate trusted_proxy block",
						Detail: "The http block has one trusted_proxy.", Subject: pb.DefRange.Ptr()}})
					break
				}
				l.trustedProxy(pb, base)
			}
		case "notifications":
			c, d := b.Body.Content(notificationsSchema)
			l.add(d)
			apply(l, &l.cfg.Notifications, notificationFields, c.Attributes, base, "notifications.")
			apply(l, &l.cfg.Delivery, deliveryFields, c.Attributes, base, "notifications.")
		case "logs":
			c, d := b.Body.Content(logsSchema)
			l.add(d)
			apply(l, &l.cfg.Logs, logsFields, c.Attributes, base, "logs.")
		case "flapping":
			c, d := b.Body.Content(flappingSchema)
			l.add(d)
			apply(l, &l.cfg.Flapping, flappingFields, c.Attributes, base, "flapping.")
		case "history":
			l.history(b, base)
		}
	}
}

func (l *loader) plugin(b *hcl.Block, base string, src []byte) {
	if len(b.Labels) != 1 || len(b.LabelRanges) != 1 {
		return // hcl has already reported the missing or extra label
	}
	label := b.Labels[0]
	key := b.Type + " " + strconv.Quote(label)
	if prev, ok := l.seen[key]; ok {
		l.add(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Duplicate %s block", key),
			Detail: fmt.Sprintf("%s is already defined at %s; a kind and label pair names one plugin instance, so rename one of them.",
				key, pos(prev)),
			Subject: b.DefRange.Ptr(),
		}})
		return
	}
	l.seen[key] = b.DefRange
	if strings.TrimSpace(label) == "" {
		l.add(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Empty %s label", b.Type),
			Detail:   "The label names the plugin instance in logs and in the API; give it a name.",
			Subject:  b.LabelRanges[0].Ptr(),
		}})
		return
	}

	schema := pluginSchema
	if b.Type == KindNotify {
		schema = notifySchema
	}
	content, remain, diags := b.Body.PartialContent(schema)
	l.add(diags)
	pb := PluginBlock{
		Kind:        b.Type,
		Label:       label,
		Plugin:      b.Type + "-" + label,
		Body:        remain,
		DefRange:    b.DefRange,
		PluginRange: b.LabelRanges[0],
		BaseDir:     base,
		Text:        blockText(b, src),
	}
	explicit := false
	if a, ok := content.Attributes["plugin"]; ok {
		var name string
		set, d := decodeAttr(a, &name)
		l.add(d)
		if set {
			pb.Plugin, pb.PluginRange, explicit = name, a.Expr.Range(), true
		}
	}
	if why := badPluginName(pb.Plugin); why != "" {
		detail := fmt.Sprintf("Plugin name %q %s; it must be a plain file name in plugins_dir.", pb.Plugin, why)
		if !explicit {
			detail += " The name comes from the label; set plugin = \"...\" to choose the binary."
		}
		l.add(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid plugin name",
			Detail:   detail,
			Subject:  pb.PluginRange.Ptr(),
		}})
	}

	switch b.Type {
	case KindNotify:
		delete(content.Attributes, "plugin")
		l.filters = append(l.filters, pendingFilter{index: len(l.cfg.Notify), attrs: content.Attributes, base: base, label: label})
		l.cfg.Notify = append(l.cfg.Notify, pb)
	case KindOutput:
		l.cfg.Outputs = append(l.cfg.Outputs, pb)
	case KindTransport:
		l.cfg.Transports = append(l.cfg.Transports, pb)
	}
}

// badPluginName says what is wrong with a plugin name, or "" when it is a
// plain file name: the name is joined to plugins_dir and executed, so it must
// not be able to point anywhere else.
func badPluginName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case strings.ContainsAny(name, `/\`):
		return "contains a path separator"
	case name == "." || strings.Contains(name, ".."):
		return "contains \"..\" or is \".\""
	case strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "contains a control character"
	}
	return ""
}

// finish runs the checks that need the fully merged result.
func (l *loader) finish() {
	c := l.cfg
	l.checkDependencies()
	l.pair("http.tls_cert", c.HTTP.TLSCert, "http.tls_key", c.HTTP.TLSKey, "HTTPS needs both a certificate and a key")
	l.pair("http.tls_key", c.HTTP.TLSKey, "http.tls_cert", c.HTTP.TLSCert, "HTTPS needs both a certificate and a key")
	l.pair("http.login", c.HTTP.Login, "http.password", c.HTTP.Password, "basic auth needs both a login and a password")
	l.pair("http.password", c.HTTP.Password, "http.login", c.HTTP.Login, "basic auth needs both a login and a password")

	l.checkDelivery()

	for _, p := range l.filters {
		f := c.Notifications
		apply(l, &f, notificationFields, p.attrs, p.base, "notify."+strconv.Quote(p.label)+".")
		c.Notify[p.index].Filter = &f
	}

	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			if err == nil {
				err = errors.New("empty hostname")
			}
			var subject *hcl.Range
			if r, ok := l.origin["hostname"]; ok {
				subject = r.Ptr()
			}
			l.add(hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cannot determine the hostname",
				Detail:   fmt.Sprintf("reading the system hostname: %v; set hostname in the configuration.", err),
				Subject:  subject,
			}})
		}
		c.Hostname = h
	}
}

// pair reports name set while other is empty. Empty strings mean "unset"
// for these options, so an override to "" in a drop-in turns a feature off.
func (l *loader) pair(name, val, other, otherVal, why string) {
	if val == "" || otherVal != "" {
		return
	}
	var subject *hcl.Range
	if r, ok := l.origin[name]; ok {
		subject = r.Ptr()
	}
	l.add(hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("%s without %s", name, other),
		Detail:   fmt.Sprintf("%s: set %s too, or neither.", why, other),
		Subject:  subject,
	}})
}

// defaultSendTimeout is the pipeline's send timeout when send_timeout is
// not set (notify.DefaultSendTimeout, which this package cannot import).
const defaultSendTimeout = time.Minute

// checkDelivery refuses a lease that a Send could outlive: its result would
// find the row claimed again, by another master or by this one.
func (l *loader) checkDelivery() {
	d := l.cfg.Delivery
	send := d.SendTimeout
	if send == 0 {
		send = defaultSendTimeout
	}
	if d.Lease == 0 || d.Lease > send {
		return
	}
	var subject *hcl.Range
	if r, ok := l.origin["notifications.lease"]; ok {
		subject = r.Ptr()
	}
	l.add(hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Lease too short",
		Detail: fmt.Sprintf("notifications.lease (%s) must be longer than notifications.send_timeout (%s): a send must end before its claim does; raise lease or lower send_timeout.",
			d.Lease, send),
		Subject: subject,
	}})
}

// apply decodes attrs in source order onto r; a value that fails to decode
// or validate leaves r unchanged, so an earlier file's value survives.
func apply[R any](l *loader, r *R, fields []field[R], attrs hcl.Attributes, base, prefix string) {
	sorted := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		sorted = append(sorted, a)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Range.Start.Byte < sorted[j].Range.Start.Byte })
	for _, a := range sorted {
		for _, f := range fields {
			if f.name != a.Name {
				continue
			}
			set, diags := f.decode(r, a, fieldCtx{base: base, name: prefix + a.Name})
			l.add(diags)
			if set && !diags.HasErrors() {
				l.origin[prefix+a.Name] = a.Range
			}
		}
	}
}

// baseDir is the absolute directory of a config file, the base of its
// relative paths. If the working directory is gone, the relative directory is
// the best that can be done.
func baseDir(name string) string {
	dir := filepath.Dir(name)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// resolvePath makes p absolute against base; "" stays "" because it means
// "unset" for every path option.
func resolvePath(base, p string) string {
	switch {
	case p == "":
		return ""
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	default:
		return filepath.Join(base, p)
	}
}

// pos renders a range's start as file:line,col, the shape every message of
// this package uses.
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}

// claimName returns the label of a kind "name" block (check, dependency,
// maintenance, user), and false when it has no single label (hcl said so)
// or another block of the kind already has that name (said here).
func (l *loader) claimName(b *hcl.Block, kind string) (string, bool) {
	if len(b.Labels) != 1 || len(b.LabelRanges) != 1 {
		return "", false
	}
	key := kind + " " + strconv.Quote(b.Labels[0])
	if prev, ok := l.seen[key]; ok {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate " + key + " block",
			Detail:  fmt.Sprintf("%s is already defined at %s; rename one of them.", key, pos(prev)),
			Subject: b.DefRange.Ptr()}})
		return "", false
	}
	l.seen[key] = b.DefRange
	return b.Labels[0], true
}

// decodeFields decodes b's body onto r by fields (attributes named prefix
// + name in messages); it returns the body's content, and false when
// something was refused (reported).
func decodeFields[R any](l *loader, b *hcl.Block, r *R, fields []field[R], base, prefix string) (*hcl.BodyContent, bool) {
	content, diags := b.Body.Content(schemaOf(fields))
	l.add(diags)
	if diags.HasErrors() {
		return nil, false
	}
	n := len(l.diags)
	apply(l, r, fields, content.Attributes, base, prefix)
	return content, !(len(l.diags) > n && l.diags[n:].HasErrors())
}
