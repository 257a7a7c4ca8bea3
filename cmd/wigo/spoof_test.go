package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// A pulled remote claiming another host's UUID is refused and logged once;
// the genuine host keeps its probes, gets no log row from the impostor, and
// shows who claimed it. (It used to flap between the two documents.)
func TestPullSpoofedUUIDRefused(t *testing.T) {
	const victim = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
	genuineEnv, impostorEnv, masterEnv := pullEnv(t, "genuine"), pullEnv(t, "genuine"), pullEnv(t, "master")
	for _, env := range []daemonEnv{genuineEnv, impostorEnv} {
		writeFile(t, filepath.Join(env.dir, "data", "uuid"), victim+"\n", 0o600)
	}
	writeFile(t, filepath.Join(impostorEnv.dir, "conf.d", "flip.json"), `{"Status":300,"Message":"forged"}`, 0o644)
	appendConfig(t, masterEnv, fmt.Sprintf(`
transport "pull" {
  check_interval = 1
  remotes = [%q, %q]
}
`, genuineEnv.addr(), impostorEnv.addr()))

	start(t, genuineEnv)
	master := start(t, masterEnv)
	waitFor(t, masterEnv.url, 20*time.Second, func(w *model.Wigo) bool {
		return w.RemoteWigos[victim] != nil && probeStatus(w.RemoteWigos[victim], "flip") == 100
	})
	impostor := start(t, impostorEnv)

	// The impostor is polled several times (its own request log says so).
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(impostor.logs.String(), "path=/api ") < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // another process's log: polling is the only way
	}
	if n := strings.Count(impostor.logs.String(), "path=/api "); n < 4 {
		t.Fatalf("the master polled the impostor %d times in 20s", n)
	}
	w := waitFor(t, masterEnv.url, 5*time.Second, func(w *model.Wigo) bool { return w.RemoteWigos[victim] != nil })
	got := w.RemoteWigos[victim]
	if p := got.LocalHost.Probes["flip"]; p == nil || p.Status != 100 || p.Message != "fine" {
		t.Errorf("the genuine host's probe on the master = %+v, want the genuine 100 fine", p)
	}
	if got.ClaimedBy != impostorEnv.addr() {
		t.Errorf("ClaimedBy = %q, want the impostor's address %s", got.ClaimedBy, impostorEnv.addr())
	}
	warned := 0
	for _, l := range strings.Split(master.logs.String(), "\n") {
		if strings.Contains(l, "[WARN]") && strings.Contains(l, "wigo.transport:") && strings.Contains(l, "already reports") {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("the core logged the refusal %d times at WARN, want once:\n%s", warned, master.logs.String())
	}
	resp, err := http.Get(masterEnv.url + "/api/logs?limit=100")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []model.LogEntry
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(r.Message, "forged") {
			t.Errorf("the impostor's result reached the log: %+v", r)
		}
	}
}
