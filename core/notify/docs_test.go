package notify

import (
	"os"
	"regexp"
	"testing"

	"github.com/wigo-project/wigo/core/config"
)

// The notify blocks of the README's and the operators guide's HCL examples
// pass this package's part of `wigo -check` too (routing, renotify,
// escalation, quiet hours): config's TestDocumentedExamplesParse stops at
// the core configuration.
func TestDocumentedNotifyBlocks(t *testing.T) {
	block := regexp.MustCompile("(?s)```hcl\n(.*?)```")
	quiet := 0
	for _, f := range []string{"../../README.md", "../../docs/operators.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllSubmatch(b, -1) {
			cfg, diags := config.Parse(config.Source{Name: "/etc/wigo/wigo.hcl", Src: m[1]})
			if diags.HasErrors() {
				continue // config's own test reports it
			}
			for _, nb := range cfg.Notify {
				in, _, diags := InstanceFromBlock(nb)
				if diags.HasErrors() {
					t.Errorf("%s, HCL example %d, notify %q refused:\n%s", f, i+1, nb.Label, config.FormatDiagnostics(diags))
				}
				if in.QuietHours != nil {
					quiet++
				}
			}
		}
	}
	if quiet < 2 {
		t.Errorf("%d documented notify blocks with quiet hours, want the README's and the guide's", quiet)
	}
}
