package config

import (
	"strings"
	"testing"

	"github.com/wigo-project/wigo/core/auth"
)

func TestUsersAndProxy(t *testing.T) {
	hash, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := Parse(Source{Name: "MAIN", Src: []byte(`user "alice" {
  password_hash = "` + hash + `"
  role          = "operator"
}
http {
  anonymous_role = "viewer"
  trusted_proxy {
    header      = "X-Forwarded-User"
    role_header = "X-Forwarded-Role"
    from        = ["127.0.0.1", "10.0.0.0/8"]
  }
}
`)})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if u := cfg.Users; len(u) != 1 || u[0].Name != "alice" || u[0].Role != auth.RoleOperator || u[0].PasswordHash != hash {
		t.Errorf("users %+v", u)
	}
	p := cfg.HTTP.TrustedProxy
	if cfg.HTTP.AnonymousRole != "viewer" || p == nil || p.Header != "X-Forwarded-User" || p.DefaultRole != auth.RoleViewer ||
		len(p.From) != 2 || p.From[0].String() != "127.0.0.1/32" || p.From[1].String() != "10.0.0.0/8" {
		t.Errorf("http %+v, proxy %+v", cfg.HTTP, p)
	}
	for _, c := range []struct{ src, want string }{
		{"user \"bob\" {\n  role = \"viewer\"\n}\n", `MAIN:1,1: Incomplete user`},
		{"user \"bob\" {\n  password_hash = \"hunter2\"\n  role = \"viewer\"\n}\n", `MAIN:2,19: Invalid password_hash`},
		{"user \"bob\" {\n  password_hash = \"" + hash + "\"\n  role = \"root\"\n}\n", `MAIN:3,10: Invalid role`},
		{"user \"local\" {\n  password_hash = \"" + hash + "\"\n  role = \"admin\"\n}\n", `MAIN:1,6: Invalid user name`},
		{"http {\n  anonymous_role = \"admin\"\n}\n", `MAIN:2,20: Invalid anonymous_role`},
		{"http {\n  trusted_proxy {\n    header = \"X-User\"\n  }\n}\n", `MAIN:2,3: Incomplete trusted_proxy`},
		{"http {\n  trusted_proxy {\n    header = \"X-User\"\n    from = [\"10.0.0.0/33\"]\n  }\n}\n", `MAIN:4,12: Invalid network`},
	} {
		_, diags := Parse(Source{Name: "MAIN", Src: []byte(c.src)})
		if got := FormatDiagnostics(diags); !diags.HasErrors() || !strings.Contains(got, c.want) {
			t.Errorf("%q:\n got %s\nwant %s", c.src, got, c.want)
		}
	}
}

func TestPublicURL(t *testing.T) {
	cfg, diags := Parse(Source{Name: "MAIN", Src: []byte("http {\n  public_url = \"https://wigo.example.org/ops\"\n}\n")})
	if diags.HasErrors() || cfg.HTTP.PublicURL != "https://wigo.example.org/ops/" {
		t.Fatalf("public_url: %q %s", cfg.HTTP.PublicURL, FormatDiagnostics(diags))
	}
	for _, bad := range []string{"wigo.example.org", "ftp://x/", "https:///", "https://x/?a=1", "https://x/#/hosts"} {
		_, diags := Parse(Source{Name: "MAIN", Src: []byte("http {\n  public_url = \"" + bad + "\"\n}\n")})
		if got := FormatDiagnostics(diags); !strings.Contains(got, "MAIN:2,16: Invalid public_url") {
			t.Errorf("public_url = %q: %s", bad, got)
		}
	}
}
