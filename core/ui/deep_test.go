package ui_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/model"
)

// A Detail nested 5,000 deep — as an object (cut by the core) and as a
// string of JSON (which only the page can cut) — renders in the host view
// with the deep part shown as "…", instead of a stack overflow that left
// the view on "Loading…".
func TestBrowserDeepDetailRenders(t *testing.T) {
	ctx := browser(t)
	r := startDaemon(t, testConfig(t))
	deep := `{"top":"shown","sub":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	asString, _ := json.Marshal(deep)
	now := time.Now().Unix()
	doc := &model.Wigo{Uuid: "deep-uuid", Version: "0.73", IsAlive: true, Hostname: "deep-host", LastUpdate: now,
		LocalHost: &model.Host{Name: "deep-host", Group: "edge", Status: 200, Probes: map[string]*model.ProbeResult{
			"as-object": {Name: "as-object", Status: 200, Message: "object", Timestamp: now, Detail: json.RawMessage(deep)},
			"as-string": {Name: "as-string", Status: 100, Message: "string", Timestamp: now, Detail: asString},
		}}}
	if err := r.d.State().Ingest("deep-remote:4000", doc); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(r.d.URL()+"/#/host/deep-host"))
	for _, probe := range []string{"as-object", "as-string"} {
		waitJS(t, ctx, 10*time.Second, `(() => {
			const extra = document.querySelector('tr.probe[data-probe="`+probe+`"] + tr.extra');
			return extra !== null && extra.textContent.includes("shown") && extra.textContent.includes("…");
		})()`)
	}
	screenshot(t, ctx, "20-deep-detail")
}
