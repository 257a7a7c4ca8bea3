package ui_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/model"
)

// A change that awaits its confirming results (a check block asks 3 in a
// row) shows as "SOFT 1/3", then "SOFT 2/3" live, in the host view and
// the overview, and in a browser opened meanwhile (the snapshot carries
// it); the third result confirms it and the mark goes.
func TestBrowserSoftState(t *testing.T) {
	first, second := browser(t), browser(t)
	cfg := testConfig(t)
	cfg.Checks = []config.Check{{Name: "disks", Probes: []string{"disk"}, Attempts: 3}}
	r := startDaemon(t, cfg)
	ts := time.Now().Unix()
	report := func(status int) {
		t.Helper()
		ts++
		doc := &model.Wigo{Uuid: "web-9-uuid", Version: "0.73", IsAlive: true, Hostname: "web-9", LastUpdate: ts,
			LocalHost: &model.Host{Name: "web-9", Group: "web", Probes: map[string]*model.ProbeResult{
				"disk": {Name: "disk", Status: status, Message: "/var", Timestamp: ts},
			}}}
		if err := r.d.State().Ingest("web-9:4000", doc); err != nil {
			t.Fatal(err)
		}
	}
	report(100)
	run(t, first, width(1400), chromedp.Navigate(r.d.URL()+"/#/host/web-9"))
	waitJS(t, first, 10*time.Second, `document.querySelector('tr.probe[data-probe="disk"]') !== null`)
	run(t, first, eval(`window.__noReload = 1`))

	mark := func(n int) string {
		return `document.querySelector('tr.probe[data-probe="disk"] .badge.soft')?.textContent === "SOFT ` + strconv.Itoa(n) + `/3"`
	}
	report(300)
	waitJS(t, first, 10*time.Second, mark(1))
	report(300)
	waitJS(t, first, 10*time.Second, mark(2)+` && window.__noReload === 1`)
	screenshot(t, first, "40-soft-light-1400")

	// Opened now: the snapshot says 2/3, in the overview too.
	run(t, second, width(1400), chromedp.Navigate(r.d.URL()+"/#/hosts"))
	waitJS(t, second, 10*time.Second, `document.querySelector('li.host[data-host="web-9"] li[data-probe="disk"] .badge.soft')?.textContent === "SOFT 2/3"`)

	report(300)
	gone := func(sel string) string {
		return `(e => e !== null && e.textContent.includes("CRIT") && e.querySelector(".badge.soft") === null)(document.querySelector('` + sel + `'))`
	}
	waitJS(t, first, 10*time.Second, gone(`tr.probe[data-probe="disk"]`))
	waitJS(t, second, 10*time.Second, gone(`li.host[data-host="web-9"] li[data-probe="disk"]`))
}
