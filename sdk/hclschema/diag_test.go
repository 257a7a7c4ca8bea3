package hclschema

import (
	"fmt"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/wigo-project/wigo/sdk"
)

func TestDiagnosticsAtTheAttribute(t *testing.T) {
	src := `url = "ftp://x/"
to  = ["a", "b"]
headers = {
  X-A = "1"
}
target "ops" {
  urls = ["u1", "u2"]
}
rule {
  x = 1
}
rule {
  x = 2
}
`
	f, diags := hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	block := hcl.Range{Filename: "t.hcl", Start: hcl.Pos{Line: 99, Column: 1}}
	for _, tc := range []struct {
		path sdk.Path
		want string // where the diagnostic lands, line,col
	}{
		{sdk.AttributePath("url"), "1,7"},
		{sdk.AttributePath("to").Index(1), "2,13"},
		{sdk.AttributePath("to").Index(7), "2,7"},
		{sdk.AttributePath("headers").Key("X-A"), "4,9"},
		{sdk.AttributePath("target").Key("ops").Attr("urls"), "7,10"},
		{sdk.AttributePath("target").Key("ops").Attr("urls").Index(0), "7,11"},
		{sdk.AttributePath("target").Key("ops"), "6,1"},
		{sdk.AttributePath("rule").Index(1).Attr("x"), "13,7"},
		{sdk.AttributePath("n"), "99,1"},                              // left to its default
		{sdk.AttributePath("target").Key("dev").Attr("urls"), "99,1"}, // no such block
		{nil, "99,1"},
	} {
		d := Diagnostics(f.Body, schema, sdk.Diagnostics{{Summary: "bad", Path: tc.path}}, block)
		if len(d) != 1 || d[0].Severity != hcl.DiagError {
			t.Fatalf("%s: %v", tc.path, d)
		}
		if got := fmt.Sprintf("%d,%d", d[0].Subject.Start.Line, d[0].Subject.Start.Column); got != tc.want {
			t.Errorf("%s: at %s, want %s", tc.path, got, tc.want)
		}
		if tc.want == "99,1" && len(tc.path) > 0 && d[0].Detail != fmt.Sprintf("(about %s, not set in this block)", tc.path) {
			t.Errorf("%s: detail %q does not name the path", tc.path, d[0].Detail)
		}
	}
	w := Diagnostics(f.Body, schema, sdk.Diagnostics{{Severity: sdk.SeverityWarning, Summary: "old"}}, block)
	if w.HasErrors() {
		t.Errorf("a warning became an error: %v", w)
	}
}
