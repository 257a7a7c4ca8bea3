package ui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/pgtest"
	"github.com/wigo-project/wigo/core/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	pgtest.Stop()
	os.Exit(code)
}

// hookSink is the receiver notify-http posts to; it answers status.
type hookSink struct {
	status atomic.Int32
	got    chan string // EventId of each accepted notification
}

func newHookSink(t *testing.T) (*hookSink, *httptest.Server) {
	s := &hookSink{got: make(chan string, 100)}
	s.status.Store(http.StatusInternalServerError)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct{ EventId string }
		if err := json.Unmarshal([]byte(r.FormValue("Notification")), &n); err != nil {
			http.Error(w, "no Notification form field", http.StatusBadRequest)
			return
		}
		code := int(s.status.Load())
		if code/100 != 2 {
			http.Error(w, "receiver down", code)
			return
		}
		w.WriteHeader(code)
		s.got <- n.EventId
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

// seedDeadLetter writes a dead letter for instance "http" into the
// daemon's database before the daemon opens it: the pipeline's attempt
// limit is not configurable from HCL, and ten real failures would take a
// quarter of an hour of backoff.
func seedDeadLetter(t *testing.T, db, eventID string) {
	t.Helper()
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := event.Event{Kind: event.ProbeChanged, Time: time.Now().Add(-time.Hour), Host: "ui-host", Group: "web", Probe: "backup",
		OldStatus: model.StatusOK, NewStatus: 300,
		Old: &model.ProbeResult{Name: "backup", Status: model.StatusOK, Message: "last backup 2 h ago"},
		New: &model.ProbeResult{Name: "backup", Status: 300, Message: "last backup 3 days ago"}}
	e.ProbesInError = []string{"backup"}
	n, _ := notify.Build(e, eventID)
	payload, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().Add(-10 * time.Minute)
	ids, err := st.EnqueueOutbox(ctx, now, store.OutboxEntry{EventID: eventID, Instance: "http", Host: "ui-host", Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordOutboxResults(ctx, now, store.OutboxResult{ID: ids[0], EventID: eventID, Instance: "http",
		Err: errors.New(`notify "http": POST http://127.0.0.1/hook: 500 Internal Server Error`), Dead: true}); err != nil {
		t.Fatal(err)
	}
}

// The Plugins view against a daemon running the real notify-http plugin:
// the instance is listed running; a probe change the receiver refuses shows
// as a pending row whose attempts go up; a dead letter is retried with its
// button and reaches the receiver, and the dead list empties.
func TestBrowserPluginsView(t *testing.T) {
	ctx := browser(t)
	hook, hookSrv := newHookSink(t)
	cfg := testConfig(t)
	cfg.PluginsDir = testbin.Plugins(t)
	parsed, diags := config.Parse(config.Source{Name: filepath.Join(t.TempDir(), "notify.hcl"),
		Src: fmt.Appendf(nil, `
notify "http" {
  url = %q
}
# A notifier whose binary is missing: listed as failed, with the reason.
# It hears no event, so the outbox holds only the http rows.
notify "legacy" {
  plugin          = "notify-missing"
  on_probe_change = false
  on_host_change  = false
}
`, hookSrv.URL+"/hook")})
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	cfg.Notify = parsed.Notify
	const deadEvent = "seeded-dead-letter-0001"
	seedDeadLetter(t, cfg.Database, deadEvent)

	r := startDaemon(t, cfg)
	url := r.d.URL()
	awaitProbe(t, r.d.State(), "flip", "all good")
	run(t, ctx, chromedp.Navigate(url+"/#/plugins"))
	waitJS(t, ctx, 15*time.Second, `(() => {
		const p = document.querySelector('#plugins tr[data-instance="http"]');
		const d = document.querySelector('#outbox-dead tr[data-id="1"]');
		return p !== null && p.dataset.state === "running" && p.querySelector(".badge").textContent === "running" &&
			p.textContent.includes("notify-http") && p.querySelector(".restarts").textContent === "0" &&
			d !== null && d.textContent.includes("Probe backup status changed from 100 to 300 on host ui-host") &&
			d.textContent.includes("500 Internal Server Error") && d.querySelector("button")?.textContent === "Retry" &&
			document.querySelector('#outbox-counts [data-count="dead"]').textContent === "1";
	})()`)
	waitJS(t, ctx, 5*time.Second, `(() => {
		const p = document.querySelector('#plugins tr[data-instance="legacy"]');
		return p !== null && p.dataset.state === "restarting" && p.querySelector(".badge").textContent === "restarting" &&
			p.querySelector("td.err").textContent.includes("does not exist") &&
			p.querySelector('td.delivery [data-fact="success"]').textContent === "no delivery attempted since start";
	})()`)

	// The receiver answers 500: the change is pending, retried with backoff.
	writeFile(t, filepath.Join(cfg.ProbesConfigDir, "flip.json"), `{"Status":300,"Message":"disk on fire"}`, 0o644)
	pending := `document.querySelector('#outbox-waiting tr[data-state="pending"][data-instance="http"]')`
	waitJS(t, ctx, 15*time.Second, pending+`?.textContent.includes("Probe flip status changed from 100 to 300") === true &&
		Number(`+pending+`.querySelector(".attempts").textContent) >= 1 &&
		`+pending+`.textContent.includes("500 Internal Server Error")`)
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](pending+`.querySelector(".attempts").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(first)
	waitJS(t, ctx, 15*time.Second, fmt.Sprintf(`Number(%s?.querySelector(".attempts").textContent) > %d &&
		document.querySelector('#outbox-counts [data-count="pending"]').textContent === "1"`, pending, n))
	// Two attempts refused: the notifier is failing, with the receiver's
	// error, on the page and in /metrics, though its plugin runs.
	waitJS(t, ctx, 10*time.Second, `(() => {
		const d = document.querySelector('#plugins tr[data-instance="http"] td.delivery');
		return d !== null && d.dataset.delivery === "failing" && d.querySelector(".badge").textContent === "failing" &&
			d.querySelector('[data-fact="failures"]')?.textContent.includes("500 Internal Server Error") === true &&
			d.querySelector('[data-fact="success"]').textContent === "last delivered never" &&
			d.querySelector('[data-fact="rows"]').textContent === "1 pending · 1 dead" &&
			document.querySelector('#plugins tr[data-instance="http"]').dataset.state === "running";
	})()`)
	metrics := func() string {
		m, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("metrics").then(r => r.text())`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := metrics(); !strings.Contains(m, `wigo_notify_state{instance="http",state="failing"} 1`) ||
		!strings.Contains(m, `wigo_notify_outbox{instance="http",state="dead"} 1`) {
		t.Errorf("/metrics does not say the http notifier is failing:\n%s", grepLines(m, "wigo_notify_"))
	}
	screenshot(t, ctx, "14-plugins-failing")
	run(t, ctx, colorScheme("dark"))
	screenshot(t, ctx, "14b-plugins-failing-dark")
	run(t, ctx, colorScheme("light"))

	// The receiver is back: the pending row goes out at its next attempt;
	// Retry sends the dead letter, which leaves the dead list.
	hook.status.Store(http.StatusNoContent)
	id := await(t, hook.got, 30*time.Second, "the pending notification")
	if id == deadEvent {
		t.Fatalf("the dead letter was delivered before Retry")
	}
	waitJS(t, ctx, 10*time.Second, `document.querySelector('#outbox-waiting') === null && document.querySelector('#outbox-waiting-empty') !== null`)
	// Delivered again, but a dead letter waits: degraded.
	waitJS(t, ctx, 10*time.Second, `document.querySelector('#plugins tr[data-instance="http"] td.delivery')?.dataset.delivery === "degraded" &&
		document.querySelector('#plugins tr[data-instance="http"] [data-fact="failures"]') === null`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`#outbox-dead tr[data-id="1"] button`)))
	if id := await(t, hook.got, 15*time.Second, "the retried dead letter"); id != deadEvent {
		t.Fatalf("after Retry the receiver got event %q, want %q", id, deadEvent)
	}
	waitJS(t, ctx, 10*time.Second, `document.querySelector('#outbox-dead') === null &&
		document.querySelector('#outbox-dead-empty')?.textContent === "No dead letter." &&
		document.querySelector('#outbox-counts [data-count="dead"]').textContent === "0" &&
		document.querySelector('#plugins-msg').textContent.includes("Notification 1 to http is queued again")`)
	waitJS(t, ctx, 10*time.Second, `document.querySelector('#plugins tr[data-instance="http"] td.delivery')?.dataset.delivery === "healthy"`)
	if m := metrics(); !strings.Contains(m, `wigo_notify_state{instance="http",state="healthy"} 1`) || !strings.Contains(m, `wigo_notify_consecutive_failures{instance="http"} 0`) {
		t.Errorf("/metrics does not say the http notifier is healthy again:\n%s", grepLines(m, "wigo_notify_"))
	}
	screenshot(t, ctx, "15-plugins-retried")
	select {
	case extra := <-hook.got:
		t.Errorf("unexpected extra delivery of %s", extra)
	default:
	}
}

// grepLines keeps the lines of s that start with prefix.
func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func await[T any](t *testing.T, c <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(d):
		t.Fatalf("no %s within %s", what, d)
	}
	var zero T
	return zero
}
