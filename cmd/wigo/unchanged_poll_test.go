package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// transportUpdates reads wigo_transport_updates_total of the daemon at
// base: how many host updates its transport plugins handed in whole
// (documents, decoded by the core) and as "answered, unchanged".
func transportUpdates(t *testing.T, base string) (documents, unchanged int) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	read := func(kind string) int {
		m := regexp.MustCompile(`(?m)^wigo_transport_updates_total\{kind="` + kind + `"\} (\d+)$`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("/metrics has no wigo_transport_updates_total{kind=%q}", kind)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	return read("document"), read("unchanged")
}

// awaitUpdates polls the daemon's counters until cond holds on them.
func awaitUpdates(t *testing.T, base, what string, cond func(documents, unchanged int) bool) (int, int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, u := transportUpdates(t, base)
		if cond(d, u) {
			return d, u
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d documents and %d unchanged updates after 30 s", what, d, u)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pullerOf is a daemon env pulling remote every second, with no probe of
// its own.
func pullerOf(t *testing.T, remote string) daemonEnv {
	t.Helper()
	env := pullEnv(t, "puller")
	if err := os.RemoveAll(filepath.Join(env.dir, "probes", "1")); err != nil {
		t.Fatal(err)
	}
	appendConfig(t, env, fmt.Sprintf("\ntransport \"pull\" {\n  check_interval = 1\n  remotes = [%q]\n}\n", remote))
	return env
}

// A remote that is this project's daemon, its document unchanged, answers
// the pull master's polls with 304: the master's core decodes its
// document once, then is only told that the remote answered, and keeps it
// alive past alive_timeout (3 s) on that alone. A change (a probe appears
// on the remote) reaches the master as a document, then the polls are
// unchanged again. An original master pulling the same daemon (no
// If-None-Match) gets the whole document every time.
func TestUnchangedPollFromThisProject(t *testing.T) {
	leafEnv := pullEnv(t, "leaf")
	// No probe: nothing changes the leaf's document until the test says.
	if err := os.RemoveAll(filepath.Join(leafEnv.dir, "probes", "1")); err != nil {
		t.Fatal(err)
	}
	masterEnv := pullerOf(t, leafEnv.addr())
	start(t, leafEnv)
	start(t, masterEnv)

	leafDoc := waitFor(t, leafEnv.url, 15*time.Second, func(w *model.Wigo) bool { return w.Uuid != "" })
	waitFor(t, masterEnv.url, 15*time.Second, func(w *model.Wigo) bool { return w.RemoteWigos[leafDoc.Uuid] != nil })
	// Five unchanged polls take longer than alive_timeout.
	awaitUpdates(t, masterEnv.url, "unchanged polls", func(d, u int) bool { return u >= 5 })
	if d, _ := transportUpdates(t, masterEnv.url); d != 1 {
		t.Fatalf("%d documents decoded for a remote whose document never changed, want 1", d)
	}
	if w := waitFor(t, masterEnv.url, 5*time.Second, func(*model.Wigo) bool { return true }); !w.RemoteWigos[leafDoc.Uuid].IsAlive {
		t.Fatal("the remote is not alive on the master after its unchanged answers")
	}

	// An original master sends no If-None-Match: the whole document, each
	// time, in the recorded shape. The plugin sends back the tag, and gets
	// 304 and nothing else, through the daemon's whole HTTP edge.
	originalMasterPolls(t, leafEnv.url)
	resp, err := http.Get(leafEnv.url + "/api")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, leafEnv.url+"/api", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	req.Header.Set("Accept-Encoding", "gzip")
	cond, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(cond.Body)
	cond.Body.Close()
	if resp.Header.Get("ETag") == "" || cond.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("ETag %q sent back: %s with %d bytes, want 304 and no body", resp.Header.Get("ETag"), cond.Status, len(body))
	}

	// The leaf's document changes: a probe appears there.
	writeFile(t, filepath.Join(leafEnv.dir, "probes", "3600", "flip"), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/flip.json\"\n", 0o755)
	waitFor(t, masterEnv.url, 30*time.Second, func(w *model.Wigo) bool {
		l := w.RemoteWigos[leafDoc.Uuid]
		return l != nil && probeStatus(l, "flip") == 100
	})
	d, u := transportUpdates(t, masterEnv.url)
	if d != 2 {
		t.Fatalf("%d documents after one change of the remote, want 2", d)
	}
	// ... and its polls are unchanged again.
	awaitUpdates(t, masterEnv.url, "unchanged polls after the change", func(_, u2 int) bool { return u2 >= u+2 })
	if d, _ := transportUpdates(t, masterEnv.url); d != 2 {
		t.Fatalf("%d documents decoded, want 2 (the first, the change)", d)
	}
}

// originalMasterPolls polls base's /api as an original master does: no
// If-None-Match, whatever the last answer was. Every answer is 200 with
// the whole document, its top level shaped as the recorded original's.
func originalMasterPolls(t *testing.T, base string) {
	t.Helper()
	var recorded map[string]json.RawMessage
	if err := json.Unmarshal(fixture(t, "api.json"), &recorded); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for i := range 3 {
		resp, err := http.Get(base + "/api")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got map[string]json.RawMessage
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil {
			t.Fatalf("poll %d without If-None-Match: %s, %.200s", i, resp.Status, body)
		}
		for k := range recorded {
			if _, ok := got[k]; !ok {
				t.Errorf("poll %d: the document lacks the original's %q", i, k)
			}
		}
		if first == nil {
			first = body
		} else if !bytes.Equal(body, first) {
			t.Errorf("poll %d: an unchanged instance answered another document", i)
		}
	}
}

// fixture reads a recorded answer of the original Wigo.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "original-api", name))
	if err != nil {
		t.Skipf("fixtures not available: %v", err)
	}
	return b
}

// originalRemote answers GET /api as the original Wigo does: its body (the
// recorded one), gzipped when asked, no ETag, If-None-Match ignored (and
// counted).
type originalRemote struct {
	mu   sync.Mutex
	body []byte
	inm  atomic.Int64
}

func (o *originalRemote) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("If-None-Match") != "" {
		o.inm.Add(1)
	}
	o.mu.Lock()
	body := o.body
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !slices.Contains(r.Header.Values("Accept-Encoding"), "gzip") {
		w.Write(body)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	zw := gzip.NewWriter(w)
	zw.Write(body)
	zw.Close()
}

// A remote answering as the original Wigo (no ETag: the recorded body,
// gzipped) with an unchanged body: the master's core decodes it once, then
// is only told that the remote answered (the plugin compared the bytes),
// and the remote stays alive. When the body changes, the change reaches
// the master.
func TestUnchangedPollFromTheOriginal(t *testing.T) {
	body := fixture(t, "api.json")
	remote := &originalRemote{body: body}
	srv := httptest.NewServer(remote)
	t.Cleanup(srv.Close)
	masterEnv := pullerOf(t, srv.Listener.Addr().String())
	start(t, masterEnv)

	const master1, leaf1 = "d2a6ca2a-0cf3-4c38-4965-532bf22cd66a", "c471b561-78e7-49a3-5daf-9e8f146d9506"
	waitFor(t, masterEnv.url, 15*time.Second, func(w *model.Wigo) bool { return w.RemoteWigos[master1] != nil })
	awaitUpdates(t, masterEnv.url, "unchanged polls", func(d, u int) bool { return u >= 5 })
	if d, _ := transportUpdates(t, masterEnv.url); d != 1 {
		t.Fatalf("%d documents decoded for an original remote whose answer never changed, want 1", d)
	}
	w := waitFor(t, masterEnv.url, 5*time.Second, func(*model.Wigo) bool { return true })
	if m := w.RemoteWigos[master1]; !m.IsAlive || m.RemoteWigos[leaf1] == nil || !m.RemoteWigos[leaf1].IsAlive {
		t.Fatalf("the original remote and its leaf are not both alive after unchanged answers: %+v", m)
	}
	if n := remote.inm.Load(); n != 0 {
		t.Fatalf("%d polls sent If-None-Match to a remote that never sent an ETag", n)
	}

	// The original's leaf-1 reports its warn probe WARNING, no longer
	// CRITICAL.
	was := []byte(`"Detail":{"x":1},"Status":300`)
	changed := bytes.Replace(body, was, []byte(`"Detail":{"x":1},"Status":250`), 1)
	if bytes.Equal(changed, body) {
		t.Fatalf("the recorded document has no %s to change", was)
	}
	remote.mu.Lock()
	remote.body = changed
	remote.mu.Unlock()
	waitFor(t, masterEnv.url, 15*time.Second, func(w *model.Wigo) bool {
		l := w.RemoteWigos[master1]
		return l != nil && l.RemoteWigos[leaf1] != nil && probeStatus(l.RemoteWigos[leaf1], "warn") == 250
	})
	_, u := transportUpdates(t, masterEnv.url)
	awaitUpdates(t, masterEnv.url, "unchanged polls after the change", func(_, u2 int) bool { return u2 >= u+2 })
	if d, _ := transportUpdates(t, masterEnv.url); d != 2 {
		t.Fatalf("%d documents decoded, want 2 (the first, the change)", d)
	}
}
