package config

import (
	"strings"
	"testing"
	"time"
)

func TestMaintenanceBlock(t *testing.T) {
	src := `maintenance "backups" {
  hosts     = ["db*"]
  groups    = ["storage"]
  probes    = ["disk*"]
  schedule  = "Sun 02:00-04:00"
  time_zone = "Europe/Paris"
}
maintenance "nightly" {
  hosts    = ["*"]
  schedule = "daily 23:30-00:30"
}
`
	cfg, diags := Parse(Source{Name: "/etc/wigo/wigo.hcl", Src: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if len(cfg.Maintenance) != 2 {
		t.Fatalf("%d maintenance blocks, want 2", len(cfg.Maintenance))
	}
	m := cfg.Maintenance[0]
	if m.Name != "backups" || m.Hosts[0] != "db*" || m.Groups[0] != "storage" || m.Probes[0] != "disk*" || m.TimeZone != "Europe/Paris" {
		t.Errorf("backups read as %+v", m)
	}
	// Sunday 2026-12-06, 02:00-04:00 in Paris (CET) is 01:00-03:00 UTC.
	s, e := m.Window.Next(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	if !s.Equal(time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)) || e.Sub(s) != 2*time.Hour {
		t.Errorf("backups next window %s to %s", s, e)
	}
	if n := cfg.Maintenance[1]; n.TimeZone != "UTC" {
		t.Errorf("nightly's default time zone %q, want UTC", n.TimeZone)
	}
}

// Each mistake is refused with the file, line and column of what is wrong.
func TestMaintenanceErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"maintenance \"a\" {\n  hosts = [\"x\"]\n  schedule = \"Sunday 02:00-04:00\"\n}\n",
			`MAIN:3,14: Invalid schedule; schedule = "Sunday 02:00-04:00": "Sunday" is not a day`},
		{"maintenance \"a\" {\n  hosts = [\"x\"]\n  schedule = \"Sun 02:00-04:00\"\n  time_zone = \"Mars/Olympus\"\n}\n",
			`MAIN:4,15: Unknown time zone; time_zone = "Mars/Olympus" is not a time zone name`},
		{"maintenance \"a\" {\n  hosts = [\"x\"]\n}\n",
			`MAIN:1,1: Missing schedule; maintenance "a" needs a schedule`},
		{"maintenance \"a\" {\n  schedule = \"Sun 02:00-04:00\"\n}\n",
			`MAIN:1,1: Maintenance silences nothing`},
		{"maintenance \"a\" {\n  hosts = [\"x\"]\n  schedule = \"Sun 02:00-04:00\"\n}\nmaintenance \"a\" {\n  hosts = [\"y\"]\n  schedule = \"Sun 02:00-04:00\"\n}\n",
			`MAIN:5,1: Duplicate maintenance "a" block`},
		{"maintenance \"a\" {\n  hosts = [\"x y\"]\n  schedule = \"Sun 02:00-04:00\"\n}\n",
			`MAIN:2,11: Invalid name`},
		{"maintenance \"a\" {\n  host = [\"x\"]\n  schedule = \"Sun 02:00-04:00\"\n}\n",
			`MAIN:2,3: Unsupported argument; An argument named "host" is not expected here. Did you mean "hosts"?`},
		{"maintenance \"a/b\" {\n  hosts = [\"x\"]\n  schedule = \"Sun 02:00-04:00\"\n}\n",
			`MAIN:1,13: Invalid maintenance name`},
	} {
		cfg, diags := Parse(Source{Name: "MAIN", Src: []byte(c.src)})
		got := FormatDiagnostics(diags)
		if !diags.HasErrors() || !strings.Contains(got, c.want) {
			t.Errorf("%q:\n got %s\nwant %s", c.src, got, c.want)
		}
		if len(cfg.Maintenance) > 1 || (len(cfg.Maintenance) == 1 && !strings.Contains(c.want, "Duplicate")) {
			t.Errorf("%q: a refused block was kept: %+v", c.src, cfg.Maintenance)
		}
	}
}
