package ui_test

// Browser tests: a real daemon (probes, state, store, HTTP server) and a real
// headless Chromium driven over the DevTools protocol by chromedp. Every wait
// is on a DOM condition with a deadline, never a sleep.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/daemon"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/core/ui"
	"github.com/wigo-project/wigo/core/ws"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium for one test and returns a tab
// context. Without Chromium the test is skipped, except in CI (which
// installs it), where a missing browser is a failure.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("WIGO_CHROMIUM")
	if path == "" {
		path = chromiumPath
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found at %s (scripts/test-deps installs it): %v", path, err)
		}
		t.Skipf("chromium not found at %s; install Debian's chromium to run the browser tests", path)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in containers
		chromedp.DisableGPU,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	// The browser lives as long as the context of the first call: start it
	// without a deadline, then give the test's actions one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Any uncaught exception in the page fails the test, whatever the
	// test was looking at.
	var mu sync.Mutex
	var exceptions []string
	events := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			mu.Lock()
			exceptions = append(exceptions, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber+1))
			mu.Unlock()
		}
	}()
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(tcancel)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range exceptions {
			t.Errorf("uncaught exception in the page: %s", e)
		}
	})
	return ctx
}

var (
	shotsOnce sync.Once
	shotsDir  string
)

// screenshot writes a full-page PNG into the screenshot folder
// ($WIGO_SCREENSHOTS, else a temporary folder kept after the run).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shotsOnce.Do(func() {
		shotsDir = os.Getenv("WIGO_SCREENSHOTS")
		if shotsDir == "" {
			shotsDir, _ = os.MkdirTemp("", "wigo-screenshots-")
		}
		os.MkdirAll(shotsDir, 0o755)
	})
	// A full-page shot of a scrolled page draws the sticky header mid-page.
	if err := chromedp.Do(ctx, eval(`window.scrollTo(0, 0)`)); err != nil {
		t.Fatal(err)
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(shotsDir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// waitJS polls a JavaScript condition in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, within time.Duration, cond string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("conn").dataset.conn`))
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("main").innerText.slice(0, 1500)`))
		t.Fatalf("condition not met within %s: %s: %v\nconnection: %s\npage: %s", within, cond, err, state, html)
	}
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval runs JavaScript for its effect.
func eval(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](js)(ctx, t)
		return err
	})
}

// colorScheme emulates prefers-color-scheme.
func colorScheme(v string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}},
		})
		return err
	})
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Write then rename, so the probe never reads a half-written file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testConfig lays out probes that run every second: "flip" prints whatever
// conf.d/flip.json holds, so the test changes its output on disk; "disks"
// has an object-of-objects Detail and metrics; "memory" a flat Detail.
func testConfig(t *testing.T) *config.Config {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Hostname = "ui-host"
	cfg.Group = "web"
	cfg.ProbesDir = filepath.Join(dir, "probes")
	cfg.ProbesConfigDir = filepath.Join(dir, "conf.d")
	cfg.PluginsDir = filepath.Join(dir, "plugins")
	cfg.Database = filepath.Join(dir, "wigo.db")
	cfg.UUIDFile = filepath.Join(dir, "uuid")
	cfg.AliveTimeout = 30 * time.Second
	cfg.HTTP.Enabled = true
	cfg.HTTP.Address = "127.0.0.1"
	cfg.HTTP.Port = freePort(t) // fixed, so a restart comes back on the same URL
	writeFile(t, filepath.Join(cfg.ProbesDir, "1", "flip"), "#!/bin/sh\ncat \"$WIGO_PROBE_CONFIG_ROOT/flip.json\"\n", 0o755)
	writeFile(t, filepath.Join(cfg.ProbesConfigDir, "flip.json"), `{"Status":100,"Message":"all good"}`, 0o644)
	writeFile(t, filepath.Join(cfg.ProbesDir, "1", "disks"), `#!/bin/sh
echo '{"Version":"1.0","Status":200,"Message":"/var 91% used","Detail":{"/":{"used_pct":41,"fs":"ext4"},"/var":{"used_pct":91,"fs":"xfs"}},"Metrics":[{"Tags":{"mount":"/"},"Value":41},{"Tags":{"mount":"/var"},"Value":91}]}'
`, 0o755)
	writeFile(t, filepath.Join(cfg.ProbesDir, "1", "memory"), `#!/bin/sh
echo '{"Version":"1.0","Status":100,"Message":"27% used","Detail":{"total_mb":15923,"used_mb":4301,"swap_used_mb":0}}'
`, 0o755)
	return cfg
}

// running is a daemon started in-process.
type running struct {
	d      *daemon.Daemon
	cancel context.CancelFunc
	done   chan error
}

func startDaemon(t *testing.T, cfg *config.Config, opts ...daemon.Option) *running {
	t.Helper()
	var d *daemon.Daemon
	var err error
	// The previous instance's port may take a moment to be free again on
	// a busy machine; retrying New is the only way to learn it is.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if d, err = daemon.New(cfg, hclog.NewNullLogger(), opts...); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // later stops return at once
}

// awaitProbe waits, through the daemon's own event bus, until the local
// probe has the message.
func awaitProbe(t *testing.T, st *state.State, probe, message string) {
	t.Helper()
	sub := st.Bus().Subscribe(event.SubscribeOptions{})
	defer sub.Close()
	if p := st.Local().Probes[probe]; p != nil && p.Message == message {
		return
	}
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Probe == probe && e.New != nil && e.New.Message == message {
				return
			}
		case <-timeout:
			t.Fatalf("probe %s never reported %q", probe, message)
		}
	}
}

func TestBrowserLiveDashboard(t *testing.T) {
	ctx := browser(t)
	cfg := testConfig(t)
	r := startDaemon(t, cfg)
	url := r.d.URL()
	awaitProbe(t, r.d.State(), "flip", "all good")
	awaitProbe(t, r.d.State(), "disks", "/var 91% used")
	awaitProbe(t, r.d.State(), "memory", "27% used")

	// Remote hosts, as a pull or push transport would ingest them: one
	// instance carrying two more, one of them DOWN.
	if err := r.d.State().Ingest("edge-master:4000", remoteDoc()); err != nil {
		t.Fatalf("ingest: %v", err)
	}

	// Hosts view lists the host with its probes, live, and the remote
	// hosts at every depth, DOWN first.
	run(t, ctx, chromedp.Navigate(url+"/#/hosts"))
	waitJS(t, ctx, 10*time.Second, `document.querySelector('#conn[data-conn="live"]') !== null &&
		document.querySelector('li.host[data-host="ui-host"] li[data-probe="flip"]') !== null &&
		document.querySelector('li.host.down[data-host="db-01"]')?.textContent.includes("DOWN") === true &&
		document.querySelector('main section')?.textContent.includes("db-01") === true &&
		document.querySelector('li.host[data-host="db-02"] li[data-probe="replication"]') !== null`)
	title, _ := chromedp.Run(ctx, chromedp.Title())
	if !strings.HasPrefix(title, "DOWN · wigo — ui-host") {
		t.Errorf("title = %q, want the global status first", title)
	}
	screenshot(t, ctx, "01-hosts")

	// A change on disk reaches the page without a reload: the marker set
	// on window survives.
	run(t, ctx, eval(`window.__noReload = 1`))
	writeFile(t, filepath.Join(cfg.ProbesConfigDir, "flip.json"), `{"Status":300,"Message":"disk on fire"}`, 0o644)
	awaitProbe(t, r.d.State(), "flip", "disk on fire")
	waitJS(t, ctx, 5*time.Second, `(() => {
		const li = document.querySelector('li.host[data-host="ui-host"] li[data-probe="flip"]');
		return li !== null && li.textContent.includes("disk on fire") && li.textContent.includes("CRIT") && window.__noReload === 1;
	})()`)
	waitJS(t, ctx, 5*time.Second, `document.querySelector("#favicon").href.startsWith("data:image/png")`)
	screenshot(t, ctx, "02-hosts-after-change")

	// Filter, then the wall.
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#filter"), "nomatch"))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('li.host[data-host="ui-host"]') === null && document.querySelector('#hosts-area').textContent.includes("No host matches")`)
	run(t, ctx, eval(`(f => { f.value = ""; f.dispatchEvent(new Event("input")); })(document.querySelector("#filter"))`), chromedp.Click(chromedp.CSS("#wall-toggle")))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('ul.wall li[data-host="ui-host"][data-level="CRIT"]') !== null &&
		document.querySelector('ul.wall li').dataset.host === "db-01"`)
	screenshot(t, ctx, "03-wall")
	run(t, ctx, chromedp.Click(chromedp.CSS("#wall-toggle")))

	// Host view: status words, ages, Detail as tables, metrics, raw JSON.
	run(t, ctx, chromedp.Navigate(url+"/#/host/ui-host"))
	waitJS(t, ctx, 5*time.Second, `(() => {
		const row = document.querySelector('tr.probe[data-probe="disks"]');
		if (!row || !row.textContent.includes("WARN") || !/\d+ s ago/.test(row.textContent)) return false;
		const extra = row.nextElementSibling;
		return extra.querySelector('.detail table th[scope="row"]')?.textContent === "/" &&
			extra.textContent.includes("mount=/var") && extra.querySelector("details summary").textContent === "Raw JSON";
	})()`)
	// Clicked from inside the page: the view is redrawn by every probe run,
	// and a node looked up from outside may be gone by the time it is
	// clicked.
	run(t, ctx, eval(`document.querySelector('tr.probe[data-probe="memory"] + tr.extra details summary').click()`))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('tr.probe[data-probe="memory"] + tr.extra details[open] pre')?.textContent.includes('"swap_used_mb": 0') === true`)
	// A live update redraws the table; what the user opened stays open.
	writeFile(t, filepath.Join(cfg.ProbesConfigDir, "flip.json"), `{"Status":300,"Message":"disk still on fire"}`, 0o644)
	awaitProbe(t, r.d.State(), "flip", "disk still on fire")
	waitJS(t, ctx, 5*time.Second, `document.querySelector('tr.probe[data-probe="flip"]')?.textContent.includes("disk still on fire") === true &&
		document.querySelector('tr.probe[data-probe="memory"] + tr.extra details[open]') !== null`)
	screenshot(t, ctx, "04-host")

	// Group view.
	run(t, ctx, chromedp.Navigate(url+"/#/group/web"))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('main section tr.probe[data-probe="flip"]') !== null`)
	screenshot(t, ctx, "05-group")

	// Logs: the CRIT change is in the log; a new change prepends live.
	run(t, ctx, chromedp.Navigate(url+"/#/logs"))
	waitJS(t, ctx, 5*time.Second, `[...document.querySelectorAll("main tbody tr")].some(tr => tr.textContent.includes("disk on fire"))`)
	writeFile(t, filepath.Join(cfg.ProbesConfigDir, "flip.json"), `{"Status":100,"Message":"back to normal"}`, 0o644)
	waitJS(t, ctx, 10*time.Second, `document.querySelector("main tbody tr")?.textContent.includes("back to normal") === true &&
		document.querySelector(".pager span").textContent === "entries 1–" + document.querySelectorAll("main tbody tr").length`)
	screenshot(t, ctx, "06-logs")
	run(t, ctx, eval(`(s => { s.value = "disks"; s.dispatchEvent(new Event("change")); })(document.querySelector("#probe"))`))
	waitJS(t, ctx, 5*time.Second, `location.hash.includes("probe=disks") && [...document.querySelectorAll("main tbody tr")].every(tr => tr.children[4].textContent === "disks")`)
	screenshot(t, ctx, "06b-logs-filtered")

	// Authority without a push server: the view says so, and the call its
	// Approve button makes is answered 503.
	run(t, ctx, chromedp.Navigate(url+"/#/authority"))
	waitJS(t, ctx, 5*time.Second, `document.querySelector("#authority-error")?.textContent.includes("push server is not enabled") === true`)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("api/authority/hosts/0b7a7d6e-1/allow", {method: "POST"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusServiceUnavailable {
		t.Errorf("POST allow without a push server: %d, want 503", status)
	}
	screenshot(t, ctx, "07-authority-disabled")

	// Plugins: the daemon has a plugin host, but no notify block.
	run(t, ctx, chromedp.Navigate(url+"/#/plugins"))
	waitJS(t, ctx, 5*time.Second, `document.querySelector("#plugins-empty")?.textContent.includes("No plugin is configured") === true &&
		document.querySelector('#outbox-counts [data-count="dead"]')?.textContent === "0"`)
	screenshot(t, ctx, "08-plugins")

	// The global status is the core's, live: the DOWN host removed, the
	// page says what the core says is now the worst (no rollup of its own).
	if _, err := r.d.State().RemoveHost("db-01", "test"); err != nil {
		t.Fatal(err)
	}
	want := model.StatusName(r.d.State().GlobalStatus())
	if want == "DOWN" {
		t.Fatalf("the global status is still DOWN with db-01 removed")
	}
	waitJS(t, ctx, 5*time.Second, `document.getElementById("global-status").dataset.level === `+strconv.Quote(want))
	if title, _ := chromedp.Run(ctx, chromedp.Title()); !strings.HasPrefix(title, want+" · wigo") {
		t.Errorf("title after db-01 was removed = %q, want %s first", title, want)
	}

	// Dark scheme.
	run(t, ctx, colorScheme("dark"), chromedp.Navigate(url+"/#/hosts"))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('#conn[data-conn="live"]') !== null && document.querySelector('li.host[data-host="ui-host"]') !== null`)
	screenshot(t, ctx, "09-hosts-dark")
	run(t, ctx, colorScheme("light"))

	// Stop the daemon: the page says so. Restart it on the same port: the
	// page comes back live by itself, with fresh data.
	r.stop()
	waitJS(t, ctx, 5*time.Second, `["reconnecting", "offline"].includes(document.getElementById("conn").dataset.conn) && /reconnecting|offline/.test(document.title)`)
	waitJS(t, ctx, 15*time.Second, `document.getElementById("conn").dataset.conn === "offline"`)
	screenshot(t, ctx, "10-offline")
	writeFile(t, filepath.Join(cfg.ProbesConfigDir, "flip.json"), `{"Status":200,"Message":"after restart"}`, 0o644)
	r2 := startDaemon(t, cfg)
	awaitProbe(t, r2.d.State(), "flip", "after restart")
	waitJS(t, ctx, 15*time.Second, `document.getElementById("conn").dataset.conn === "live" &&
		document.querySelector('li.host[data-host="ui-host"] li[data-probe="flip"]')?.textContent.includes("after restart") === true`)
	screenshot(t, ctx, "11-back-live")
}

