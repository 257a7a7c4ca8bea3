package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
)

func mustTree(t *testing.T, s string) tree {
	t.Helper()
	tr, err := parseTree([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func canon(t *testing.T, tr tree) string {
	t.Helper()
	b, err := tr.encode()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	out, _ := json.Marshal(v)
	return string(out)
}

// TestDiffApply: applying the diff of two documents to the first gives the
// second, and only what changed is in the diff.
func TestDiffApply(t *testing.T) {
	a := mustTree(t, `{"Uuid":"u","LocalHost":{"Name":"h","Probes":{"cpu":{"Status":100},"gone":{"Status":100},"same":{"Status":100}}},"RemoteWigos":{}}`)
	b := mustTree(t, `{"Uuid":"u","LocalHost":{"Name":"h","Probes":{"cpu":{"Status":300},"new":{"Status":200},"same":{"Status":100}}},"RemoteWigos":{"r1":{"Uuid":"r1","LocalHost":{"Name":"r"}}}}`)
	ops := diff(a, b)
	if len(ops) != 4 {
		t.Fatalf("diff = %+v, want 4 operations (cpu, new, gone, r1)", ops)
	}
	c := a.clone()
	if err := apply(c, ops); err != nil {
		t.Fatal(err)
	}
	if canon(t, c) != canon(t, b) {
		t.Fatalf("apply(diff) = %s, want %s", canon(t, c), canon(t, b))
	}
	if canon(t, a) == canon(t, c) {
		t.Fatal("clone shares maps with the original")
	}
	// A delta into a subtree that did not exist creates it.
	d := mustTree(t, `{"Uuid":"u"}`)
	if err := apply(d, []op{{Path: []string{"LocalHost", "Probes", "x"}, Value: json.RawMessage(`{"Status":1}`)}}); err != nil {
		t.Fatal(err)
	}
	if got := canon(t, d); got != `{"LocalHost":{"Probes":{"x":{"Status":1}}},"Uuid":"u"}` {
		t.Fatalf("got %s", got)
	}
	for _, bad := range [][]op{
		{{Path: nil, Value: json.RawMessage(`1`)}},
		{{Path: []string{"a", "b", "c", "d"}, Value: json.RawMessage(`1`)}},
		{{Path: []string{"a"}, Value: json.RawMessage(`{nope`)}},
		{{Path: []string{strings.Repeat("k", 300)}, Value: json.RawMessage(`1`)}},
	} {
		if err := apply(mustTree(t, `{}`), bad); err == nil {
			t.Errorf("apply(%+v) accepted", bad)
		}
	}
}

func testAuthority(t *testing.T, dir string, auto bool, maxWaiting int) *authority {
	t.Helper()
	_, k, err := newCertificate("ca", nil, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAuthority(hclog.NewNullLogger(), k, filepath.Join(dir, "allowed"), auto, maxWaiting)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthority(t *testing.T) {
	dir := t.TempDir()
	a := testAuthority(t, dir, false, 3)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if reg, _, err := a.register(claim{uuid: id, hostname: "h-" + id, source: "test", key: testKeyOf(id)}); err != nil || reg != regWaiting {
			t.Fatalf("register %s = %v, %v", id, reg, err)
		}
	}
	w, _ := a.list()
	if len(w) != 3 || w["a"] != "" || w["e"] == "" {
		t.Fatalf("waiting = %v, want the 3 newest", w)
	}
	if err := a.allow("a"); !errors.Is(err, sdk.ErrUnknownClient) {
		t.Fatalf("allow of a dropped client: %v", err)
	}
	if err := a.allow("e"); err != nil {
		t.Fatal(err)
	}
	reg, sig, err := a.register(claim{uuid: "e", hostname: "h-e", source: "test", key: testKeyOf("e")})
	if err != nil || reg != regAccepted || len(sig) == 0 {
		t.Fatalf("register after allow = %v, %d bytes, %v", reg, len(sig), err)
	}
	// The signature is bound to e's key: handed out again to that key
	// only, never to another or to a client without one.
	if _, _, err := a.register(claim{uuid: "e", hostname: "h-e", source: "test", key: testKeyOf("e")}); err != nil {
		t.Fatalf("register again with the same key: %v", err)
	}
	if _, _, err := a.register(claim{uuid: "e", hostname: "h-e", source: "test", key: testKeyOf("thief")}); !errors.Is(err, errOtherKey) {
		t.Fatalf("register with another key: %v", err)
	}
	if _, _, err := a.register(claim{uuid: "e", hostname: "h-e", source: "test"}); !errors.Is(err, errSignatureHeld) {
		t.Fatalf("register without a key: %v", err)
	}
	if _, err := a.check("e", sig, testKeyOf("e")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.check("e", sig, testKeyOf("thief")); !errors.Is(err, errBadSignature) {
		t.Fatalf("signature with another key: %v", err)
	}
	if _, err := a.check("d", sig, testKeyOf("e")); !errors.Is(err, errBadSignature) {
		t.Fatalf("signature of another UUID: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "allowed"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("allowed file: %v %v", fi, err)
	}
	// Persisted: a new authority with the same key and file knows e.
	b := &authority{log: hclog.NewNullLogger(), signer: a.signer, pub: a.pub, file: a.file, maxWaiting: 3,
		allowed: map[string]*allowedClient{}, waiting: map[string]waitingClient{}}
	if err := b.load(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.check("e", sig, testKeyOf("e")); err != nil {
		t.Fatalf("after reload: %v", err)
	}
	if err := b.revoke("e"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.check("e", sig, testKeyOf("e")); !errors.Is(err, errNotAllowed) {
		t.Fatalf("revoked: %v", err)
	}
	if err := b.revoke("zz"); !errors.Is(err, sdk.ErrUnknownClient) {
		t.Fatalf("revoke unknown: %v", err)
	}
	// An unwritable file: the change is refused and not kept.
	c := testAuthority(t, dir, true, 3)
	c.file = filepath.Join(dir, "no", "such", "\x00dir", "allowed")
	if _, _, err := c.register(claim{uuid: "x", hostname: "h", source: "test", key: testKeyOf("x")}); err == nil {
		t.Fatal("register with an unwritable allowed file succeeded")
	}
	if _, al := c.list(); len(al) != 0 {
		t.Fatalf("allowed = %v after a failed write", al)
	}
}

func TestConfigure(t *testing.T) {
	for _, bad := range []string{`{}`, `{"server":[{"port":0}]}`, `{"client":[{"address":""}]}`} {
		if err := newTransport(hclog.NewNullLogger()).Configure(context.Background(), sdk.NewConfig("x", []byte(bad))); err == nil {
			t.Errorf("Configure(%s) accepted", bad)
		}
	}
}

func TestTopLevelField(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		ok        bool
	}{
		{`{"Status":300}`, `300`, true},
		{` { "Name" : "a,}\"b" , "Detail":{"Status":1,"x":[1,{"y":"}"}]}, "Status" : 250 } `, `250`, true},
		{`{"Status":1,"Status":2}`, `2`, true},
		{`{"Name":"x"}`, ``, false},
		{`{"St\u0061tus":5000}`, ``, false},
		{`[1]`, ``, false},
		{`{"Status":"300"}`, `"300"`, true},
	} {
		v, ok := topLevelField([]byte(c.raw), "Status")
		if ok != c.ok || string(v) != c.want {
			t.Errorf("%s: got %q %v, want %q %v", c.raw, v, ok, c.want, c.ok)
		}
	}
	// Whatever the scan says, an out-of-range or hidden status is refused.
	for _, bad := range []string{`{"Status":5000}`, `{"St\u0061tus":5000}`, `{"Status":"300"}`, `{"Status":-1}`, `{}`} {
		if err := checkProbe("p", json.RawMessage(bad)); err == nil {
			t.Errorf("checkProbe(%s) accepted", bad)
		}
	}
}

// TestConcurrentAutoAccept: registrations at once share file writes and
// every one of them is in the file when its register call returns.
func TestConcurrentAutoAccept(t *testing.T) {
	dir := t.TempDir()
	a := testAuthority(t, dir, true, 10)
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c-%d", i)
			if _, _, err := a.register(claim{uuid: id, hostname: "h", source: "test", key: testKeyOf(id)}); err != nil {
				errs <- err
				return
			}
			b, err := os.ReadFile(a.file)
			if err != nil || !strings.Contains(string(b), "\n"+id+" h key=") {
				errs <- fmt.Errorf("%s accepted but not in the file", id)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, al := a.list(); len(al) != n {
		t.Fatalf("%d allowed, want %d", len(al), n)
	}
}

// The relay grant is read from allowed_clients_file, kept when the master
// rewrites the file (the signature delivered, given again) and dropped
// with the client on revocation.
func TestRelayGrantInFile(t *testing.T) {
	dir := t.TempDir()
	key := testKeyOf("r")
	line := "r mid pending key=" + base64.StdEncoding.EncodeToString(key) + " relay\nplain leaf\n"
	if err := os.WriteFile(filepath.Join(dir, "allowed"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	a := testAuthority(t, dir, false, 10)
	if !a.relays("r") || a.relays("plain") || a.relays("unknown") {
		t.Fatalf("relays: r %t, plain %t, unknown %t; want only r", a.relays("r"), a.relays("plain"), a.relays("unknown"))
	}
	if reg, _, err := a.register(claim{uuid: "r", hostname: "mid", source: "test", key: key}); err != nil || reg != regAccepted {
		t.Fatalf("register = %v, %v", reg, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "allowed"))
	if err != nil || !strings.Contains(string(b), "r mid key="+base64.StdEncoding.EncodeToString(key)+" relay\n") {
		t.Fatalf("file after delivery: %v\n%s", err, b)
	}
	if again := testAuthority(t, dir, false, 10); !again.relays("r") {
		t.Fatal("relay lost across a restart")
	}
	if err := a.revoke("r"); err != nil {
		t.Fatal(err)
	}
	if a.relays("r") {
		t.Fatal("a revoked client is still a relay")
	}
	if err := os.WriteFile(filepath.Join(dir, "allowed"), []byte("r mid relays\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newAuthority(hclog.NewNullLogger(), a.signer, filepath.Join(dir, "allowed"), false, 10); err == nil ||
		!strings.Contains(err.Error(), "allowed:1: r: unknown field \"relays\": want pending, relay or key=") {
		t.Fatalf("a misspelt grant: %v", err)
	}
}
