package config

import (
	"fmt"
	"net/netip"

	"github.com/hashicorp/hcl/v2"

	"github.com/wigo-project/wigo/core/auth"
)

// KindUser is the block type of a user "name" block.
const KindUser = "user"

// User is one user "name" block: who may log in with basic auth, with
// the password whose hash `wigo passwd` printed, and the role it has.
type User struct {
	Name         string
	PasswordHash string
	Role         auth.Role
	// DefRange is the block header, for messages.
	DefRange hcl.Range
}

// TrustedProxy is the http block's trusted_proxy block: a proxy that
// logged the user in names them in Header (and their role in RoleHeader,
// else DefaultRole); believed only from the From networks.
type TrustedProxy struct {
	Header, RoleHeader string
	DefaultRole        auth.Role
	From               []netip.Prefix
}

// roleField reads a role name; none is not one (a user or proxy that may do
// nothing is left out instead).
func roleField[R any](name string, dst func(*R) *auth.Role) field[R] {
	return field[R]{name: name, decode: func(r *R, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		role, err := auth.ParseRole(v)
		if err != nil || role == auth.RoleNone {
			return false, append(diags, invalid(a, "Invalid role", fmt.Sprintf("%s must be viewer, operator or admin, got %.40q.", ctx.name, v)))
		}
		*dst(r) = role
		return true, diags
	}}
}

var userFields = []field[User]{
	{name: "password_hash", decode: func(u *User, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		if err := auth.CheckHash(v); err != nil {
			return false, append(diags, invalid(a, "Invalid password_hash", fmt.Sprintf("%s: %v.", ctx.name, err)))
		}
		u.PasswordHash = v
		return true, diags
	}},
	roleField("role", func(u *User) *auth.Role { return &u.Role }),
}

var proxyFields = []field[TrustedProxy]{
	stringField("header", func(p *TrustedProxy) *string { return &p.Header }),
	stringField("role_header", func(p *TrustedProxy) *string { return &p.RoleHeader }),
	roleField("default_role", func(p *TrustedProxy) *auth.Role { return &p.DefaultRole }),
	{name: "from", decode: func(p *TrustedProxy, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v []string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		var out []netip.Prefix
		for i, s := range v {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				addr, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return false, append(diags, invalid(a, "Invalid network",
						fmt.Sprintf("%s[%d] must be an address or a network such as 10.0.0.0/8, got %.40q.", ctx.name, i, s)))
				}
				pfx = netip.PrefixFrom(addr, addr.BitLen())
			}
			out = append(out, pfx.Masked())
		}
		p.From = out
		return true, diags
	}},
}

// user reads a user block: it needs a password hash and a role.
func (l *loader) user(b *hcl.Block, base string) {
	name, ok := l.claimName(b, KindUser)
	if !ok {
		return
	}
	u := User{Name: name, DefRange: b.DefRange}
	if u.Name == "" || len(u.Name) > 64 || u.Name == "local" || u.Name == "anonymous" || u.Name[0] == ' ' {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid user name",
			Detail:  fmt.Sprintf("user %q: a name of 1 to 64 characters, not local or anonymous (those name requests without credentials).", u.Name),
			Subject: b.LabelRanges[0].Ptr()}})
		return
	}
	if _, ok := decodeFields(l, b, &u, userFields, base, "user."+u.Name+"."); !ok {
		return
	}
	if u.PasswordHash == "" || u.Role == auth.RoleNone {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incomplete user",
			Detail:  fmt.Sprintf("user %q needs password_hash (from wigo passwd) and role (viewer, operator or admin).", u.Name),
			Subject: b.DefRange.Ptr()}})
		return
	}
	l.cfg.Users = append(l.cfg.Users, u)
}

// trustedProxy reads the http block's trusted_proxy block.
func (l *loader) trustedProxy(b *hcl.Block, base string) {
	p := TrustedProxy{DefaultRole: auth.RoleViewer}
	if _, ok := decodeFields(l, b, &p, proxyFields, base, "http.trusted_proxy."); !ok {
		return
	}
	if p.Header == "" || len(p.From) == 0 {
		l.add(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incomplete trusted_proxy",
			Detail:  "trusted_proxy needs header (the one naming the user) and from (the proxy's addresses: the header is believed from those only).",
			Subject: b.DefRange.Ptr()}})
		return
	}
	l.cfg.HTTP.TrustedProxy = &p
}
