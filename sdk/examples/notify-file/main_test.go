package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wigo-project/wigo/sdk/sdktest"
)

func TestNotifyAppendsALine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	c := sdktest.Notifier(t, &fileNotifier{}) // in-process, over real gRPC
	if err := c.Configure(fmt.Sprintf("path = %q", path)); err != nil {
		t.Fatal(err)
	}
	n := sdktest.Notification() // a ready-made probe change
	if err := c.Notify(n); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := n.Date + " " + n.EventId + " CRIT " + n.Message + "\n"; string(got) != want {
		t.Fatalf("file = %q, want %q", got, want)
	}
}

// A relative path reaches the plugin absolute: the host resolves a path
// attribute against the directory of the file that sets it.
func TestRelativePathArrivesAbsolute(t *testing.T) {
	f := &fileNotifier{}
	c := sdktest.Notifier(t, f)
	if err := c.Configure(`path = "out/relative.log"`); err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(f.cfg.Path) || !strings.HasSuffix(f.cfg.Path, "/out/relative.log") {
		t.Errorf("path = %q, want it absolute", f.cfg.Path)
	}
}

func TestConfigErrors(t *testing.T) {
	c := sdktest.Notifier(t, &fileNotifier{})
	for src, want := range map[string]string{
		`pth = "/tmp/x"`:                  `test.hcl:1,1: Unsupported argument`,
		"path = \"/x\"\nformat = \"xml\"": `format "xml"`,
	} {
		if err := c.Configure(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Configure(%q) = %v, want %q", src, err, want)
		}
	}
}
