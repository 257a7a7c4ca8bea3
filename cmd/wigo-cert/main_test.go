package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustRun(t *testing.T, args ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("wigo-cert %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
}

// TestCAAndServerChain: a CA and a server certificate signed by it verify
// with crypto/x509 for every requested name, keys are 0600, and the pair
// loads as a TLS certificate.
func TestCAAndServerChain(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	mustRun(t, "ca", "-out", ca)
	crt, key := filepath.Join(dir, "wigo.crt"), filepath.Join(dir, "wigo.key")
	mustRun(t, "server", "-host", "wigo.example.org, 10.0.0.1", "-ca", ca, "-cert", crt, "-key", key, "-duration", "720h")

	root := readCert(t, filepath.Join(ca, "ca.crt"))
	if !root.IsCA {
		t.Fatal("CA certificate is not a CA")
	}
	leaf := readCert(t, crt)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	for _, name := range []string{"wigo.example.org", "10.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "other.example.org"}); err == nil {
		t.Error("verified for a name it was not issued for")
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 720*time.Hour || d > 722*time.Hour {
		t.Errorf("validity %v, want 720h (+1h back-dating)", d)
	}
	for _, k := range []string{key, filepath.Join(ca, "ca.key")} {
		fi, err := os.Stat(k)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", k, fi.Mode(), err)
		}
	}
	if _, err := tls.LoadX509KeyPair(crt, key); err != nil {
		t.Fatal(err)
	}
	// Existing files are kept unless -force.
	var out, errb bytes.Buffer
	if code := run([]string{"ca", "-out", ca}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "exists") {
		t.Fatalf("overwrote the CA: exit %d, %s", code, errb.String())
	}
	mustRun(t, "ca", "-out", ca, "-force")
}

func TestKeyTypes(t *testing.T) {
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "rsa.crt"), filepath.Join(dir, "rsa.key")
	mustRun(t, "server", "-host", "localhost", "-type", "rsa", "-bits", "2048", "-cert", crt, "-key", key)
	c := readCert(t, crt)
	if pk, ok := c.PublicKey.(*rsa.PublicKey); !ok || pk.N.BitLen() != 2048 {
		t.Fatalf("public key %T", c.PublicKey)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Fatalf("self-signed certificate does not verify: %v", err)
	}
	mustRun(t, "server", "-host", "localhost", "-type", "ecdsa", "-bits", "384", "-cert", filepath.Join(dir, "e.crt"), "-key", filepath.Join(dir, "e.key"))
	mustRun(t, "ca", "-out", filepath.Join(dir, "edca"), "-type", "ed25519")
	for _, bad := range [][]string{
		{"server", "-host", "x", "-type", "rsa", "-bits", "512", "-cert", filepath.Join(dir, "a"), "-key", filepath.Join(dir, "b")},
		{"server", "-host", "x", "-type", "dsa", "-cert", filepath.Join(dir, "a"), "-key", filepath.Join(dir, "b")},
		{"server", "-cert", filepath.Join(dir, "a"), "-key", filepath.Join(dir, "b")},
		{"server", "-host", "x", "-ca", dir, "-cert", filepath.Join(dir, "a"), "-key", filepath.Join(dir, "b")},
		{"ca"},
		{"nope"},
	} {
		var out, errb bytes.Buffer
		if code := run(bad, &out, &errb); code == 0 {
			t.Errorf("wigo-cert %v succeeded", bad)
		}
	}
}
