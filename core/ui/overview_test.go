package ui_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/model"
)

// longMessage is a probe message far longer than a card's line: the
// compact overview shows it whole.
const longMessage = "replication lag 412 s on the primary of shard 7: the replica applies the relay log slower than the primary writes it; check the disk queue of /var/lib/mysql and the long transaction on table orders"

// fleetDoc is a master carrying n hosts of probes probes each, spread over
// ten groups, every probe OK except on the hosts of problems (by index),
// whose statuses are given per probe. Host 3 of problems, when listed, is
// DOWN. Host names are loadgen-000001…, so a hyphen sits inside each.
func fleetDoc(n, probes int, problems map[int]map[string]int) *model.Wigo {
	now := time.Now().Unix()
	doc := &model.Wigo{Uuid: "fleet-master-uuid", Version: "0.73", IsAlive: true, Hostname: "fleet-master", LastUpdate: now,
		LocalHost: &model.Host{Name: "fleet-master", Group: "grp-09", Status: 100, Probes: map[string]*model.ProbeResult{
			"load": {Name: "load", Status: 100, Message: "load 0.3", Timestamp: now}}},
		RemoteWigos: map[string]*model.Wigo{}}
	for i := 1; i < n; i++ {
		name := fmt.Sprintf("loadgen-%06d", i)
		h := &model.Host{Name: name, Group: fmt.Sprintf("grp-%02d", i%10), Status: 100, Probes: map[string]*model.ProbeResult{}}
		for p := 0; p < probes; p++ {
			pn := fmt.Sprintf("check_%02d", p)
			h.Probes[pn] = &model.ProbeResult{Name: pn, Status: 100, Message: "ok", Timestamp: now}
		}
		for pn, st := range problems[i] {
			msg := fmt.Sprintf("%s is %s", pn, model.StatusName(st))
			if st == 200 && i == 2 {
				msg = longMessage
			}
			h.Probes[pn] = &model.ProbeResult{Name: pn, Status: st, Message: msg, Timestamp: now}
			h.Status = max(h.Status, st)
		}
		w := &model.Wigo{Uuid: name + "-uuid", Version: "0.73", IsAlive: true, Hostname: name, LastUpdate: now, LocalHost: h}
		if i == 3 {
			w.IsAlive, w.LastUpdate = false, now-600
		}
		doc.RemoteWigos[w.Uuid] = w
	}
	return doc
}

