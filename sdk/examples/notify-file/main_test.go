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

func TestConfigErrors(t *testing.T) {
	c := sdktest.Notifier(t, &fileNotifier{})
	for src, want := range map[string]string{
		`pth = "/tmp/x"`:                  `test.hcl:1,1: Unsupported argument`,
		`path = "relative"`:               `want an absolute path`,
		"path = \"/x\"\nformat = \"xml\"": `format "xml"`,
	} {
		if err := c.Configure(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Configure(%q) = %v, want %q", src, err, want)
		}
	}
}
