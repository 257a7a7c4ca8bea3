package config

import (
	"strings"
	"testing"
	"time"
)

// The history block is read with its defaults, and its mistakes are
// refused with the file, line and column of the value.
func TestHistoryBlock(t *testing.T) {
	cfg, diags := Parse(Source{Name: "/etc/wigo/wigo.hcl", Src: []byte("history {\n  remote_hosts = true\n  raw_retention = 3600\n}\n")})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	want := History{Enabled: true, RemoteHosts: true, RawRetention: time.Hour, Retention: 30 * 24 * time.Hour}
	if cfg.History != want {
		t.Errorf("history = %+v, want %+v", cfg.History, want)
	}

	for _, c := range []struct{ src, want string }{
		{"history {\n  raw_retention = 0\n}\n",
			"/etc/wigo/wigo.hcl:2,19: Value out of range; history.raw_retention must be a number of seconds greater than 0"},
		{"history {\n  retention = 3600\n}\n",
			"/etc/wigo/wigo.hcl:1,1: Raw retention longer than the retention; history.raw_retention (172800 s) must not exceed history.retention (3600 s)"},
		{"history {\n  retention = 7200\n  raw_retention = 7201\n}\n",
			"/etc/wigo/wigo.hcl:3,19: Raw retention longer than the retention;"},
		{"history {\n  enabled = \"yes\"\n}\n",
			"/etc/wigo/wigo.hcl:2,13: Incorrect attribute value type;"},
		{"history {\n  keep = 1\n}\n",
			"/etc/wigo/wigo.hcl:2,3: Unsupported argument;"},
	} {
		_, diags := Parse(Source{Name: "/etc/wigo/wigo.hcl", Src: []byte(c.src)})
		if got := FormatDiagnostics(diags); !strings.HasPrefix(got, c.want) {
			t.Errorf("%q:\n got %q\nwant prefix %q", c.src, got, c.want)
		}
	}
}
