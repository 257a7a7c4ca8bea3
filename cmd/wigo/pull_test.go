package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// pullEnv is a daemon env named hostname; its config can be extended
// before the daemon starts, once every port of the test is known.
func pullEnv(t *testing.T, hostname string) daemonEnv {
	t.Helper()
	env := newEnv(t, "")
	b, err := os.ReadFile(env.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), `hostname = "e2e-host"`, fmt.Sprintf("hostname = %q", hostname), 1)
	writeFile(t, env.config, cfg+"\nalive_timeout = 3\n", 0o644)
	return env
}

func (e daemonEnv) addr() string { return strings.TrimPrefix(e.url, "http://") }

func appendConfig(t *testing.T, env daemonEnv, extra string) {
	t.Helper()
	f, err := os.OpenFile(env.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
}

// find returns the host named name anywhere in w's hierarchy, with the
// chain of host names leading to it.
func find(w *model.Wigo, name string) (*model.Wigo, []string) {
	if w == nil {
		return nil, nil
	}
	if w.Hostname == name {
		return w, []string{w.Hostname}
	}
	for _, sub := range w.RemoteWigos {
		if f, path := find(sub, name); f != nil {
			return f, append([]string{w.Hostname}, path...)
		}
	}
	return nil, nil
}

func contains(w *model.Wigo, uuid string) bool {
	for id, sub := range w.RemoteWigos {
		if id == uuid || sub.Uuid == uuid || contains(sub, uuid) {
			return true
		}
	}
	return false
}

// leaf (probes) ← mid (pulls leaf, and top: a loop) ← top (pulls mid), and
// top1 pulling mid with depth = 1. Every daemon and plugin is the real
// binary, talking HTTP on 127.0.0.1.
func TestPullHierarchy(t *testing.T) {
	leafEnv, midEnv, topEnv, top1Env := pullEnv(t, "leaf"), pullEnv(t, "mid"), pullEnv(t, "top"), pullEnv(t, "top1")
	appendConfig(t, midEnv, fmt.Sprintf(`
transport "pull" {
  check_interval = 1
  remote %q {}
  remote %q {}
}
`, leafEnv.addr(), topEnv.addr()))
	appendConfig(t, topEnv, fmt.Sprintf(`
transport "pull" {
  check_interval = 1
  remotes = [%q]
}
`, midEnv.addr()))
	appendConfig(t, top1Env, fmt.Sprintf(`
transport "pull" {
  check_interval = 1
  remote %q {
    depth = 1
  }
}
`, midEnv.addr()))

	leaf := start(t, leafEnv)
	mid := start(t, midEnv)
	start(t, topEnv)
	start(t, top1Env)

	leafDoc := waitFor(t, leafEnv.url, 15*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })
	midDoc := waitFor(t, midEnv.url, 15*time.Second, func(w *model.Wigo) bool { return w.Uuid != "" })
	topDoc := waitFor(t, topEnv.url, 15*time.Second, func(w *model.Wigo) bool { return w.Uuid != "" })

	// The leaf's probe reaches top, nested under mid, with its status.
	nestedLeaf := func(w *model.Wigo) *model.Wigo {
		return w.RemoteWigos[midDoc.Uuid].RemoteWigos[leafDoc.Uuid]
	}
	waitFor(t, topEnv.url, 20*time.Second, func(w *model.Wigo) bool {
		return w.RemoteWigos[midDoc.Uuid] != nil && nestedLeaf(w) != nil && probeStatus(nestedLeaf(w), "flip") == 100
	})

	// The loop mid → top → mid: mid holds top, but top never ingests
	// itself, and mid never itself.
	waitFor(t, midEnv.url, 20*time.Second, func(w *model.Wigo) bool { return w.RemoteWigos[topDoc.Uuid] != nil })
	got := waitFor(t, topEnv.url, 5*time.Second, func(*model.Wigo) bool { return true })
	if contains(got, topDoc.Uuid) {
		t.Fatalf("top ingested itself through mid: %+v", got.RemoteWigos)
	}
	if got := waitFor(t, midEnv.url, 5*time.Second, func(*model.Wigo) bool { return true }); contains(got, midDoc.Uuid) {
		t.Fatal("mid ingested itself through top")
	}

	// A probe flipped on the leaf shows on top.
	setProbe(t, leafEnv, 300)
	waitFor(t, topEnv.url, 20*time.Second, func(w *model.Wigo) bool {
		l := nestedLeaf(w)
		return l != nil && probeStatus(l, "flip") == 300 && w.GlobalStatus >= 300
	})

	// depth = 1 keeps mid alone: neither the leaf nor top come through.
	d1 := waitFor(t, top1Env.url, 20*time.Second, func(w *model.Wigo) bool { return w.RemoteWigos[midDoc.Uuid] != nil })
	time.Sleep(1500 * time.Millisecond) // another poll or two
	d1 = waitFor(t, top1Env.url, 5*time.Second, func(*model.Wigo) bool { return true })
	if m := d1.RemoteWigos[midDoc.Uuid]; m == nil || len(m.RemoteWigos) != 0 || len(d1.RemoteWigos) != 1 {
		t.Fatalf("depth = 1 did not trim: %+v", d1.RemoteWigos)
	}

	// The leaf stops: DOWN on mid and top after alive_timeout (3 s).
	leaf.stop(t)
	stopped := time.Now()
	isDown := func(w *model.Wigo) bool {
		l, _ := find(w, "leaf")
		return l != nil && !l.IsAlive && l.GlobalStatus == model.StatusDown
	}
	waitFor(t, midEnv.url, 20*time.Second, isDown)
	waitFor(t, topEnv.url, 20*time.Second, isDown)
	t.Logf("leaf DOWN on top %s after it stopped", time.Since(stopped).Round(100*time.Millisecond))
	// mid's log (the plugin's lines come back through the core's) names
	// the remote that stopped answering.
	if !logLine(mid.logs.String(), "poll failed", "remote="+leafEnv.addr()) {
		t.Errorf("mid did not log the failed poll of the leaf:\n%s", mid.logs.String())
	}

	// Restarted (same UUID, same port): UP again on both.
	start(t, leafEnv)
	isUp := func(w *model.Wigo) bool {
		l, path := find(w, "leaf")
		return l != nil && l.IsAlive && l.Uuid == leafDoc.Uuid && probeStatus(l, "flip") == 300 &&
			(w.Hostname != "top" || strings.Join(path, "/") == "top/mid/leaf")
	}
	waitFor(t, midEnv.url, 20*time.Second, isUp)
	waitFor(t, topEnv.url, 20*time.Second, isUp)
	if !logLine(mid.logs.String(), "remote answers again", "remote="+leafEnv.addr()) {
		t.Errorf("mid did not log the leaf's recovery:\n%s", mid.logs.String())
	}
}

// logLine reports whether one line of logs holds every part.
func logLine(logs string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// -check decodes transport blocks against the plugin's schema.
func TestCheckPullBlock(t *testing.T) {
	env := newEnv(t, `
transport "pull" {
  check_interval = "often"
  remote "10.0.0.2" {
    port = 4000
  }
}
`)
	out, err := exec.Command(wigoBin, "-c", env.config, "-check").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "check_interval") || !strings.Contains(string(out), "wigo.hcl:") {
		t.Fatalf("bad transport block accepted or unclear (err %v):\n%s", err, out)
	}
	env = newEnv(t, `
transport "pull" {
  remote "10.0.0.2" {
    depth = 1
  }
}
`)
	if out, err := exec.Command(wigoBin, "-c", env.config, "-check").CombinedOutput(); err != nil {
		t.Fatalf("good transport block refused: %v\n%s", err, out)
	}
}
