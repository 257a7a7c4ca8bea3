package config

import (
	"strings"
	"testing"
)

func TestCheckBlocks(t *testing.T) {
	cfg, diags := Parse(Source{Name: "MAIN", Src: []byte(`attempts = 2
check "disks" {
  probes            = ["disk*", "raid"]
  hosts             = ["db-*"]
  attempts          = 5
  recovery_attempts = 3
}
check "load" {
  probes   = ["load"]
  attempts = 1
}
`)})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if c := cfg.Checks; len(c) != 2 || c[0].Name != "disks" || len(c[0].Probes) != 2 || c[0].Hosts[0] != "db-*" ||
		c[0].Attempts != 5 || c[0].RecoveryAttempts != 3 || c[1].Attempts != 1 || c[1].RecoveryAttempts != 0 || cfg.Attempts != 2 {
		t.Fatalf("read %+v (attempts %d)", c, cfg.Attempts)
	}
	for _, c := range []struct{ src, want string }{
		{"check \"a\" {\n  attempts = 3\n}\n", `MAIN:1,1: Check that matches every probe`},
		{"check \"a\" {\n  probes = [\"disk\"]\n}\n", `MAIN:1,1: Check that sets nothing`},
		{"check \"a\" {\n  probes = [\"disk\"]\n  attempts = 0\n}\n", `MAIN:3,14: Value out of range`},
		{"check \"a\" {\n  probes = [\"disk\"]\n  attempts = 101\n}\n", `MAIN:3,14: Value out of range`},
		{"check \"a\" {\n  probes = [\"a b\"]\n  attempts = 2\n}\n", `MAIN:2,12: Invalid name`},
		{"check \"a\" {\n  probes = [\"disk\"]\n  timeout = 2\n}\n", `MAIN:3,3: Unsupported argument`},
		{"check \"a\" {\n  probes = [\"x\"]\n  attempts = 2\n}\ncheck \"a\" {\n  probes = [\"y\"]\n  attempts = 2\n}\n", `MAIN:5,1: Duplicate check "a" block`},
	} {
		_, diags := Parse(Source{Name: "MAIN", Src: []byte(c.src)})
		if got := FormatDiagnostics(diags); !diags.HasErrors() || !strings.Contains(got, c.want) {
			t.Errorf("%q:\n got %s\nwant %s", c.src, got, c.want)
		}
	}
}
