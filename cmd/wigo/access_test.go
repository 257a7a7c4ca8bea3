package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// run runs wigo (the daemon's binary) with args and stdin, returning its
// stdout, stderr and exit code.
func runWigo(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(wigoBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), exitCode(err)
}

// cliAs runs wigocli against base with extra environment, returning its
// combined output and exit code.
func cliAs(t *testing.T, base string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(cliBin, append([]string{"-H", base}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), exitCode(err)
}

// A user made with `wigo passwd`, a token made with `wigo token create`
// while the daemon runs: wigocli gets in with either (the token through
// $WIGO_TOKEN), each with its role — a viewer's token reads but may not
// acknowledge, an operator's may and is named as the author; a revoked
// token is refused; nothing gets in without credentials; the original's
// single login is an admin.
func TestUsersAndTokens(t *testing.T) {
	hash, stderr, code := runWigo(t, "a long password\n", "passwd")
	if code != 0 || !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("wigo passwd: %d %q %s", code, hash, stderr)
	}
	if _, stderr, code := runWigo(t, "short\n", "passwd"); code == 0 || !strings.Contains(stderr, "at least 8 characters") {
		t.Errorf("a short password: %d %s", code, stderr)
	}
	env := newEnv(t, `user "alice" {
  password_hash = "`+strings.TrimSpace(hash)+`"
  role          = "viewer"
}
`)
	writeFile(t, filepath.Join(env.dir, "wigo.d", "login.hcl"), "http {\n  login    = \"root\"\n  password = \"legacy-pw\"\n}\n", 0o600)
	writeFile(t, filepath.Join(env.dir, "conf.d", "flip.json"), `{"Status":300,"Message":"broken"}`, 0o644)
	r := start(t, env)
	defer r.stop(t)
	waitForAuth(t, env.url, "root", "legacy-pw")

	if out, code := cliAs(t, env.url, nil, "acks"); code == 0 || !strings.Contains(out, "authentication required") {
		t.Errorf("wigocli without credentials: %d %s", code, out)
	}
	if out, code := cliAs(t, env.url, nil, "-u", "alice", "-p", "a long password", "acks"); code != 0 {
		t.Errorf("wigocli as alice: %d %s", code, out)
	}
	if out, code := cliAs(t, env.url, nil, "-u", "alice", "-p", "a long password", "ack", "e2e-host", "flip"); code == 0 ||
		!strings.Contains(out, "access denied (403)") || !strings.Contains(out, "alice has the viewer role; this needs operator") {
		t.Errorf("a viewer acknowledging: %d %s", code, out)
	}

	mk := func(role string) (secret, id string) {
		t.Helper()
		out, errOut, code := runWigo(t, "", "-c", env.config, "token", "create", "-name", role+"-bot", "-role", role, "-expires", "30d")
		m := regexp.MustCompile(`^token ([0-9a-f-]{36}) \(` + role + `-bot, ` + role + `\) created`).FindStringSubmatch(errOut)
		if code != 0 || !strings.HasPrefix(out, "wigo_") || m == nil {
			t.Fatalf("wigo token create: %d %q %s", code, out, errOut)
		}
		return strings.TrimSpace(out), m[1]
	}
	viewer, _ := mk("viewer")
	operator, operatorID := mk("operator")
	if out, code := cliAs(t, env.url, []string{"WIGO_TOKEN=" + viewer}, "ack", "e2e-host", "flip"); code == 0 || !strings.Contains(out, "403") {
		t.Errorf("a viewer token acknowledging: %d %s", code, out)
	}
	if out, code := cliAs(t, env.url, []string{"WIGO_TOKEN=" + operator}, "ack", "e2e-host", "flip", "-comment", "on it"); code != 0 {
		t.Fatalf("an operator token acknowledging: %d %s", code, out)
	}
	if a := acksWith(t, env.url, "root", "legacy-pw"); len(a) != 1 || a[0].Author != "token:operator-bot" {
		t.Errorf("acks %+v, want one by token:operator-bot", a)
	}
	if out, _, code := runWigo(t, "", "-c", env.config, "token", "revoke", operatorID); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("wigo token revoke: %d %s", code, out)
	}
	if out, code := cliAs(t, env.url, []string{"WIGO_TOKEN=" + operator}, "acks"); code == 0 || !strings.Contains(out, "the token in $WIGO_TOKEN is not valid") {
		t.Errorf("a revoked token: %d %s", code, out)
	}
	list, _, _ := runWigo(t, "", "-c", env.config, "token", "list")
	if lines := strings.Split(strings.TrimSpace(list), "\n"); len(lines) != 3 || !strings.Contains(list, "operator-bot") || strings.Contains(list, "wigo_") {
		t.Errorf("wigo token list:\n%s", list)
	}

	// whoami says who the API thinks it is talking to.
	req, _ := http.NewRequest(http.MethodGet, env.url+"/api/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+viewer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var who struct{ Name, Role, Via string }
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if who.Name != "token:viewer-bot" || who.Role != "viewer" || who.Via != "token" {
		t.Errorf("GET /api/whoami with the viewer token: %+v", who)
	}
}

// waitForAuth waits until the daemon answers GET /api with credentials,
// its probe run.
func waitForAuth(t *testing.T, base, user, pw string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/api", nil)
		req.SetBasicAuth(user, pw)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var w model.Wigo
			ok := resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&w) == nil && probeStatus(&w, "flip") > 0
			resp.Body.Close()
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon does not answer %s/api as %s", base, user)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func acksWith(t *testing.T, base, user, pw string) []struct{ Author string } {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/acks", nil)
	req.SetBasicAuth(user, pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct{ Acks []struct{ Author string } }
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l.Acks
}