// At 500 hosts of 20 probes with a dozen problems, the compact overview is
// the default and every problem is on the first screen, each with its whole
// message; the OK hosts are a count per group that opens; the counts cover
// every level by host and by probe (a CRIT probe on an ERROR host counted
// as CRIT); "problems only" leaves the problems alone, and a host name is
// never broken at its hyphen.
func TestBrowserCompactOverview(t *testing.T) {
	ctx := browser(t)
	r := startDaemon(t, testConfig(t))
	awaitProbe(t, r.d.State(), "flip", "all good")
	awaitProbe(t, r.d.State(), "disks", "/var 91% used")
	awaitProbe(t, r.d.State(), "memory", "27% used")
	// Problems in three groups (i%10 = 1, 2, 3), as a bad day looks: a
	// rack, a service, a shard.
	problems := map[int]map[string]int{
		1:  {"check_03": 500, "check_04": 300},
		2:  {"check_05": 200},
		3:  {},
		11: {"check_01": 300},
		12: {"check_02": 200, "check_07": 200},
		13: {"check_09": 300},
		21: {"check_11": 101},
		22: {"check_12": 200},
		23: {"check_13": 300},
		31: {"check_14": 200},
		32: {"check_15": 500},
		33: {"check_16": 300},
	}
	if err := r.d.State().Ingest("fleet-master:4000", fleetDoc(500, 20, problems)); err != nil {
		t.Fatal(err)
	}
	// The local host (disks WARN) is a problem too.
	wantRows := len(problems) + 1

	run(t, ctx, width(1400), chromedp.Navigate(r.d.URL()+"/#/hosts"))
	waitJS(t, ctx, 15*time.Second, fmt.Sprintf(`document.querySelectorAll("li.crow").length === %d &&
		document.querySelector("#mode-compact").getAttribute("aria-pressed") === "true"`, wantRows))
	screenshot(t, ctx, "60-compact-500-hosts")

	// Every problem row ends within the first screen.
	js := func(expr string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	fit := js(`JSON.stringify({inner: innerHeight, bottom: Math.max(...[...document.querySelectorAll("li.crow")].map(e => e.getBoundingClientRect().bottom)), page: document.documentElement.scrollHeight})`)
	var geo struct{ Inner, Bottom, Page float64 }
	if err := json.Unmarshal([]byte(fit), &geo); err != nil {
		t.Fatal(err)
	}
	t.Logf("500 hosts × 20 probes, 13 problems: last problem row ends at %.0f px of a %.0f px screen; page %.0f px tall", geo.Bottom, geo.Inner, geo.Page)
	if geo.Bottom > geo.Inner {
		t.Errorf("the last problem row ends at %.0f px, below the %.0f px screen", geo.Bottom, geo.Inner)
	}

	// Only the probes that are not OK, with their message whole and
	// unclipped; the DOWN host says since when it is not heard from.
	if got := js(`[...document.querySelectorAll('li.crow[data-host="loadgen-000001"] li[data-probe]')].map(li => li.dataset.probe + "=" + li.dataset.level).join(" ")`); got != "check_03=ERROR check_04=CRIT" {
		t.Errorf("loadgen-000001 lists %q, want its ERROR then its CRIT probe only", got)
	}
	waitJS(t, ctx, time.Second, `(m => m.textContent === `+jsString(longMessage)+` && m.scrollWidth <= m.clientWidth && m.getClientRects().length === 1 && m.getBoundingClientRect().height > 30)(document.querySelector('li.crow[data-host="loadgen-000002"] .pmsg'))`)
	waitJS(t, ctx, time.Second, `document.querySelector('li.crow.down[data-host="loadgen-000003"]')?.textContent.includes("not heard from since") === true`)
	// Names on one line, whole: a single box, not cut by the ellipsis.
	waitJS(t, ctx, time.Second, `[...document.querySelectorAll("li.crow a.hname")].every(a => a.getClientRects().length === 1 && a.scrollWidth <= a.clientWidth)`)
	// Group headers carry their status in a word as well as a colour.
	waitJS(t, ctx, time.Second, `[...document.querySelectorAll(".ghead")].every(h => h.querySelector("h2 .badge").textContent === h.dataset.level) &&
		document.querySelector('section.cgroup[data-group="grp-03"] .ghead').dataset.level === "DOWN"`)

	// Counts for every level, by host and by probe, as the core has them.
	hostsAt, probesAt := map[string]int{}, map[string]int{}
	for _, h := range r.d.State().Hosts() {
		hostsAt[model.StatusName(h.Status)]++
		for _, p := range h.Probes {
			probesAt[model.StatusName(p.Status)]++
		}
	}
	want := map[string][2]int{}
	for _, l := range []string{"OK", "INFO", "WARN", "CRIT", "ERROR", "DOWN"} {
		want[l] = [2]int{hostsAt[l], probesAt[l]}
	}
	var got map[string][2]int
	if err := json.Unmarshal([]byte(js(`JSON.stringify(Object.fromEntries([...document.querySelectorAll("#counts li")].map(li => [li.dataset.level, [Number(li.querySelector('[data-count="hosts"]').textContent), Number(li.querySelector('[data-count="probes"]').textContent)]])))`)), &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts [hosts probes] per level = %v, want %v", got, want)
	}
	if want["CRIT"][1] == 0 || want["ERROR"][0] == 0 {
		t.Fatalf("the fleet has no CRIT probe or no ERROR host: %v", want)
	}

	// The OK hosts of a group are one line that opens to their names: a
	// group all OK is that line alone, a group with problems has it in
	// its header.
	waitJS(t, ctx, time.Second, `document.querySelectorAll("details.okgroup").length === 7 && document.querySelector("details.oks[open]") === null &&
		document.querySelector('section.cgroup[data-group="grp-05"] details.oks summary').textContent.includes("50 hosts OK") &&
		document.querySelectorAll('button.okfold[aria-expanded="false"]').length === 3 &&
		document.querySelector('section.cgroup[data-group="grp-01"] button.okfold').textContent.includes("46 hosts OK")`)
	run(t, ctx, eval(`document.querySelector('section.cgroup[data-group="grp-05"] details.oks summary').click()`),
		eval(`document.querySelector('section.cgroup[data-group="grp-01"] button.okfold').click()`))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('section.cgroup[data-group="grp-05"] details.oks[open] li[data-host="loadgen-000005"] a')?.offsetHeight > 0 &&
		document.querySelector('section.cgroup[data-group="grp-01"] button.okfold[aria-expanded="true"]') !== null &&
		document.querySelector('section.cgroup[data-group="grp-01"] .oks li[data-host="loadgen-000041"] a')?.offsetHeight > 0 &&
		document.querySelector('section.cgroup[data-group="grp-01"] .oks li[data-host="loadgen-000001"]') === null`)
	// A redraw (every probe run makes one) keeps the fold open, its names
	// in it.
	run(t, ctx, eval(`window.__fold = document.querySelector('section.cgroup[data-group="grp-05"] details')`))
	waitJS(t, ctx, 10*time.Second, `(d => d !== window.__fold && d.open && d.querySelector('li[data-host="loadgen-000005"] a')?.offsetHeight > 0)(document.querySelector('section.cgroup[data-group="grp-05"] details'))`)
	screenshot(t, ctx, "61-compact-ok-open")

	// Problems only: the problem rows alone, and the whole page fits.
	run(t, ctx, chromedp.Click(chromedp.CSS("#problems-toggle")))
	waitJS(t, ctx, 5*time.Second, fmt.Sprintf(`document.querySelector("#problems-toggle").getAttribute("aria-pressed") === "true" &&
		document.querySelectorAll(".oks, button.okfold").length === 0 && document.querySelectorAll("li.crow").length === %d &&
		document.querySelectorAll("section.cgroup").length === 4 && location.hash.includes("problems=1") &&
		document.documentElement.scrollHeight <= innerHeight`, wantRows))
	screenshot(t, ctx, "62-compact-problems-only")
	// In cards too.
	run(t, ctx, chromedp.Click(chromedp.CSS("#mode-cards")))
	waitJS(t, ctx, 5*time.Second, fmt.Sprintf(`document.querySelectorAll("li.host").length === %d && [...document.querySelectorAll("li.host")].every(li => li.dataset.level !== "OK")`, wantRows))
	run(t, ctx, chromedp.Click(chromedp.CSS("#problems-toggle")), chromedp.Click(chromedp.CSS("#mode-compact")))
	waitJS(t, ctx, 5*time.Second, `document.querySelectorAll("details.okgroup").length === 7 && document.querySelectorAll("button.okfold").length === 3 && !location.hash.includes("problems")`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(string(b), "`", "\\`")
}

// A link opens exactly the view it names: the wall with a filter, the
// compact overview with problems only. Clicking changes the URL to match,
// so a reload or a copied link keeps the view.
func TestBrowserHostsURLOpensTheView(t *testing.T) {
	ctx := browser(t)
	r := startDaemon(t, testConfig(t))
	awaitProbe(t, r.d.State(), "disks", "/var 91% used")
	if err := r.d.State().Ingest("edge-master:4000", remoteDoc()); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(r.d.URL()+"/#/hosts?filter=db&mode=wall"))
	waitJS(t, ctx, 10*time.Second, `document.querySelector("#wall-toggle").getAttribute("aria-pressed") === "true" &&
		document.querySelector("#filter").value === "db" &&
		[...document.querySelectorAll("ul.wall li")].map(li => li.dataset.host + "=" + li.dataset.level).join(" ") === "db-01=DOWN db-02=WARN"`)
	screenshot(t, ctx, "63-wall-filtered-by-url")

	run(t, ctx, chromedp.Navigate(r.d.URL()+"/#/hosts?mode=compact&problems=1"))
	waitJS(t, ctx, 10*time.Second, `document.querySelector("#mode-compact").getAttribute("aria-pressed") === "true" &&
		document.querySelector("#problems-toggle").getAttribute("aria-pressed") === "true" &&
		[...document.querySelectorAll("li.crow")].map(li => li.dataset.host).join(" ") === "db-01 db-02 ui-host" &&
		document.querySelector('[data-host="edge-master"]') === null`)

	// Typing a filter and choosing a layout write the URL.
	run(t, ctx, chromedp.Click(chromedp.CSS("#mode-cards")), chromedp.SendKeys(chromedp.CSS("#filter"), "ui"))
	waitJS(t, ctx, 5*time.Second, `location.hash === "#/hosts?filter=ui&mode=cards&problems=1" && document.querySelectorAll("li.host").length === 1`)
	run(t, ctx, chromedp.Reload())
	waitJS(t, ctx, 10*time.Second, `document.querySelector("#mode-cards").getAttribute("aria-pressed") === "true" && document.querySelector("#filter").value === "ui" &&
		document.querySelector('li.host[data-host="ui-host"]') !== null`)
}
