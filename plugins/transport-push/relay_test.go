package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/sdk"
)

// lastRemotes returns the RemoteWigos keys of the last document the core
// received from source.
func (h *testHost) lastRemotes(source string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	docs := h.ingested[source]
	if len(docs) == 0 {
		return nil
	}
	var doc struct{ RemoteWigos map[string]json.RawMessage }
	_ = json.Unmarshal(docs[len(docs)-1], &doc)
	var ids []string
	for id := range doc.RemoteWigos {
		ids = append(ids, id)
	}
	return ids
}

// A client carrying a host under it waits with its address, first-seen
// time and key fingerprint listed; once allowed it is not a relay: the
// core gets its own host only and the allowed list counts what was
// dropped. Granted relay through the Authority RPC, its session restarts
// and the carried host reaches the core; withdrawn, it is dropped again.
func TestRelayThroughTheAuthority(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srv := startServer(t, filepath.Join(dir, "srv"), port, "")
	cli := startClient(t, filepath.Join(dir, "cli"), port, "relay-1")
	cli.host.mu.Lock()
	cli.host.local["RemoteWigos"] = map[string]any{"sub-1": map[string]any{
		"Uuid": "sub-1", "Version": "test", "IsAlive": true, "GlobalStatus": 100, "Hostname": "sub",
		"LocalHost": map[string]any{"Name": "sub", "Group": "g", "Status": 100, "Probes": map[string]any{}},
	}}
	cli.host.mu.Unlock()
	ctx := context.Background()
	before := time.Now()

	var waiting []sdk.AuthorityClient
	eventually(t, "client in the waiting list", func() bool {
		var err error
		waiting, _, err = srv.tc.Client.AuthorityClients(ctx)
		return err == nil && len(waiting) == 1
	})
	w := waiting[0]
	if w.UUID != "relay-1" || w.Hostname != "host-relay-1" || !strings.HasPrefix(w.Remote, "127.0.0.1:") ||
		w.FirstSeen.Before(before.Add(-time.Second)) || w.FirstSeen.After(time.Now()) ||
		!strings.HasPrefix(w.KeyFingerprint, "SHA256:") || !strings.Contains(cli.log.String(), w.KeyFingerprint) {
		t.Fatalf("waiting entry = %+v", w)
	}
	if err := srv.tc.Client.AuthorityRelay(ctx, "relay-1", true); !errors.Is(err, sdk.ErrUnknownClient) {
		t.Fatalf("relay for a client not yet allowed: %v, want ErrUnknownClient", err)
	}
	if err := srv.tc.Client.AuthorityAllow(ctx, "relay-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dropped host counted", func() bool {
		_, allowed, err := srv.tc.Client.AuthorityClients(ctx)
		return err == nil && len(allowed) == 1 && allowed[0].UnrelayedHosts == 1 && !allowed[0].Relay
	})
	if got := srv.host.lastRemotes("relay-1"); len(got) != 0 {
		t.Fatalf("a client that is not a relay reached the core with %v", got)
	}
	if n := strings.Count(srv.log.String(), "push client is not a relay"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, srv.log.String())
	}

	if err := srv.tc.Client.AuthorityRelay(ctx, "relay-1", true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the carried host in the core", func() bool {
		got := srv.host.lastRemotes("relay-1")
		return len(got) == 1 && got[0] == "sub-1"
	})
	_, allowed, err := srv.tc.Client.AuthorityClients(ctx)
	if err != nil || len(allowed) != 1 || !allowed[0].Relay || allowed[0].UnrelayedHosts != 0 {
		t.Fatalf("allowed after the grant = %+v, %v", allowed, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "srv", "allowed_clients")); err != nil || !strings.Contains(string(b), " relay\n") {
		t.Fatalf("allowed_clients after the grant: %v\n%s", err, b)
	}

	if err := srv.tc.Client.AuthorityRelay(ctx, "relay-1", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the carried host dropped again", func() bool { return len(srv.host.lastRemotes("relay-1")) == 0 })
}
