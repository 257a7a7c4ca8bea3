package ui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/model"
)

// timezone emulates the browser's time zone.
func timezone(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: id})
		return err
	})
}

// The log view searches on the server: a link with a level and words
// opens exactly those rows; the level filter is "or worse" or "only";
// levels read in the host views' words; times carry their zone, UTC by
// default, the browser's on a click, and the choice is in the URL.
func TestBrowserLogSearch(t *testing.T) {
	ctx := browser(t)
	r := startDaemon(t, testConfig(t))
	awaitProbe(t, r.d.State(), "disks", "/var 91% used")
	t0 := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	levels := []int{model.LogNotice, model.LogWarning, model.LogCritical, model.LogInfo}
	var rows []model.LogEntry
	for i := 0; i < 400; i++ {
		rows = append(rows, model.LogEntry{Timestamp: t0.Add(time.Duration(i) * time.Second).Unix(), Level: levels[i%len(levels)],
			Host: fmt.Sprintf("loadgen-%06d", i%40), Group: "load", Probe: fmt.Sprintf("check_%02d", i%20),
			Message: fmt.Sprintf("Probe check_%02d switched : /var %d%% used", i%20, 50+i%50)})
	}
	rows[123].Level, rows[123].Message = model.LogError, "Probe check_03 switched from 100 to 500 : kernel: oom-killer invoked on pid 4242"
	rows = append(rows, model.LogEntry{Timestamp: time.Now().Add(-3 * time.Hour).Unix(), Level: model.LogWarning, Host: "db-9", Group: "db", Message: "three hours ago"})
	if err := r.d.Store().Append(context.Background(), rows...); err != nil {
		t.Fatal(err)
	}

	run(t, ctx, timezone("Europe/Paris"), chromedp.Navigate(r.d.URL()+"/#/logs?level=crit&q=oom-killer"))
	waitJS(t, ctx, 10*time.Second, `(() => {
		const trs = document.querySelectorAll("#logs tbody tr");
		return trs.length === 1 && trs[0].textContent.includes("oom-killer invoked") && trs[0].querySelector(".badge").textContent === "ERROR" &&
			document.querySelector("#log-q").value === "oom-killer" && document.querySelector("#level").value === "CRIT" &&
			document.querySelector("#level-exact").value === "0";
	})()`)
	// The time with its zone: UTC first, as the API and wigocli print it.
	// rows[123] is 18:02:03 UTC, 19:02:03 in Paris in December.
	waitJS(t, ctx, time.Second, `document.querySelector("#logs tbody tr time").textContent === "2026-12-04 18:02:03 UTC" &&
		document.querySelector("#logs tbody tr time").title === "2026-12-04 19:02:03 CET"`)
	screenshot(t, ctx, "64-logs-search")
	run(t, ctx, chromedp.Click(chromedp.CSS("#tz-toggle")))
	waitJS(t, ctx, 5*time.Second, `document.querySelector("#logs tbody tr time").textContent === "2026-12-04 19:02:03 CET" &&
		location.hash.includes("tz=local") && document.querySelector("#tz-toggle").textContent.includes("Europe/Paris")`)

	// Words of a host name and a probe: every row has both.
	run(t, ctx, eval(`(s => { s.value = "loadgen-000007 check_07"; s.dispatchEvent(new Event("input")); })(document.querySelector("#log-q"))`),
		eval(`(s => { s.value = ""; s.dispatchEvent(new Event("change")); })(document.querySelector("#level"))`))
	waitJS(t, ctx, 5*time.Second, `(() => {
		const trs = [...document.querySelectorAll("#logs tbody tr")];
		return trs.length === 10 && trs.every(tr => tr.children[2].textContent === "loadgen-000007" && tr.children[4].textContent === "check_07") &&
			location.hash.includes("q=loadgen-000007+check_07") && !location.hash.includes("level=");
	})()`)

	// "Only" a level, and one vocabulary: no row says WARNING or CRITICAL.
	run(t, ctx, eval(`(s => { s.value = ""; s.dispatchEvent(new Event("input")); })(document.querySelector("#log-q"))`),
		eval(`(s => { s.value = "WARN"; s.dispatchEvent(new Event("change")); })(document.querySelector("#level"))`),
		eval(`(s => { s.value = "1"; s.dispatchEvent(new Event("change")); })(document.querySelector("#level-exact"))`))
	waitJS(t, ctx, 5*time.Second, `(() => {
		const trs = [...document.querySelectorAll("#logs tbody tr")];
		return trs.length === 50 && trs.every(tr => tr.dataset.level === "WARN" && tr.querySelector(".badge").textContent === "WARN") &&
			location.hash.includes("level=warn") && location.hash.includes("level_exact=1");
	})()`)
	run(t, ctx, eval(`(s => { s.value = "0"; s.dispatchEvent(new Event("change")); })(document.querySelector("#level-exact"))`))
	waitJS(t, ctx, 5*time.Second, `(() => {
		const words = new Set([...document.querySelectorAll("#logs tbody tr .badge")].map(b => b.textContent));
		return document.querySelectorAll("#logs tbody tr").length === 50 && words.has("CRIT") && words.has("WARN") &&
			[...words].every(w => ["WARN", "CRIT", "ERROR", "DOWN"].includes(w));
	})()`)
	screenshot(t, ctx, "65-logs-level")

	// A period: an exact range from a link, then the last hour or day
	// from the menu.
	run(t, ctx, chromedp.Navigate(r.d.URL()+"/#/logs?since=2026-12-04T18:05:00Z&until=2026-12-04T18:06:00Z&limit=100"))
	waitJS(t, ctx, 10*time.Second, `(() => {
		const times = [...document.querySelectorAll("#logs tbody tr time")].map(t => t.getAttribute("datetime"));
		return times.length === 60 && times.every(t => t >= "2026-12-04T18:05:00" && t < "2026-12-04T18:06:00") &&
			document.querySelector("#period").value === "range";
	})()`)
	pick := func(v string) {
		run(t, ctx, eval(`(s => { s.value = "`+v+`"; s.dispatchEvent(new Event("change")); })(document.querySelector("#period"))`))
	}
	run(t, ctx, eval(`(s => { s.value = "hours ago"; })(document.querySelector("#log-q"))`))
	pick("24h")
	waitJS(t, ctx, 10*time.Second, `location.hash.includes("period=24h") && !location.hash.includes("since=") &&
		[...document.querySelectorAll("#logs tbody tr")].map(tr => tr.children[5].textContent).join() === "three hours ago"`)
	pick("1h")
	waitJS(t, ctx, 10*time.Second, `location.hash.includes("period=1h") && document.querySelector("#logs tbody tr") === null &&
		document.querySelector('main [role="status"]').textContent === "No log entry matches."`)
}
