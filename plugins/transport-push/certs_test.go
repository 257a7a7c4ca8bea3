package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestConcurrentFirstStart: push servers starting at the same moment on the
// same CA directory and certificate paths (two transport blocks of one
// master, or a restart racing a start) end up with one CA and one server
// certificate, and every one of them loads them.
func TestConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	cfg := serverConfig{CA: filepath.Join(dir, "ca"), TLSCert: filepath.Join(dir, "ssl", "s.crt"), TLSKey: filepath.Join(dir, "ssl", "s.key")}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = loadServerKeys(hclog.NewNullLogger(), cfg)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	// Every start now reads the same files: their certificate is the one
	// a later start loads, signed by the one CA.
	caBefore, err := os.ReadFile(filepath.Join(dir, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	_, cert, err := loadServerKeys(hclog.NewNullLogger(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := readCert(filepath.Join(dir, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := readCert(cfg.TLSCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Fatalf("server certificate not signed by the CA on disk: %v", err)
	}
	if !bytes.Equal(cert.Certificate[0], leaf.Raw) {
		t.Fatal("loaded certificate differs from the one on disk")
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, "ca", "ca.crt"))
	if !bytes.Equal(caBefore, caAfter) {
		t.Fatal("the CA was created again")
	}
}
