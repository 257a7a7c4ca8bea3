package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// TestRemoteAddresses: the address scheme skips .0 and .255 and maps back.
func TestRemoteAddresses(t *testing.T) {
	for i, want := range map[int]string{0: "127.1.0.1", 253: "127.1.0.254", 254: "127.1.1.1", 254 * 256: "127.2.0.1", maxRemotes - 1: "127.255.255.254"} {
		if got := remoteIP(i).String(); got != want {
			t.Errorf("remoteIP(%d) = %s, want %s", i, got, want)
		}
	}
	for _, i := range []int{0, 1, 253, 254, 255, 20_000, 254*256 - 1, 254 * 256, maxRemotes - 1} {
		if got, ok := remoteIndex(remoteIP(i)); !ok || got != i {
			t.Errorf("remoteIndex(remoteIP(%d)) = %d, %v", i, got, ok)
		}
	}
	for _, ip := range []string{"127.0.0.1", "127.1.0.0", "127.1.0.255", "10.1.0.1", "::1"} {
		if i, ok := remoteIndex(net.ParseIP(ip)); ok {
			t.Errorf("remoteIndex(%s) = %d, want no remote", ip, i)
		}
	}
}

// syncBuffer is runPull's output, read by the test while runPull writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pullRun is runPull running in the background for a test.
type pullRun struct {
	out    *syncBuffer
	addrs  []string // the remotes, as the -config block names them
	block  []byte
	cancel context.CancelFunc
	done   chan error
}

// startPull runs runPull with args plus a -config file, -listen-port 0 and
// -settle 0, and returns once the block is written (the remotes answer).
func startPull(t *testing.T, args ...string) *pullRun {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "pull.hcl")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &pullRun{out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- runPull(ctx, append([]string{"-listen-port", "0", "-config", cfg, "-settle", "0"}, args...), r.out)
	}()
	eventually(t, "the -config block", func() bool {
		select {
		case err := <-r.done:
			t.Fatalf("runPull returned early: %v\n%s", err, r.out.String())
		default:
		}
		var err error
		r.block, err = os.ReadFile(cfg)
		return err == nil
	})
	for _, m := range regexp.MustCompile(`"(127\.1\.0\.\d+:\d+)"`).FindAllSubmatch(r.block, -1) {
		r.addrs = append(r.addrs, string(m[1]))
	}
	return r
}

// stop cancels the run and returns runPull's result.
func (r *pullRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runPull did not return after cancel")
	}
}

