package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scripts/test-deps on a machine that lacks a tool the suite drives: run
// as an ordinary user it installs nothing and stops the suite with the
// exact apt-get line to run as root. The machine is simulated by a PATH
// holding only what the script itself needs.
func TestTestDepsStopsWithTheInstallLine(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run the script as another user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv (util-linux) is needed to run as an ordinary user: %v", err)
	}
	// Not t.TempDir: its parent is private to root, and the script runs as
	// nobody.
	bin, err := os.MkdirTemp("", "test-deps-path")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// What the script runs, and make: chromium, apprise and the others are
	// missing.
	for _, tool := range []string{"sh", "id", "cat", "make"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	script, err := filepath.Abs(filepath.Join(repo, "scripts", "test-deps"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", filepath.Join(bin, "sh"), script)
	cmd.Env = []string{"PATH=" + bin}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("test-deps as nobody: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"The test suite needs tools that are not installed:", "chromium (chromium)",
		"apprise (apprise)", "apt-get install -y --no-install-recommends ", " chromium", " apprise"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "installing") || strings.Contains(string(out), "make (make)") {
		t.Errorf("it tried to install, or asks for what is there:\n%s", out)
	}
}
