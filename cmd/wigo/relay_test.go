package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

const relayVictim = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"

// impostorEnv is a daemon named like the victim, with the victim's UUID and
// a forged result, for a push client to pull and carry to the master.
func impostorEnv(t *testing.T) daemonEnv {
	t.Helper()
	env := pullEnv(t, "victim")
	writeFile(t, filepath.Join(env.dir, "data", "uuid"), relayVictim+"\n", 0o600)
	writeFile(t, filepath.Join(env.dir, "conf.d", "flip.json"), `{"Status":300,"Message":"forged"}`, 0o644)
	return env
}

// pullBlock makes a daemon pull remotes every second.
func pullBlock(remotes ...string) string {
	q := make([]string, len(remotes))
	for i, r := range remotes {
		q[i] = fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("\ntransport \"pull\" {\n  check_interval = 1\n  remotes = [%s]\n}\n", strings.Join(q, ", "))
}

// remoteByUUID returns the remote host uuid of w, nil when absent.
func remoteByUUID(w *model.Wigo, uuid string) *model.Wigo { return w.RemoteWigos[uuid] }

// awaitLog waits for a line of r's log holding every part.
func awaitLog(t *testing.T, r *running, within time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, l := range strings.Split(r.logs.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(l, p)
			}
			if all {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %s", parts, within)
		}
		time.Sleep(50 * time.Millisecond) // another process's log: polling is the only way
	}
}

// victimGenuine checks that the victim on the master is the genuine host:
// its own result, no claim by anyone.
func victimGenuine(t *testing.T, w *model.Wigo, claimedBy string) {
	t.Helper()
	v := remoteByUUID(w, relayVictim)
	if v == nil {
		t.Fatal("the victim is missing on the master")
	}
	if p := v.LocalHost.Probes["flip"]; p == nil || p.Status != 100 || p.Message != "fine" {
		t.Errorf("the victim's probe on the master = %+v, want the genuine 100 fine", p)
	}
	if v.ClaimedBy != claimedBy {
		t.Errorf("the victim's ClaimedBy = %q, want %q", v.ClaimedBy, claimedBy)
	}
}

