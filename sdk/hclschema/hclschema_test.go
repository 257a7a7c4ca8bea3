package hclschema

import (
	"strings"
	"testing"

	"github.com/wigo-project/wigo/sdk"
)

var schema = sdk.Schema{
	Attributes: []sdk.Attribute{
		{Name: "url", Type: sdk.TypeString, Required: true},
		{Name: "n", Type: sdk.TypeNumber, Default: 10},
		{Name: "on", Type: sdk.TypeBool, Default: false},
		{Name: "to", Type: sdk.TypeListString},
		{Name: "headers", Type: sdk.TypeMapString, Default: map[string]string{}},
	},
	Blocks: []sdk.Block{
		{TypeName: "target", Label: "name", Body: sdk.Schema{Attributes: []sdk.Attribute{
			{Name: "urls", Type: sdk.TypeListString, Required: true},
			{Name: "groups", Type: sdk.TypeListString, Default: []string{}},
		}}},
		{TypeName: "rule", Body: sdk.Schema{Attributes: []sdk.Attribute{{Name: "x", Type: sdk.TypeNumber}}}},
	},
}

func TestDecode(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"defaults": {`url = "u"`,
			`{"headers":{},"n":10,"on":false,"rule":[],"target":{},"to":null,"url":"u"}`},
		"everything": {`
url = "u"
n = 2 * 3
on = true
to = ["a", "b"]
headers = { A = "1", "B-c" = "2" }
target "ops" {
  urls = ["x"]
}
rule { x = 1 }
rule { x = 2 }
`, `{"headers":{"A":"1","B-c":"2"},"n":6,"on":true,"rule":[{"x":1},{"x":2}],"target":{"ops":{"groups":[],"urls":["x"]}},"to":["a","b"],"url":"u"}`},
		"conversion": {"url = 12\nto = [1]", `{"headers":{},"n":10,"on":false,"rule":[],"target":{},"to":["1"],"url":"12"}`},
	} {
		t.Run(name, func(t *testing.T) {
			got, diags := DecodeSource("t.hcl", tc.src, schema)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"typo":        {"url = \"u\"\nurll = 1", `t.hcl:2,1-5: Unsupported argument; An argument named "urll" is not expected here.`},
		"missing":     {``, `Missing required argument`},
		"type":        {"url = \"u\"\non = \"maybe\"", `t.hcl:2,6-13: Incorrect attribute value type`},
		"template":    {`url = "${1e99999999 * 1e99999999}"`, `t.hcl:1,7-35: Expression not allowed`},
		"huge":        {`url = 1e99999999 * 1e99999999`, `t.hcl:1,7-30: Number out of range`},
		"nested huge": {"url = \"u\"\ntarget \"a\" {\n urls = [1e999999 * 1e999999]\n}", `t.hcl:3,9-30: Number out of range`},
		"variable":    {`url = foo`, `Variables not allowed`},
		"function":    {`url = upper("x")`, `Function calls not allowed`},
		"no label":    {"url = \"u\"\ntarget { urls = [] }", `Missing name for target`},
	} {
		t.Run(name, func(t *testing.T) {
			_, diags := DecodeSource("t.hcl", tc.src, schema)
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
				t.Fatalf("diags = %v, want %q", diags, tc.want)
			}
		})
	}
}

func TestSpecRefusesBadSchemas(t *testing.T) {
	for name, s := range map[string]sdk.Schema{
		"type":        {Attributes: []sdk.Attribute{{Name: "a", Type: "list(number)"}}},
		"name":        {Attributes: []sdk.Attribute{{Name: "a b", Type: sdk.TypeString}}},
		"dup":         {Attributes: []sdk.Attribute{{Name: "a", Type: sdk.TypeString}, {Name: "a", Type: sdk.TypeString}}},
		"default":     {Attributes: []sdk.Attribute{{Name: "a", Type: sdk.TypeBool, Default: "yes"}}},
		"req+default": {Attributes: []sdk.Attribute{{Name: "a", Type: sdk.TypeString, Required: true, Default: "x"}}},
	} {
		if _, err := Spec(s); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
