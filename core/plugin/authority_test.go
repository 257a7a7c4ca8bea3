package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk"
)

// TestAuthorityThroughTheManager runs the real transport-push binary and
// reaches its client authority through the Authority RPC; a transport
// without an authority answers sdk.ErrNoAuthority. Only the instance with
// a server block declares the authority capability: neither the same
// binary in the client role nor another transport does.
func TestAuthorityThroughTheManager(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"transport-push", "transport-echo"} {
		if err := os.Symlink(filepath.Join(pluginsDir, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	allowed := filepath.Join(dir, "allowed_clients")
	if err := os.WriteFile(allowed, []byte("client-1 web1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := load(t, fmt.Sprintf(`
transport "push" {
  server {
    address              = "127.0.0.1"
    port                 = %d
    tls_cert             = %q
    tls_key              = %q
    ca                   = %q
    allowed_clients_file = %q
  }
}
transport "echo" {
  name = "peer"
}
transport "a-client" {
  plugin = "transport-push"
  client {
    address    = "127.0.0.1"
    port       = %d
    master_cert = %q
    uuid_sig   = %q
  }
}
`, port, filepath.Join(dir, "s.crt"), filepath.Join(dir, "s.key"), filepath.Join(dir, "ca"), allowed,
		port, filepath.Join(dir, "master.crt"), filepath.Join(dir, "uuid.sig")))
	m := newManager(t, Options{Dir: dir, Host: &testHost{changes: make(chan []byte, 1)}})
	if diags := m.Start(context.Background(), cfg.Transports); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	if got := m.Capable(config.KindTransport, sdk.CapAuthority); len(got) != 1 || got[0] != "push" {
		t.Fatalf("instances declaring the authority: %v, want [push]", got)
	}
	ctx := context.Background()
	waiting, allowedList, err := m.AuthorityList(ctx, "push")
	if err != nil || len(waiting) != 0 || allowedList["client-1"] != "web1" {
		t.Fatalf("list = %v, %v, %v", waiting, allowedList, err)
	}
	if err := m.AuthorityAllow(ctx, "push", "nobody"); !errors.Is(err, sdk.ErrUnknownClient) {
		t.Fatalf("allow unknown = %v, want sdk.ErrUnknownClient", err)
	}
	if err := m.AuthorityRelay(ctx, "push", "nobody", true); !errors.Is(err, sdk.ErrUnknownClient) {
		t.Fatalf("relay for an unknown client = %v, want sdk.ErrUnknownClient", err)
	}
	if err := m.AuthorityRelay(ctx, "push", "client-1", true); err != nil {
		t.Fatal(err)
	}
	if _, all, err := m.AuthorityClients(ctx, "push"); err != nil || len(all) != 1 || all[0].UUID != "client-1" || !all[0].Relay {
		t.Fatalf("clients after the relay grant = %+v, %v", all, err)
	}
	if b, _ := os.ReadFile(allowed); !strings.Contains(string(b), "client-1 web1 relay\n") {
		t.Fatalf("allowed file after the relay grant = %q", b)
	}
	if err := m.AuthorityRevoke(ctx, "push", "client-1"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(allowed); len(b) == 0 || string(b) != "# Wigo push clients allowed by this server: UUID hostname [pending] [key=BASE64] [relay]. Written by transport-push.\n" {
		t.Fatalf("allowed file after revoke = %q", b)
	}
	if _, _, err := m.AuthorityList(ctx, "echo"); !errors.Is(err, sdk.ErrNoAuthority) {
		t.Fatalf("echo list = %v, want sdk.ErrNoAuthority", err)
	}
	if _, _, err := m.AuthorityList(ctx, "nope"); !errors.Is(err, ErrUnknownInstance) {
		t.Fatalf("unknown instance = %v", err)
	}
	for _, h := range m.Health() {
		if h.State != StateRunning {
			t.Fatalf("an authority answer disturbed the plugin: %+v", h)
		}
	}
}
