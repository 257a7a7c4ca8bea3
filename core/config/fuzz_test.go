package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// FuzzLoad feeds arbitrary bytes as the main file: whatever they are, Load
// must answer with diagnostics, never a panic, and the plugin bodies it hands
// out must be safe to decode.
func FuzzLoad(f *testing.F) {
	if src, err := os.ReadFile("../../etc/wigo.hcl"); err == nil {
		f.Add(src)
	}
	for _, s := range []string{
		mainHCL, siteHCL, hostHCL,
		"alive_timeout = 1e400\nprobe_timeout = -1e-400\n",
		"http { port = 1e30 }\nlogs { retention_days = 9223372036854775808 }\n",
		"notify \"\\u0000\" { plugin = \"..\" }\n",
		"notify \"x\" { min_level = [1] \n on_host_change = {a = 1} }\n",
		"hostname = 1 / 0\ngroup = \"${1}\"\n",
		"group = 1e99999999 * 1e99999999\nlog_level = [1e-99999999 / 1e99999999]\n",
		"http {\n http {\n",
		"\xff\xfe\x00",
		"a = <<EOT\nx\nEOT\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		path := filepath.Join(t.TempDir(), "wigo.hcl")
		if err := os.WriteFile(path, src, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(path)
		if cfg == nil {
			t.Fatal("nil Config")
		}
		_ = FormatDiagnostics(diags)
		for _, list := range [][]PluginBlock{cfg.Notify, cfg.Outputs, cfg.Transports} {
			for _, pb := range list {
				_, _, _ = pb.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "url"}}})
				_, _ = pb.Body.JustAttributes()
			}
		}
	})
}
