package ui_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A configured remote that never answered is on the dashboard as a DOWN
// host named after its address, saying "never answered", in the overview,
// live (it appears without a reload), and on its host view.
func TestBrowserNeverAnsweredRemote(t *testing.T) {
	ctx := browser(t)
	r := startDaemon(t, testConfig(t))
	url := r.d.URL()
	awaitProbe(t, r.d.State(), "flip", "all good")
	run(t, ctx, chromedp.Navigate(url+"/#/hosts"))
	waitJS(t, ctx, 10*time.Second, `document.querySelector('#conn[data-conn="live"]') !== null`)

	r.d.State().Unanswered("10.0.0.9:4000", "dial tcp 10.0.0.9:4000: connect: connection refused")
	waitJS(t, ctx, 10*time.Second, `(() => {
		const h = document.querySelector('li.host.down[data-host="10.0.0.9:4000"]');
		return h !== null && h.textContent.includes("DOWN: never answered since") && !h.textContent.includes("not heard") && !h.textContent.includes("updated");
	})()`)
	screenshot(t, ctx, "unanswered-hosts")

	run(t, ctx, chromedp.Navigate(url+"/#/host/10.0.0.9:4000"))
	waitJS(t, ctx, 10*time.Second, `(() => {
		const m = document.querySelector("main");
		return m !== null && m.textContent.includes("NEVER ANSWERED") && m.textContent.includes("never answered since") &&
			!m.textContent.includes("unanswered:");
	})()`)
	screenshot(t, ctx, "unanswered-host")
}
