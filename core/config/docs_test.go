package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// The README's layout table names every package of the tree: a package
// added without a line there fails here.
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## Layout")
	if start < 0 {
		t.Fatal("README has no Layout section")
	}
	layout := readme[start:]
	for _, parent := range []string{"core", "cmd"} {
		entries, err := os.ReadDir(filepath.Join("../..", parent))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() && !strings.Contains(layout, "`"+parent+"/"+e.Name()+"`") {
				t.Errorf("README's layout table does not name %s/%s", parent, e.Name())
			}
		}
	}
	if !strings.Contains(layout, "`plugins/*`") || !strings.Contains(layout, "`sdk`") {
		t.Error("README's layout table does not name plugins/* and sdk")
	}
}
