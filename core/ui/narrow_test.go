package ui_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Every main view at 1,400 px and at 400 px, light and dark, over 60
// hosts of 6 probes and a few more learned through a relay: at 400 px
// nothing is wider than the screen, the header is one row, and a probe's
// message has the width of the screen with its exit code still shown. The
// screenshots are the ones docs/screenshots/ keeps.
func TestBrowserViewsFitNarrowScreens(t *testing.T) {
	ctx := browser(t)
	cfg := testConfig(t)
	r := startDaemon(t, cfg)
	awaitProbe(t, r.d.State(), "disks", "/var 91% used")
	awaitProbe(t, r.d.State(), "memory", "27% used")
	if err := r.d.State().Ingest("edge-master:4000", remoteDoc()); err != nil {
		t.Fatal(err)
	}
	// The fleet of the issue: 60 hosts of 6 probes, a few problems.
	fleet := fleetDoc(60, 6, map[int]map[string]int{1: {"check_03": 500, "check_04": 300}, 2: {"check_05": 200}, 3: {}, 14: {"check_01": 300}, 25: {"check_02": 101}})
	if err := r.d.State().Ingest("fleet-master:4000", fleet); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(cfg.ProbesConfigDir, "flip.json"), `{"Status":300,"Message":"disk on fire: /srv/data-warehouse-replica-01 at 99% used, 3 GB left"}`, 0o644)
	awaitProbe(t, r.d.State(), "flip", "disk on fire: /srv/data-warehouse-replica-01 at 99% used, 3 GB left")

	views := []struct{ name, hash, ready string }{
		{"hosts-compact", "#/hosts?mode=compact", `document.querySelector('li.crow[data-host="ui-host"] li[data-probe="flip"]') !== null`},
		{"hosts-cards", "#/hosts?mode=cards&problems=1", `document.querySelector('li.host[data-host="ui-host"] li[data-probe="flip"]') !== null`},
		{"hosts-wall", "#/hosts?mode=wall", `document.querySelector('ul.wall li[data-host="ui-host"]') !== null`},
		{"host", "#/host/ui-host", `document.querySelector('tr.probe[data-probe="flip"]')?.textContent.includes("disk on fire") === true`},
		{"logs", "#/logs", `[...document.querySelectorAll("#logs tbody tr")].some(tr => tr.textContent.includes("disk on fire"))`},
	}
	for _, w := range []int64{1400, 400} {
		for _, scheme := range []string{"light", "dark"} {
			run(t, ctx, width(w), colorScheme(scheme))
			for _, v := range views {
				run(t, ctx, chromedp.Navigate(r.d.URL()+"/"+v.hash))
				waitJS(t, ctx, 10*time.Second, `document.querySelector('#conn[data-conn="live"]') !== null && `+v.ready)
				screenshot(t, ctx, fmt.Sprintf("%s-%d-%s", v.name, w, scheme))
				// Host names whole, on one line: not cut by an ellipsis,
				// not broken at a hyphen.
				waitJS(t, ctx, time.Second, `[...document.querySelectorAll("main .hname, main ul.wall .n")].every(e => e.scrollWidth <= e.clientWidth && e.getClientRects().length <= 1)`)
				if w != 400 {
					continue
				}
				sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
				if err != nil {
					t.Fatal(err)
				}
				if sizes[0] > sizes[1] {
					t.Errorf("%s at 400 px (%s): scrollWidth %d > clientWidth %d", v.name, scheme, sizes[0], sizes[1])
				}
				// The header is one row: every part of it on the same line,
				// every view's link in sight.
				waitJS(t, ctx, time.Second, `(() => {
					const top = document.querySelector("header.top");
					const tops = [...top.children].filter(c => c.offsetParent !== null || getComputedStyle(c).position === "sticky").map(c => c.getBoundingClientRect());
					const nav = top.querySelector("nav");
					return top.getBoundingClientRect().height < 56 && nav.scrollWidth <= nav.clientWidth && tops.every(r => Math.abs(r.top + r.height / 2 - (tops[0].top + tops[0].height / 2)) < 8);
				})()`)
			}
		}
	}
	// At 400 px a probe's message takes the screen's width, under its
	// name, and the exit code is still there.
	run(t, ctx, width(400), colorScheme("light"), chromedp.Navigate(r.d.URL()+"/#/host/ui-host"))
	waitJS(t, ctx, 10*time.Second, `(() => {
		const row = document.querySelector('tr.probe[data-probe="flip"]');
		if (!row) return false;
		const msg = row.querySelector("td.msg"), exit = row.children[4];
		return msg.getBoundingClientRect().width > 300 && exit.offsetWidth > 0 && getComputedStyle(exit).display !== "none" && exit.textContent === "0";
	})()`)
}
