package config

import (
	"os"
	"regexp"
	"testing"
)

// Every HCL example an operator may copy from the README or the operators
// guide passes the core's checks (what `wigo -check` runs before the
// plugins' own): an example that -check refuses is a trap.
func TestDocumentedExamplesParse(t *testing.T) {
	block := regexp.MustCompile("(?s)```hcl\n(.*?)```")
	total := 0
	for _, f := range []string{"../../README.md", "../../docs/operators.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllSubmatch(b, -1) {
			total++
			if _, diags := Parse(Source{Name: "/etc/wigo/wigo.hcl", Src: m[1]}); diags.HasErrors() {
				t.Errorf("%s, HCL example %d:\n%s\nrefused:\n%s", f, i+1, m[1], FormatDiagnostics(diags))
			}
		}
	}
	if total < 10 {
		t.Fatalf("only %d HCL examples found: the pattern no longer matches the docs", total)
	}
}
