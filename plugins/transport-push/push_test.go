package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/sdk"
)

// TestApproveRevokePersist: a client waits for approval, is allowed through
// the Authority RPC, pushes its probes and their changes, is revoked and
// refused afterwards; the allowed list survives a server restart.
func TestApproveRevokePersist(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srv := startServer(t, filepath.Join(dir, "srv"), port, "")
	cli := startClient(t, filepath.Join(dir, "cli"), port, "client-1")
	ctx := context.Background()

	eventually(t, "client in the waiting list", func() bool {
		w, _, err := srv.tc.Client.AuthorityList(ctx)
		return err == nil && w["client-1"] == "host-client-1"
	})
	if n := srv.host.count("client-1"); n != 0 {
		t.Fatalf("%d documents ingested from a client waiting for approval", n)
	}
	if err := srv.tc.Client.AuthorityAllow(ctx, "nobody"); !errors.Is(err, sdk.ErrUnknownClient) {
		t.Fatalf("allow of an unknown client: %v, want ErrUnknownClient", err)
	}
	if err := srv.tc.Client.AuthorityAllow(ctx, "client-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "first document", func() bool { return srv.host.count("client-1") > 0 })
	cli.host.setProbe("cpu", 300)
	cli.host.setProbe("disk", 250)
	eventually(t, "changed statuses", func() bool {
		s := srv.host.statuses("client-1", "cpu")
		d := srv.host.statuses("client-1", "disk")
		return slices.Equal(s, []int{100, 300}) && slices.Equal(d, []int{250})
	})

	// The client's files: signature private, master certificate pinned.
	fi, err := os.Stat(filepath.Join(dir, "cli", "uuid.sig"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("uuid.sig: %v, mode %v", err, fi)
	}
	if _, err := os.Stat(filepath.Join(dir, "cli", "master.crt")); err != nil {
		t.Fatalf("master certificate not pinned: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "srv", "allowed_clients"))
	if err != nil || !strings.Contains(string(b), "client-1 host-client-1 key=") {
		t.Fatalf("allowed_clients = %q, %v", b, err)
	}

	if err := srv.tc.Client.AuthorityRevoke(ctx, "client-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "revoked client back in the waiting list", func() bool {
		w, a, err := srv.tc.Client.AuthorityList(ctx)
		return err == nil && w["client-1"] != "" && a["client-1"] == ""
	})
	before := srv.host.count("client-1")
	cli.host.setProbe("cpu", 500)
	time.Sleep(300 * time.Millisecond)
	if n := srv.host.count("client-1"); n != before {
		t.Fatalf("%d documents ingested after revocation", n-before)
	}
	if !strings.Contains(srv.log.String(), "push client revoked") {
		t.Errorf("no log line for the revocation:\n%s", srv.log.String())
	}

	// Allowed again, then the server restarts: the list is read back and
	// the client is accepted with its stored signature.
	if err := srv.tc.Client.AuthorityAllow(ctx, "client-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "status after re-approval", func() bool {
		s := srv.host.statuses("client-1", "cpu")
		return len(s) > 0 && s[len(s)-1] == 500
	})
	if err := srv.tc.Stop(); err != nil {
		t.Fatal(err)
	}
	srv2 := startServer(t, filepath.Join(dir, "srv"), port, "")
	_, allowed, err := srv2.tc.Client.AuthorityList(ctx)
	if err != nil || allowed["client-1"] != "host-client-1" {
		t.Fatalf("allowed after restart = %v, %v", allowed, err)
	}
	eventually(t, "client back after a server restart", func() bool { return srv2.host.count("client-1") > 0 })
}

// TestAutoAccept: with auto_accept a new client pushes at once.
func TestAutoAccept(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srv := startServer(t, filepath.Join(dir, "srv"), port, "auto_accept = true")
	startClient(t, filepath.Join(dir, "cli"), port, "client-a")
	eventually(t, "document", func() bool { return srv.host.count("client-a") > 0 })
	_, allowed, err := srv.tc.Client.AuthorityList(context.Background())
	if err != nil || allowed["client-a"] == "" {
		t.Fatalf("allowed = %v, %v", allowed, err)
	}
}

// TestClientBeforeServerAndMasterAway: a client started before its master
// connects once it appears; while the master is away every status change
// is kept and delivered, in order, when it comes back.
func TestClientBeforeServerAndMasterAway(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cli := startClient(t, filepath.Join(dir, "cli"), port, "client-b")
	time.Sleep(200 * time.Millisecond) // a few failed attempts
	srv := startServer(t, filepath.Join(dir, "srv"), port, "auto_accept = true")
	eventually(t, "client connects once the server is up", func() bool { return srv.host.count("client-b") > 0 })

	if err := srv.tc.Stop(); err != nil {
		t.Fatal(err)
	}
	// Each change is read by the client before the next one (the core
	// would have logged each as a status change).
	for _, st := range []int{300, 200, 500, 100} {
		cli.host.setProbe("cpu", st)
		want := st
		eventually(t, "client read the change", func() bool {
			cli.impl.mu.Lock()
			c := cli.impl.client
			cli.impl.mu.Unlock()
			c.mu.Lock()
			defer c.mu.Unlock()
			b, _ := c.latest.encode()
			return strings.Contains(string(b), `"Message":"cpu is `+strconv.Itoa(want)+`"`)
		})
	}
	srv2 := startServer(t, filepath.Join(dir, "srv"), port, "auto_accept = true")
	eventually(t, "every change delivered", func() bool {
		return slices.Equal(srv2.host.statuses("client-b", "cpu"), []int{100, 300, 200, 500, 100})
	})
}
