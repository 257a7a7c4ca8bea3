package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A quoted port is a typing mistake; it is refused with its position instead
// of being converted silently.
func TestQuotedPortRefusedWithPosition(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wigo.hcl")
	if err := os.WriteFile(path, []byte("http {\n  port = \"4000\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("port = \"4000\" accepted")
	}
	if !strings.Contains(err.Error(), "wigo.hcl:2") {
		t.Fatalf("error has no position: %v", err)
	}
}
