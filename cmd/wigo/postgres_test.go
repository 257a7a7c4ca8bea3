package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

// The daemon on a PostgreSQL store block: a probe's change is logged in
// the database (not in a SQLite file) and served by /api/logs, and the
// password of the DSN, read from dsn_file, is in no line of its log.
func TestDaemonOnPostgres(t *testing.T) {
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	// The test server trusts 127.0.0.1, so the password is never checked;
	// it is there to be kept out of the log.
	u.User = url.UserPassword(u.User.Username(), "hunter2-secret")
	dsn := u.String()
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "db.dsn")
	writeFile(t, dsnFile, dsn+"\n", 0o600)
	env := newEnv(t, fmt.Sprintf("store \"postgres\" {\n  dsn_file = %q\n}\n", dsnFile))
	r := start(t, env)

	waitFor(t, env.url, 20*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	writeFile(t, filepath.Join(env.dir, "conf.d", "flip.json"), `{"Status":300,"Message":"broken"}`, 0o644)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 300 })

	var logs []model.LogEntry
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(logs) == 0 {
		resp, err := http.Get(env.url + "/api/logs?probe=flip")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&logs)
			resp.Body.Close()
		}
		if len(logs) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if len(logs) == 0 || logs[0].Level != model.LogCritical || !strings.Contains(logs[0].Message, "switched from 100 to 300") {
		t.Fatalf("logs = %+v", logs)
	}
	// wigo token works on the daemon's database, not on a file beside it:
	// the token it creates opens the API of the running daemon.
	out, errOut, code := runWigo(t, "", "-c", env.config, "token", "create", "-name", "ci", "-role", "viewer")
	if code != 0 || !strings.HasPrefix(out, "wigo_") {
		t.Fatalf("wigo token create: %d %q %s", code, out, errOut)
	}
	req, _ := http.NewRequest(http.MethodGet, env.url+"/api/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(out))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var who struct{ Name, Via string }
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if who.Name != "token:ci" || who.Via != "token" {
		t.Errorf("GET /api/whoami with the token made by wigo token: %+v", who)
	}
	r.stop(t)

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM logs WHERE probe = 'flip' AND message LIKE '%switched from 100 to 300%'").Scan(&n); err != nil || n != 1 {
		t.Errorf("rows of the change in PostgreSQL: %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(filepath.Join(env.dir, "data", "wigo.db")); err == nil {
		t.Error("the daemon created the SQLite file too")
	}
	if log := r.logs.String(); strings.Contains(log, "hunter2") {
		t.Errorf("the daemon's log shows the DSN's password:\n%s", log)
	} else if !strings.Contains(log, "backend=postgres") {
		t.Errorf("the daemon's log does not say it runs on PostgreSQL:\n%.2000s", log)
	}
}
