package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

// Two masters share one PostgreSQL database, each with its dashboard open
// in a browser: an acknowledgement made on master A's dashboard shows live
// on master B's, and a silence set on B's shows live on A's, neither page
// reloaded.
func TestBrowserPairSharesAcksAndSilences(t *testing.T) {
	first, second := browser(t), browser(t)
	dsn := pgtest.DSN(t)
	var masters []*running
	now := time.Now().Unix()
	for range 2 {
		cfg := testConfig(t)
		cfg.Store = config.Store{Backend: config.StorePostgres, DSN: dsn}
		r := startDaemon(t, cfg)
		// Both masters hear of the same host, as when both pull it.
		doc := &model.Wigo{Uuid: "web-9-uuid", Version: "0.73", IsAlive: true, Hostname: "web-9", LastUpdate: now,
			LocalHost: &model.Host{Name: "web-9", Group: "web", Status: 300, Probes: map[string]*model.ProbeResult{
				"disk": {Name: "disk", Status: 300, Message: "/var 97% full", Timestamp: now},
				"load": {Name: "load", Status: 200, Message: "12.5", Timestamp: now},
			}}}
		if err := r.d.State().Ingest("web-9:4000", doc); err != nil {
			t.Fatal(err)
		}
		masters = append(masters, r)
	}
	a, b := masters[0], masters[1]
	for i, ctx := range []context.Context{first, second} {
		run(t, ctx, chromedp.Navigate(masters[i].d.URL()+"/#/host/web-9"))
		waitJS(t, ctx, 10*time.Second, `document.querySelector('button[data-key="web-9-uuid/disk/ack"]') !== null`)
		// A reload would lose this.
		run(t, ctx, eval(`window.__noReload = 1`))
	}

	run(t, first, eval(`window.prompt = () => "swapping the disk"; document.querySelector('button[data-key="web-9-uuid/disk/ack"]').click()`))
	shown := `(() => {
		const row = document.querySelector('tr.probe[data-probe="disk"]');
		const note = document.querySelector('tr.probe[data-probe="disk"] + tr.extra .ack-note');
		return row !== null && row.textContent.includes("ACK") && note !== null &&
			note.textContent.includes("Acknowledged by local") && note.textContent.includes("swapping the disk") &&
			window.__noReload === 1;
	})()`
	waitJS(t, first, 10*time.Second, shown)
	began := time.Now()
	waitJS(t, second, 5*time.Second, shown)
	t.Logf("A's acknowledgement on B's dashboard after %v", time.Since(began).Round(time.Millisecond))
	if l := b.d.Acks(); len(l) != 1 || l[0].Comment != "swapping the disk" {
		t.Fatalf("master B holds %+v", l)
	}
	screenshot(t, second, "90-pair-ack-on-b")

	run(t, second, eval(`document.querySelector('button[data-key="web-9-uuid/load/silence"]').click()`))
	waitJS(t, second, 5*time.Second, `document.querySelector('dialog.silence-dialog[open]') !== null`)
	run(t, second, eval(`document.getElementById("sil-comment").value = "kernel update";
		document.getElementById("sil-submit").click()`))
	silenced := `document.querySelector('tr.probe[data-probe="load"] .badge.silenced') !== null &&
		document.querySelector('tr.probe[data-probe="load"] + tr.extra .silence-note')?.textContent.includes("kernel update") === true &&
		window.__noReload === 1`
	waitJS(t, second, 10*time.Second, silenced)
	began = time.Now()
	waitJS(t, first, 5*time.Second, silenced)
	t.Logf("B's silence on A's dashboard after %v", time.Since(began).Round(time.Millisecond))
	if l := a.d.Silences(); len(l) != 1 || l[0].Comment != "kernel update" {
		t.Fatalf("master A holds %+v", l)
	}
	screenshot(t, first, "91-pair-silence-on-a")

	// Each header shows the other master, up; stopped, B is down on A's.
	for _, ctx := range []context.Context{first, second} {
		waitJS(t, ctx, 15*time.Second, `document.querySelector('#cluster:not([hidden]) .peer[data-up="true"]')?.textContent === "peer ui-host up"`)
	}
	b.stop()
	waitJS(t, first, 20*time.Second, `document.querySelector('#cluster .peer[data-up="false"]')?.textContent.startsWith("peer ui-host DOWN") === true &&
		window.__noReload === 1`)
	screenshot(t, first, "92-pair-peer-down")
}