// TestPull runs three remotes, reads the block written for the master and
// polls one remote as transport-pull does.
func TestPull(t *testing.T) {
	run := startPull(t, "-n", "3", "-probes", "7", "-interval", "20ms", "-change", "1",
		"-check-interval", "2s", "-prefix", "lgtest", "-duration", "1m")
	block, addrs, out := run.block, run.addrs, run.out
	if len(addrs) != 3 || !strings.Contains(string(block), `transport "pull" {`) || !strings.Contains(string(block), "check_interval = 2\n") {
		t.Fatalf("block:\n%s", block)
	}
	for i, a := range addrs {
		if want := fmt.Sprintf("127.1.0.%d:", i+1); !strings.HasPrefix(a, want) {
			t.Fatalf("remote %d is %s, want %s…", i, a, want)
		}
	}
	_, port, _ := net.SplitHostPort(addrs[0])

	// Remote 1 (the second) answers for itself only, gzipped when asked,
	// which Go's client (and so transport-pull) does.
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url string) (*model.Wigo, *http.Response) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, resp
		}
		var w model.Wigo
		if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
			t.Fatalf("decode %s: %v", url, err)
		}
		return &w, resp
	}
	url := "http://" + addrs[1] + "/api"
	w, resp := get(url)
	if w == nil {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if !resp.Uncompressed {
		t.Error("answer not gzipped although the client asked for it")
	}
	if w.Uuid != "lgtest-000001" || w.Hostname != "lgtest-000001" || !regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`).MatchString(w.Uuid) {
		t.Fatalf("Uuid %q, Hostname %q", w.Uuid, w.Hostname)
	}
	if w.LocalHost == nil || len(w.LocalHost.Probes) != 7 || w.LocalHost.Probes["probe0"] == nil {
		t.Fatalf("LocalHost = %+v", w.LocalHost)
	}
	first := w.LocalHost.Probes["probe0"].Status

	// With -change 1 every renewal flips every status.
	eventually(t, "a status change", func() bool {
		w, _ := get(url)
		return w != nil && w.LocalHost.Probes["probe0"].Status != first
	})

	// An address that is no remote, and a plain-JSON client.
	if _, resp := get("http://127.0.0.1:" + port + "/api"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("127.0.0.1: %s, want 404", resp.Status)
	}
	plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	resp, err := plain.Get("http://" + addrs[2] + "/api")
	if err != nil {
		t.Fatal(err)
	}
	var w2 model.Wigo
	err = json.NewDecoder(resp.Body).Decode(&w2)
	resp.Body.Close()
	if err != nil || resp.Header.Get("Content-Encoding") != "" || w2.Uuid != "lgtest-000002" {
		t.Fatalf("plain GET: %v, encoding %q, Uuid %q", err, resp.Header.Get("Content-Encoding"), w2.Uuid)
	}
	client.CloseIdleConnections()
	plain.CloseIdleConnections()

	run.stop(t)
	// The polls above (the 404 excluded) are counted.
	if m := regexp.MustCompile(`(\d+) polls served .* (\d)/3 remotes polled`).FindStringSubmatch(out.String()); m == nil || m[1] == "0" || m[2] != "2" {
		t.Fatalf("summary:\n%s", out.String())
	}
}

// A remote tags its answer and answers a matching If-None-Match with 304,
// as this project's daemon does, until its probes renew; with -original it
// answers as the original Wigo: no ETag, the whole document every time,
// gzip streamed without a length.
func TestPullETagAndOriginal(t *testing.T) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	get := func(url, inm string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	run := startPull(t, "-n", "1", "-probe-interval", "300ms", "-duration", "1m")
	url := "http://" + run.addrs[0] + "/api"
	first := get(url, "")
	tag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || tag == "" || first.ContentLength <= 0 {
		t.Fatalf("first answer %s, ETag %q, length %d", first.Status, tag, first.ContentLength)
	}
	if again := get(url, tag); again.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match %s: %s, want 304", tag, again.Status)
	}
	eventually(t, "a new ETag once the probes renew", func() bool {
		r := get(url, tag)
		return r.StatusCode == http.StatusOK && r.Header.Get("ETag") != tag
	})
	run.stop(t)
	if !regexp.MustCompile(`answered 304`).MatchString(run.out.String()) {
		t.Errorf("summary does not count the 304s:\n%s", run.out.String())
	}

	orig := startPull(t, "-n", "1", "-probe-interval", "1h", "-duration", "1m", "-original")
	url = "http://" + orig.addrs[0] + "/api"
	for range 2 {
		r := get(url, `"1"`)
		if r.StatusCode != http.StatusOK || r.Header.Get("ETag") != "" || r.Header.Get("Content-Encoding") != "gzip" || r.ContentLength != -1 {
			t.Fatalf("-original: %s, ETag %q, encoding %q, length %d; want 200, no ETag, gzip, no length",
				r.Status, r.Header.Get("ETag"), r.Header.Get("Content-Encoding"), r.ContentLength)
		}
	}
	client.CloseIdleConnections()
	orig.stop(t)
}

// TestPullConfigOnly: -duration 0 writes the block and returns.
func TestPullConfigOnly(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "pull.hcl")
	var out bytes.Buffer
	if err := runPull(context.Background(), []string{"-n", "300", "-listen-port", "4999", "-config", cfg, "-duration", "0"}, &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, a := range []string{`"127.1.0.1:4999"`, `"127.1.0.254:4999"`, `"127.1.1.1:4999"`, `"127.1.1.46:4999"`} {
		if !strings.Contains(s, a) {
			t.Errorf("block lacks %s", a)
		}
	}
	if n := strings.Count(s, ":4999\","); n != 300 || strings.Contains(s, "127.1.1.47") {
		t.Errorf("block names %d remotes, want 300:\n%s", n, s)
	}
}

// BenchmarkRenew is the load generator's own cost per remote and interval:
// renewing 20 probe results and encoding the document, plain and gzip.
func BenchmarkRenew(b *testing.B) {
	r := &pullRemote{host: newHost("lg-bench", 20)}
	b.ReportAllocs()
	for b.Loop() {
		_ = r.host.delta(0.01)
		if err := r.encode(); err != nil {
			b.Fatal(err)
		}
	}
}
