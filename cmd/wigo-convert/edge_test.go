package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertEdgeCases covers the conversions that change or refuse a value,
// each of which must be said on stderr.
func TestConvertEdgeCases(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		hcl     []string // substrings the output must contain
		warning string   // prefix of the expected warning, "" = none
	}{
		{"email only if http failed, http off",
			"[Notifications]\nEmailEnabled = 2\nEmailSmtpServer = \"s:25\"\nEmailRecipients = [\"a@b\"]\n",
			[]string{"# notify \"email\" {", "#   fallback_for = \"http\""}, "Notifications.EmailEnabled = 2"},
		{"http enabled without url",
			"[Notifications]\nHttpEnabled = 1\n", []string{"# notify \"http\" {"}, "Notifications.HttpEnabled = 1 without HttpUrl"},
		{"bool HttpEnabled of old versions",
			"[Notifications]\nHttpEnabled = true\nHttpUrl = \"http://x/\"\n", []string{"\nnotify \"http\" {"}, ""},
		{"old OpenTSDB Address + Port",
			"[OpenTSDB]\nEnabled = true\nAddress = \"tsdb\"\nPort = 4000\n", []string{`address       = ["tsdb:4000"]`}, ""},
		{"listener in Global (oldest versions)",
			"[Global]\nListenAddress = \"10.1.1.1\"\nListenPort = 4500\nLogFile = \"\"\n", []string{`address = "10.1.1.1"`, "port    = 4500"}, ""},
		{"MinLevelToSend 0",
			"[Notifications]\nMinLevelToSend = 0\n", []string{"min_level = 100"}, "Notifications.MinLevelToSend = 0"},
		{"bad port in List",
			"[RemoteWigos]\nList = [\"h:x\"]\n", []string{"# transport \"pull\" {"}, "RemoteWigos.List[0]"},
		{"push without TLS",
			"[PushServer]\nEnabled = true\nSslEnabled = false\n", []string{"\n  server {", "  # client {"}, "PushServer.SslEnabled = false"},
		{"unknown section",
			"[Foo]\nBar = 1\n", nil, "Foo.Bar: unknown option"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Convert([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.hcl {
				if !bytes.Contains(res.HCL, []byte(s)) {
					t.Errorf("output lacks %q:\n%s", s, res.HCL)
				}
			}
			if c.warning != "" && !hasWarning(res, c.warning) {
				t.Errorf("no warning %q in %q", c.warning, res.Warnings)
			}
		})
	}
}

func TestConvertRejectsBadTOML(t *testing.T) {
	if _, err := Convert([]byte("[Global\nHostname = 1")); err == nil {
		t.Error("invalid TOML converted without error")
	}
	if _, err := Convert([]byte("[Global]\nAliveTimeout = \"sixty\"")); err == nil {
		t.Error("wrong type converted without error")
	}
}

// TestRunWritesFile checks the command line: -o writes a private file
// (it may hold passwords) and the warnings go to stderr.
func TestRunWritesFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "wigo.conf")
	out := filepath.Join(dir, "wigo.hcl")
	if err := os.WriteFile(in, []byte("[Global]\nGroup = \"db\"\nCheckTries = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-o", out, in}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	if !strings.Contains(stderr.String(), "warning: Global.CheckTries: unknown option") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout not empty with -o: %q", stdout.String())
	}
	if code := run([]string{filepath.Join(dir, "missing.conf")}, nil, &stdout, &stderr); code != 1 {
		t.Errorf("missing input: exit %d, want 1", code)
	}
	stdout.Reset()
	if code := run([]string{"-"}, strings.NewReader("[Global]\nGroup = \"db\"\n"), &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), `group = "db"`) {
		t.Errorf("stdin: exit %d, out %s", code, stdout.String())
	}
}
