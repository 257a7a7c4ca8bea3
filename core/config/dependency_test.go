package config

import (
	"strings"
	"testing"
)

func TestDependencyBlocks(t *testing.T) {
	cfg, diags := Parse(Source{Name: "MAIN", Src: []byte(`dependency "behind-relay" {
  hosts   = ["app*"]
  groups  = ["dmz"]
  parents = ["relay-1", "relay-2"]
}
`)})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if d := cfg.Dependencies; len(d) != 1 || d[0].Name != "behind-relay" || len(d[0].Parents) != 2 || d[0].Groups[0] != "dmz" {
		t.Fatalf("read %+v", d)
	}
	// Every host behind the gateway, the gateway excepted: no cycle.
	if _, diags := Parse(Source{Name: "MAIN", Src: []byte("dependency \"all\" {\n  hosts = [\"*\"]\n  parents = [\"gw\"]\n}\n")}); diags.HasErrors() {
		t.Errorf("hosts = [\"*\"] behind gw refused: %s", FormatDiagnostics(diags))
	}
	for _, c := range []struct{ src, want string }{
		{"dependency \"a\" {\n  hosts = [\"app*\"]\n}\n", `MAIN:1,1: Dependency without parents`},
		{"dependency \"a\" {\n  parents = [\"r\"]\n}\n", `MAIN:1,1: Dependency without children`},
		{"dependency \"a\" {\n  hosts = [\"app*\"]\n  parents = [\"relay*\"]\n}\n", `MAIN:3,13: Invalid parent; parents must be host names, not patterns: "relay*".`},
		// relay-1 is behind relay-2, which is behind relay-1.
		{"dependency \"a\" {\n  hosts = [\"relay-1\"]\n  parents = [\"relay-2\"]\n}\ndependency \"b\" {\n  hosts = [\"relay-*\"]\n  parents = [\"relay-1\"]\n}\n",
			`MAIN:1,1: Dependency cycle; dependency "a": parent "relay-2" is, through the dependencies, behind itself.`},
	} {
		_, diags := Parse(Source{Name: "MAIN", Src: []byte(c.src)})
		if got := FormatDiagnostics(diags); !diags.HasErrors() || !strings.Contains(got, c.want) {
			t.Errorf("%q:\n got %s\nwant %s", c.src, got, c.want)
		}
	}
}