func remoteDoc() *model.Wigo {
	now := time.Now().Unix()
	probe := func(name string, status int, msg string) map[string]*model.ProbeResult {
		return map[string]*model.ProbeResult{name: {Name: name, Version: "1.0", Status: status, Message: msg, Timestamp: now}}
	}
	return &model.Wigo{
		Uuid: "edge-master-uuid", Version: "0.73", IsAlive: true, Hostname: "edge-master", LastUpdate: now,
		LocalHost: &model.Host{Name: "edge-master", Group: "edge", Status: 100, Probes: probe("load", 100, "load 0.3")},
		RemoteWigos: map[string]*model.Wigo{
			"db-01-uuid": {Uuid: "db-01-uuid", IsAlive: false, Hostname: "db-01", LastUpdate: now - 600,
				LocalHost: &model.Host{Name: "db-01", Group: "db", Status: 100, Probes: probe("mysql", 100, "up")}},
			"db-02-uuid": {Uuid: "db-02-uuid", IsAlive: true, Hostname: "db-02", LastUpdate: now,
				LocalHost: &model.Host{Name: "db-02", Group: "db", Status: 200, Probes: probe("replication", 200, "lag 42 s")}},
		},
	}
}

// fakeAuthority is a push server's client authority in memory.
type fakeAuthority struct {
	mu               sync.Mutex
	waiting, allowed map[string]string
}

