package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// privatePlugins points env's daemon at a plugins_dir of its own, empty.
func privatePlugins(t *testing.T, env daemonEnv) string {
	t.Helper()
	dir := filepath.Join(env.dir, "plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(env.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), fmt.Sprintf("plugins_dir = %q", pluginsDir), fmt.Sprintf("plugins_dir = %q", dir), 1)
	writeFile(t, env.config, cfg, 0o644)
	return dir
}

// outbox reads the daemon's pending notifications.
func outbox(t *testing.T, url string) []struct {
	Attempts  int
	LastError string
} {
	t.Helper()
	resp, err := http.Get(url + "/api/notifications")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Notifications []struct {
			Attempts  int
			LastError string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return page.Notifications
}

// A notifier whose plugin is not installed when the daemon starts is
// retried until it is; what it should have sent waits in the outbox without
// spending its attempts (nobody received it), then goes out.
func TestNotifierMissingAtStartIsRetried(t *testing.T) {
	hook, hookSrv := newSink(t)
	env := newEnv(t, fmt.Sprintf("notify \"http\" {\n  url = \"%s/hook\"\n}\n", hookSrv.URL))
	dir := privatePlugins(t, env)
	r := start(t, env)
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	setProbe(t, env, 300)

	// The notification is tried, finds no notifier, and waits.
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows := outbox(t, env.url)
		if len(rows) > 0 && rows[0].LastError != "" {
			for _, row := range rows {
				if row.Attempts != 0 || !strings.Contains(row.LastError, "unavailable") {
					t.Fatalf("row while the notifier is missing: %+v, want 0 attempts and an unavailable error", row)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery was tried: %+v", rows)
		}
		time.Sleep(50 * time.Millisecond) // another process: its API is the only window
	}

	b, err := os.ReadFile(filepath.Join(pluginsDir, "notify-http"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "notify-http"), string(b), 0o755)
	n := await(t, hook.arrived, 60*time.Second, "the notification once the plugin is installed")
	if n.NewStatus != 300 {
		t.Errorf("delivered %+v, want the change to 300", n)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "plugin restarted") {
		t.Errorf("the daemon's log does not say the notifier came up:\n%s", logs)
	}
}

// A plugin that hangs at its handshake does not keep the daemon's API
// waiting: the API answers while that plugin is still starting.
func TestHangingPluginDoesNotDelayTheAPI(t *testing.T) {
	env := newEnv(t, "notify \"hang\" {\n  plugin = \"notify-hang\"\n}\n")
	dir := privatePlugins(t, env)
	writeFile(t, filepath.Join(dir, "notify-hang"), "#!/bin/sh\nexec sleep 60\n", 0o755)
	start(t, env)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(env.url + "/api/plugins")
		if err == nil {
			var health []struct{ Instance, State string }
			err = json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
			if err != nil || len(health) != 1 {
				t.Fatalf("GET /api/plugins: %v %+v", err, health)
			}
			// The handshake takes 10 s to time out; the API answers first.
			if health[0].State != "starting" {
				t.Fatalf("plugin state at the API's first answer = %q, want starting", health[0].State)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // the daemon is starting: nothing to wait on but its port
	}
}
