package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wigo-project/wigo/core/config"
)

// TestChangedPlugins: a reload names the plugin blocks it does not apply:
// added, removed, changed (a body, or the file's notifications filters),
// and nothing when only comments around them moved.
func TestChangedPlugins(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wigo.hcl")
	load := func(src string) *config.Config {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := config.Load(path)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return cfg
	}
	base := "hostname = \"h\"\n"
	a := load(base + `notify "http" { url = "http://a/" }` + "\n" + `transport "pull" { remotes = ["x"] }` + "\n")
	same := load("# a comment\n" + base + `notify "http" { url = "http://a/" }` + "\n\n" + `transport "pull" { remotes = ["x"] }` + "\n")
	if got := changedPlugins(a, same); len(got) != 0 {
		t.Fatalf("unchanged blocks reported: %v", got)
	}
	b := load(base + `notify "http" { url = "http://b/" }` + "\n" + `output "opentsdb" { address = ["t:4242"] }` + "\n" +
		"notifications {\n  min_level = 300\n}\n")
	got := strings.Join(changedPlugins(a, b), "; ")
	want := `notifications (the filters of every notify block); notify "http" changed; output "opentsdb" added; transport "pull" removed`
	if got != want {
		t.Fatalf("changed:\n got %s\nwant %s", got, want)
	}
}