func (a *fakeAuthority) List(context.Context) (map[string]string, map[string]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w, al := map[string]string{}, map[string]string{}
	for k, v := range a.waiting {
		w[k] = v
	}
	for k, v := range a.allowed {
		al[k] = v
	}
	return w, al, nil
}

func (a *fakeAuthority) move(uuid string, from, to map[string]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	name, ok := from[uuid]
	if !ok {
		return fmt.Errorf("%w: %s", api.ErrUnknownClient, uuid)
	}
	delete(from, uuid)
	to[uuid] = name
	return nil
}

func (a *fakeAuthority) Allow(_ context.Context, uuid string) error {
	return a.move(uuid, a.waiting, a.allowed)
}

func (a *fakeAuthority) Revoke(_ context.Context, uuid string) error {
	return a.move(uuid, a.allowed, a.waiting)
}

// The daemon has no way yet to plug an Authority in (the push transport
// will bring it), so this test serves the same three handlers the daemon
// mounts (API with an authority, websocket, UI) over a real state.
func TestBrowserAuthorityApproveRevoke(t *testing.T) {
	ctx := browser(t)
	st := state.New(state.Options{UUID: "master-uuid", Hostname: "master", Group: "core", Bus: event.NewBus()})
	st.ProbeResult(&model.ProbeResult{Name: "load", Status: 100, Message: "ok", Timestamp: time.Now().Unix()})
	auth := &fakeAuthority{
		waiting: map[string]string{"1d0c2f6e-aaaa": "edge-01", "77e1b9a4-bbbb": "edge-02"},
		allowed: map[string]string{"c3a9d2f1-cccc": "edge-00"},
	}
	srv := authorityServer(t, st, auth)

	run(t, ctx, chromedp.Navigate(srv.URL+"/#/authority"))
	waitJS(t, ctx, 5*time.Second, `document.querySelectorAll("#auth-waiting tbody tr").length === 2 && document.querySelectorAll("#auth-allowed tbody tr").length === 1`)
	screenshot(t, ctx, "12-authority")
	run(t, ctx, chromedp.Click(chromedp.CSS(`#auth-waiting tr[data-uuid="1d0c2f6e-aaaa"] button`)))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('#auth-allowed tr[data-uuid="1d0c2f6e-aaaa"]') !== null &&
		document.querySelector('#auth-waiting tr[data-uuid="1d0c2f6e-aaaa"]') === null &&
		document.querySelector('[role="alert"]').textContent.includes("Approved edge-01")`)
	if w, a, _ := auth.List(context.Background()); len(w) != 1 || a["1d0c2f6e-aaaa"] != "edge-01" {
		t.Fatalf("after Approve: waiting %v, allowed %v", w, a)
	}
	screenshot(t, ctx, "13-authority-approved")
	run(t, ctx, chromedp.Click(chromedp.CSS(`#auth-allowed tr[data-uuid="c3a9d2f1-cccc"] button`)))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('#auth-waiting tr[data-uuid="c3a9d2f1-cccc"]') !== null`)
	if w, _, _ := auth.List(context.Background()); w["c3a9d2f1-cccc"] != "edge-00" {
		t.Fatalf("after Revoke: waiting %v", w)
	}

	// This server has no plugin host and no outbox: both routes are 404s,
	// which the Plugins view says in words.
	run(t, ctx, chromedp.Navigate(srv.URL+"/#/plugins"))
	waitJS(t, ctx, 5*time.Second, `document.querySelector("#plugins-error")?.textContent === "No plugin host on this instance." &&
		document.querySelector("#outbox-error")?.textContent === "No notification outbox on this instance."`)
	screenshot(t, ctx, "16-plugins-no-host")
}

// authorityServer serves the dashboard and the API over st with auth as
// the push server's authority (a stand-in for the plugin), and the
// websocket, as the daemon mounts them.
func authorityServer(t *testing.T, st *state.State, auth api.Authority) *httptest.Server {
	t.Helper()
	hub := ws.New(ws.Options{State: st})
	mux := http.NewServeMux()
	apiH := api.New(api.Options{State: st, Authority: auth})
	mux.Handle("/api/ws", hub)
	mux.Handle("/api", apiH)
	mux.Handle("/api/", apiH)
	mux.Handle("/", ui.New())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return srv
}
