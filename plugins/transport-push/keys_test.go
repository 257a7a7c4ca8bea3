package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
)

// testPrivOf is a client key derived from name, the same on every call.
func testPrivOf(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("test client key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testKeyOf(name string) ed25519.PublicKey { return testPrivOf(name).Public().(ed25519.PublicKey) }

// signUUID makes a signature of the kind a master gave before client keys:
// over the UUID alone.
func signUUID(key crypto.Signer, uuid string) ([]byte, error) {
	msg := []byte(signaturePrefix + uuid)
	if _, ok := key.(ed25519.PrivateKey); ok {
		return key.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	d := sha256.Sum256(msg)
	return key.Sign(rand.Reader, d[:], crypto.SHA256)
}

// keyed adds the public key of priv and its proof on conn to a hello.
func keyed(t testing.TB, conn *tls.Conn, m *pushpb.ClientMessage, priv ed25519.PrivateKey) *pushpb.ClientMessage {
	t.Helper()
	if err := addKey(conn, m, priv); err != nil {
		t.Fatal(err)
	}
	return m
}

// addKey is keyed for a caller without a testing.TB.
func addKey(conn *tls.Conn, m *pushpb.ClientMessage, priv ed25519.PrivateKey) error {
	h := m.GetHello()
	proof, err := keyProof(conn, priv, h.GetUuid())
	if err != nil {
		return err
	}
	h.PublicKey, h.KeyProof = priv.Public().(ed25519.PublicKey), proof
	return nil
}

// keyedSession opens a raw session and sends a hello for uuid with the
// key priv (and sig, when not nil); it returns the session and the
// server's first answer.
func keyedSession(t *testing.T, port int, uuid string, sig []byte, priv ed25519.PrivateKey) (*pushpb.ClientConn, *pushpb.ServerMessage, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", addrOf(port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
	if err != nil {
		t.Fatal(err)
	}
	st := pushpb.NewClientConn(conn, 1<<20)
	t.Cleanup(func() { st.Close() })
	if err := st.Send(keyed(t, conn, hello(uuid, "h-"+uuid, sig), priv)); err != nil {
		return st, nil, fmt.Errorf("send hello: %w", err)
	}
	m, err := st.Recv()
	return st, m, err
}

// TestSignatureBoundToKey: knowing an approved client's UUID (the waiting
// list shows it; finding 6 of issue 11) is not enough to collect its
// signature, nor is a copy of its uuid_sig enough to push as it: only the
// client holding the key it registered with gets and uses the signature.
func TestSignatureBoundToKey(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srv := startServer(t, filepath.Join(dir, "srv"), port, "")
	cliDir := filepath.Join(dir, "cli")
	cli := startClient(t, cliDir, port, "genuine")
	ctx := context.Background()
	eventually(t, "genuine client waiting", func() bool {
		w, _, err := srv.tc.Client.AuthorityList(ctx)
		return err == nil && w["genuine"] == "host-genuine"
	})
	// Someone who read the waiting list registers the same UUID with its
	// own key: refused, the genuine entry kept.
	thief := testPrivOf("thief")
	if _, m, err := keyedSession(t, port, "genuine", nil, thief); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "another client key") {
		t.Fatalf("hello for a waiting UUID with another key: %v, %v; want PERMISSION_DENIED", m, err)
	}
	if err := cli.tc.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.tc.Client.AuthorityAllow(ctx, "genuine"); err != nil {
		t.Fatal(err)
	}

	// Approved, and the genuine client is away: whoever comes first with
	// the UUID gets no signature, with a key or without.
	if _, m, err := keyedSession(t, port, "genuine", nil, thief); status.Code(err) != codes.PermissionDenied || len(m.GetWelcome().GetSignature()) > 0 {
		t.Fatalf("approved UUID with another key: %v, %v; want PERMISSION_DENIED and no signature", m, err)
	}
	refusedWith(t, port, codes.PermissionDenied, hello("genuine", "h", nil))

	// The genuine client, back with its key, gets the signature and pushes.
	cli2 := startClient(t, cliDir, port, "genuine")
	eventually(t, "genuine client's document", func() bool { return srv.host.count("genuine") > 0 })
	if !strings.Contains(cli2.log.String(), "accepted by the master") {
		t.Fatalf("genuine client not accepted:\n%s", cli2.log.String())
	}
	sig := readSig(t, filepath.Join(cliDir, "uuid.sig"))
	// A copy of its uuid_sig is useless without its key.
	if _, m, err := keyedSession(t, port, "genuine", sig, thief); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("its signature with another key: %v, %v; want UNAUTHENTICATED", m, err)
	}
	refusedWith(t, port, codes.Unauthenticated, hello("genuine", "h", sig))
	if !strings.Contains(srv.log.String(), "another client key") {
		t.Errorf("the refusals are not logged:\n%s", srv.log.String())
	}
	// The key file is private.
	fi, err := os.Stat(filepath.Join(cliDir, clientKeyName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("client key: %v, %v", fi, err)
	}
}

// TestLegacySignatureMigration: a client that holds a signature of its UUID
// alone (from before client keys) is still accepted; the first time it
// presents it with its new key, the master binds that key and hands it a
// signature over both; the old signature is refused from then on.
func TestLegacySignatureMigration(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srvDir := filepath.Join(dir, "srv")
	writeTestFile(t, filepath.Join(srvDir, "allowed_clients"), "legacy-1 host-legacy-1\n", 0o600)
	srv := startServer(t, srvDir, port, "")
	caKey, err := readKey(filepath.Join(srvDir, "ca", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	old, err := signUUID(caKey, "legacy-1")
	if err != nil {
		t.Fatal(err)
	}
	// A client not yet upgraded (no key) is accepted as before.
	st := acceptedSession(t, port, "legacy-1", old)
	st.Close()

	cliDir := filepath.Join(dir, "cli")
	writeTestFile(t, filepath.Join(cliDir, "uuid.sig"), base64.StdEncoding.EncodeToString(old)+"\n", 0o600)
	startClient(t, cliDir, port, "legacy-1")
	eventually(t, "upgraded client's document", func() bool { return srv.host.count("legacy-1") > 0 })
	eventually(t, "new signature stored", func() bool {
		b, err := os.ReadFile(filepath.Join(cliDir, "uuid.sig"))
		return err == nil && strings.TrimSpace(string(b)) != base64.StdEncoding.EncodeToString(old)
	})
	key, err := loadClientKey(hclog.NewNullLogger(), filepath.Join(cliDir, clientKeyName))
	if err != nil {
		t.Fatal(err)
	}
	if !verifyClient(caKey.Public(), "legacy-1", key.Public().(ed25519.PublicKey), readSig(t, filepath.Join(cliDir, "uuid.sig"))) {
		t.Fatal("the stored signature does not bind the UUID to the client key")
	}
	b, _ := os.ReadFile(filepath.Join(srvDir, "allowed_clients"))
	if !strings.Contains(string(b), "legacy-1 host-legacy-1 key="+base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))) {
		t.Fatalf("allowed_clients does not hold the bound key:\n%s", b)
	}
	refusedWith(t, port, codes.PermissionDenied, hello("legacy-1", "h", old))
}

func readSig(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