// An approved push client that is not a relay carries, under RemoteWigos,
// a host claiming the UUID of a genuine push client: nothing of it reaches
// the master's core. The victim keeps its probes, is not even marked as
// claimed, gets no log row and no notification from the impostor, and the
// master logs once that the client is not a relay, with the count.
// (Before relays, the carried host reached the core: the victim was marked
// UUID CLAIMED TWICE, or taken over when it connected second.)
func TestPushNonRelayCannotCarryHosts(t *testing.T) {
	port := freePort(t)
	hook, hookSrv := newSink(t)
	master := pushDaemon(t, "master", "")
	appendFile(t, master.config, pushServerBlock(master.dir, port, true)+fmt.Sprintf("\nnotify \"http\" {\n  url = \"%s/hook\"\n}\n", hookSrv.URL))
	victim := pushDaemon(t, "victim", "")
	writeFile(t, filepath.Join(victim.dir, "data", "uuid"), relayVictim+"\n", 0o600)
	appendFile(t, victim.config, pushClientBlock(victim.dir, port))
	impostor := impostorEnv(t)
	carrier := pushDaemon(t, "carrier", "")
	appendFile(t, carrier.config, pushClientBlock(carrier.dir, port)+pullBlock(impostor.addr()))

	mr := start(t, master)
	start(t, victim)
	waitFor(t, master.url, 30*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "victim", "flip") == 100 })
	start(t, impostor)
	start(t, carrier)
	// The carrier holds the impostor (it pulled it) and pushes it.
	waitFor(t, carrier.url, 30*time.Second, func(w *model.Wigo) bool {
		v := remoteByUUID(w, relayVictim)
		return v != nil && probeStatus(v, "flip") == 300
	})
	// Until the master either drops the carried host (and says so) or
	// lets it reach the core, which marks the victim as claimed.
	dropped := func() bool { return strings.Contains(mr.logs.String(), "push client is not a relay") }
	w := waitFor(t, master.url, 30*time.Second, func(w *model.Wigo) bool {
		v := remoteByUUID(w, relayVictim)
		return remoteProbe(w, "carrier", "flip") == 100 && (dropped() || v != nil && v.ClaimedBy != "")
	})
	victimGenuine(t, w, "")
	awaitLog(t, mr, time.Second, "push client is not a relay", "hostname=carrier", "hosts=1")
	if n := strings.Count(mr.logs.String(), "push client is not a relay"); n != 1 {
		t.Errorf("logged %d times that the carrier is not a relay, want once per session", n)
	}
	// Changes of the carried host go on, and are dropped as well.
	setProbe(t, impostor, 250)
	waitFor(t, carrier.url, 15*time.Second, func(w *model.Wigo) bool {
		v := remoteByUUID(w, relayVictim)
		return v != nil && probeStatus(v, "flip") == 250
	})
	setProbe(t, carrier, 200) // a later change of the carrier's own: the master has seen the one before
	w = waitFor(t, master.url, 15*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "carrier", "flip") == 200 })
	victimGenuine(t, w, "")
	if strings.Contains(mr.logs.String(), "already reports") {
		t.Error("the core saw the carried host: it logged a UUID claimed twice")
	}
	for _, r := range logRows(t, master.url, "limit=500") {
		if strings.Contains(r.Message, "forged") || strings.Contains(r.Message, "now 250") {
			t.Errorf("the impostor's result reached the master's log: %+v", r)
		}
	}
	hook.mu.Lock()
	for _, n := range hook.got {
		if strings.Contains(n.Message, "forged") || strings.Contains(n.Message, "now 250") {
			t.Errorf("the impostor's result was notified: %+v", n)
		}
	}
	hook.mu.Unlock()

	// Granted relay through the API, the carrier's hosts reach the core,
	// whose binding still refuses the victim's UUID from it; the allowed
	// list says it is a relay, with its key's fingerprint.
	b, err := os.ReadFile(filepath.Join(carrier.dir, "data", "uuid"))
	if err != nil {
		t.Fatal(err)
	}
	carrierUUID := strings.TrimSpace(string(b))
	if code, body := change(t, http.MethodPost, master.url+"/api/authority/hosts/"+carrierUUID+"/relay", nil); code != 200 {
		t.Fatalf("grant relay: %d %s", code, body)
	}
	w = waitFor(t, master.url, 30*time.Second, func(w *model.Wigo) bool {
		v := remoteByUUID(w, relayVictim)
		return v != nil && v.ClaimedBy != ""
	})
	victimGenuine(t, w, carrierUUID)
	resp, err := http.Get(master.url + "/api/authority/hosts")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Allowed []struct {
			UUID           string `json:"uuid"`
			KeyFingerprint string `json:"key_fingerprint"`
			Relay          bool   `json:"relay"`
		} `json:"allowed_clients"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	found := false
	for _, c := range list.Allowed {
		if c.UUID == carrierUUID {
			found = c.Relay && strings.HasPrefix(c.KeyFingerprint, "SHA256:")
		}
	}
	if err != nil || !found {
		t.Errorf("allowed clients after the grant: %+v (%v); want the carrier as a relay with its key", list.Allowed, err)
	}
}

// A client granted relay (" relay" on its line of allowed_clients_file)
// reports the hosts under it; one of them claiming the UUID of a genuine
// push client is still refused by the core's binding: the victim keeps its
// probes and shows who claimed it.
func TestPushRelayCarriesHosts(t *testing.T) {
	port := freePort(t)
	master := pushDaemon(t, "master", "")
	appendFile(t, master.config, pushServerBlock(master.dir, port, false))
	victim := pushDaemon(t, "victim", "")
	writeFile(t, filepath.Join(victim.dir, "data", "uuid"), relayVictim+"\n", 0o600)
	appendFile(t, victim.config, pushClientBlock(victim.dir, port))
	leaf := pullEnv(t, "relayed-leaf")
	impostor := impostorEnv(t)
	relay := pushDaemon(t, "relayer", "")
	appendFile(t, relay.config, pushClientBlock(relay.dir, port)+pullBlock(leaf.addr(), impostor.addr()))

	// The operator approved both clients (their keys as the waiting list
	// showed them) and granted the relay.
	const relayUUID = "0b7e1c9a-3d2f-4e8b-9c1a-5f6e7d8c9b0a"
	pubs := map[string]string{}
	for name, env := range map[string]daemonEnv{"victim": victim, "relay": relay} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(env.dir, "data", "push_client.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), 0o600)
		pubs[name] = base64.StdEncoding.EncodeToString(pub)
	}
	writeFile(t, filepath.Join(relay.dir, "data", "uuid"), relayUUID+"\n", 0o600)
	writeFile(t, filepath.Join(master.dir, "data", "allowed_clients"), fmt.Sprintf("%s victim pending key=%s\n%s relayer pending key=%s relay\n",
		relayVictim, pubs["victim"], relayUUID, pubs["relay"]), 0o600)

	mr := start(t, master)
	start(t, victim)
	waitFor(t, master.url, 30*time.Second, func(w *model.Wigo) bool { return remoteProbe(w, "victim", "flip") == 100 })
	start(t, leaf)
	start(t, impostor)
	start(t, relay)
	w := waitFor(t, master.url, 40*time.Second, func(w *model.Wigo) bool {
		l, path := find(w, "relayed-leaf")
		v := remoteByUUID(w, relayVictim)
		return remoteProbe(w, "relayer", "flip") == 100 && l != nil && probeStatus(l, "flip") == 100 &&
			strings.Join(path, "/") == "master/relayer/relayed-leaf" && v != nil && v.ClaimedBy != ""
	})
	victimGenuine(t, w, relayUUID)
	awaitLog(t, mr, 10*time.Second, "wigo.transport:", "already reports")
	if strings.Contains(mr.logs.String(), "push client is not a relay") {
		t.Error("the relay's hosts were dropped as if it were not a relay")
	}
	// The grant survives the master rewriting the file (the relay's
	// signature was delivered: pending is gone, relay stays).
	b, err := os.ReadFile(filepath.Join(master.dir, "data", "allowed_clients"))
	if err != nil || !strings.Contains(string(b), relayUUID+" relayer key="+pubs["relay"]+" relay\n") {
		t.Errorf("allowed_clients after delivery: %v\n%s", err, b)
	}
	for _, r := range logRows(t, master.url, "limit=500") {
		if strings.Contains(r.Message, "forged") {
			t.Errorf("the impostor's result reached the master's log: %+v", r)
		}
	}
}
