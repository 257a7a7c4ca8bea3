package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreBlock(t *testing.T) {
	cfg, diags := Parse(Source{Name: "/etc/wigo/wigo.hcl", Src: []byte("store \"postgres\" {\n  dsn = \"postgres://wigo@db:5432/wigo\"\n}\n")})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if want := (Store{Backend: "postgres", DSN: "postgres://wigo@db:5432/wigo"}); cfg.Store != want {
		t.Errorf("store = %+v, want %+v", cfg.Store, want)
	}
	cfg, diags = Parse(Source{Name: "/etc/wigo/wigo.hcl", Src: []byte("store \"postgres\" {\n  dsn_file = \"db.dsn\"\n}\n")})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if cfg.Store.DSNFile != "/etc/wigo/db.dsn" {
		t.Errorf("dsn_file = %q, want it resolved next to the file", cfg.Store.DSNFile)
	}
	if cfg, _ := Parse(Source{Name: "/etc/wigo/wigo.hcl", Src: []byte("")}); cfg.Store != (Store{}) {
		t.Errorf("default store = %+v, want SQLite (the zero value)", cfg.Store)
	}

	for _, c := range []struct{ src, want string }{
		{"store \"mysql\" {\n  dsn = \"x=y\"\n}\n",
			"/etc/wigo/wigo.hcl:1,7: Unknown store backend; store \"mysql\": the backend is \"postgres\""},
		{"store \"postgres\" {\n}\n",
			"/etc/wigo/wigo.hcl:1,1: Missing dsn;"},
		{"store \"postgres\" {\n  dsn = \"x=y\"\n  dsn_file = \"f\"\n}\n",
			"/etc/wigo/wigo.hcl:3,3: Both dsn and dsn_file;"},
		{"store \"postgres\" {\n  dsn = \"mysql://u:hunter2@db\"\n}\n",
			"/etc/wigo/wigo.hcl:2,9: Invalid dsn; store.dsn: want a postgres://user@host:port/database URL"},
		{"store \"postgres\" {\n  dsn = \"postgres://u:hunter2@/wigo\"\n}\n",
			"/etc/wigo/wigo.hcl:2,9: Invalid dsn; store.dsn: the URL names no server"},
		{"store \"postgres\" {\n  dsn = \"x=y\"\n}\nstore \"postgres\" {\n  dsn = \"x=y\"\n}\n",
			"/etc/wigo/wigo.hcl:4,1: Duplicate store block;"},
		{"store \"postgres\" {\n  url = \"x=y\"\n}\n",
			"/etc/wigo/wigo.hcl:2,3: Unsupported argument;"},
	} {
		_, diags := Parse(Source{Name: "/etc/wigo/wigo.hcl", Src: []byte(c.src)})
		got := FormatDiagnostics(diags)
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%q:\n got %q\nwant prefix %q", c.src, got, c.want)
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("%q: the message shows the password: %q", c.src, got)
		}
	}
}

func TestStoreDSNFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.dsn")
	if err := os.WriteFile(path, []byte("postgres://wigo:pw@db/wigo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Store{Backend: "postgres", DSNFile: path}.DSNText()
	if err != nil || got != "postgres://wigo:pw@db/wigo" {
		t.Errorf("DSNText = %q, %v", got, err)
	}
	if _, err := (Store{Backend: "postgres", DSNFile: path + ".missing"}).DSNText(); err == nil || !strings.Contains(err.Error(), "dsn_file") {
		t.Errorf("missing dsn_file: %v", err)
	}
}
