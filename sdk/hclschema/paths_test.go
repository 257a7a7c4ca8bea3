package hclschema

import (
	"encoding/json"
	"testing"

	"github.com/wigo-project/wigo/sdk"
)

// Relative path attributes arrive absolute, against the directory of the
// file that sets them, at any depth of blocks; absolute and empty ones and
// plain strings are left alone.
func TestDecodeResolvesRelativePaths(t *testing.T) {
	s := sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "cert", Type: sdk.TypePath},
			{Name: "key", Type: sdk.TypePath, Default: "/etc/wigo/k"},
			{Name: "empty", Type: sdk.TypePath, Default: ""},
			{Name: "label", Type: sdk.TypeString},
		},
		Blocks: []sdk.Block{
			{TypeName: "client", Body: sdk.Schema{Attributes: []sdk.Attribute{{Name: "sig", Type: sdk.TypePath}}}},
			{TypeName: "remote", Label: "name", Body: sdk.Schema{Attributes: []sdk.Attribute{{Name: "ca", Type: sdk.TypePath}}}},
		},
	}
	got, diags := DecodeSource("/etc/wigo/wigo.d/10-push.hcl", `
cert  = "ssl/master.crt"
label = "ssl/not-a-path"
client { sig = "../state/uuid.sig" }
remote "a" { ca = "/abs/ca.pem" }
remote "b" { ca = "ca.pem" }
`, s)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var v struct {
		Cert, Key, Empty, Label string
		Client                  []struct{ Sig string }
		Remote                  map[string]struct{ CA string }
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"cert":     {v.Cert, "/etc/wigo/wigo.d/ssl/master.crt"},
		"key":      {v.Key, "/etc/wigo/k"},
		"empty":    {v.Empty, ""},
		"label":    {v.Label, "ssl/not-a-path"},
		"sig":      {v.Client[0].Sig, "/etc/wigo/state/uuid.sig"},
		"remote a": {v.Remote["a"].CA, "/abs/ca.pem"},
		"remote b": {v.Remote["b"].CA, "/etc/wigo/wigo.d/ca.pem"},
	}
	for name, w := range want {
		if w[0] != w[1] {
			t.Errorf("%s = %q, want %q", name, w[0], w[1])
		}
	}
}
