package config

import (
	"strings"
	"testing"
)

// Hostile files are refused with a position before the parser could
// overflow its stack (a fatal error no recover catches), and hostile
// identities are refused at their attribute.
func TestHostileFilesRefusedWithPosition(t *testing.T) {
	const deep = 100_000
	cases := []struct {
		name, src, want string
	}{
		{"nested lists", "\nhostname = " + strings.Repeat("[", deep) + strings.Repeat("]", deep) + "\n", "wigo.hcl:2,76: Configuration nested too deep"},
		{"nested parens", "group = " + strings.Repeat("(", deep) + "1" + strings.Repeat(")", deep) + "\n", "wigo.hcl:1,73: Configuration nested too deep"},
		{"nested blocks", strings.Repeat("http {\n", deep) + strings.Repeat("}\n", deep), "wigo.hcl:65,6: Configuration nested too deep"},
		{"nested interpolations", "group = \"" + strings.Repeat("${\"", deep) + strings.Repeat("\"}", deep) + "\"\n", "Configuration nested too deep"},
		{"prefix operators", "alive_timeout = " + strings.Repeat("-", deep) + "1\n", "wigo.hcl:1,81: Configuration nested too deep"},
		{"negations", "http {\n  gzip = " + strings.Repeat("!", deep) + "true\n}\n", "wigo.hcl:2,74: Configuration nested too deep"},
		{"conditional chain", "group = " + strings.Repeat("true ? \"a\" : ", deep) + "\"b\"\n", "Configuration nested too deep"},
		{"huge file", "# " + strings.Repeat("x", MaxFileBytes) + "\n", "wigo.hcl:1,1: Configuration file too large"},
		{"huge hostname", "hostname = \"" + strings.Repeat("h", 1<<20) + "\"\n", "wigo.hcl:1,12: Invalid hostname"},
		{"NUL in hostname", "hostname = \"web\\u0000-01\"\n", "wigo.hcl:1,12: Invalid hostname"},
		{"slash in group", "\n\ngroup = \"a/b\"\n", "wigo.hcl:3,9: Invalid group"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, diags := Parse(Source{Name: "wigo.hcl", Src: []byte(c.src)})
			if !diags.HasErrors() {
				t.Fatal("accepted")
			}
			if got := FormatDiagnostics(diags); !strings.Contains(got, c.want) {
				t.Fatalf("diagnostics lack %q:\n%.500s", c.want, got)
			}
		})
	}
}

// What a configuration really writes stays within the limits.
func TestOrdinaryNestingAccepted(t *testing.T) {
	src := `hostname = "web-01.example.org"
group = "web servers"
alive_timeout = 1 - 0.5
http {
  gzip = !false
  allowed_hosts = ["wigo.example.org", "10.0.0.1"]
}
`
	cfg, diags := Parse(Source{Name: "wigo.hcl", Src: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if cfg.Hostname != "web-01.example.org" || cfg.Group != "web servers" || len(cfg.HTTP.AllowedHosts) != 2 || !cfg.HTTP.Gzip {
		t.Fatalf("cfg = %+v", cfg)
	}
}
