package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// getSilences reads the silences the daemon holds, over its API.
func getSilences(t *testing.T, base string) []event.Silence {
	t.Helper()
	resp, err := http.Get(base + "/api/silences")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct{ Silences []event.Silence }
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatalf("GET /api/silences: %v", err)
	}
	return l.Silences
}

// Two on-call people have the dashboard open. The first acknowledges a
// probe and silences another from the UI (a wildcard, upper-case host
// pattern); the silenced probe then breaks: the held-back page says it was
// silenced, and the second browser saw the acknowledgement, the silence
// and the held-back row arrive without a reload. Extending and expiring
// the silence from the second browser shows in the first.
func TestBrowserSilenceAndHeldBack(t *testing.T) {
	a, b := browser(t), browser(t)
	cfg := testConfig(t)
	r := startDaemon(t, cfg)
	base := r.d.URL()
	awaitProbe(t, r.d.State(), "flip", "all good")
	awaitProbe(t, r.d.State(), "disks", "/var 91% used")

	run(t, a, width(1400), chromedp.Navigate(base+"/#/host/ui-host"))
	run(t, b, width(1400), chromedp.Navigate(base+"/#/hosts"))
	waitJS(t, a, 10*time.Second, `document.querySelector('button[data-key$="/disks/ack"]') !== null &&
		document.querySelector('button[data-key$="/flip/silence"]') !== null`)
	waitJS(t, b, 10*time.Second, `document.querySelector('li.host[data-host="ui-host"] li[data-probe="flip"]') !== null`)
	run(t, b, eval(`window.__noReload = 1`))

	// A acknowledges the WARN disks probe.
	run(t, a, eval(`window.prompt = () => "cleaning /var"; document.querySelector('button[data-key$="/disks/ack"]').click()`))
	waitJS(t, a, 10*time.Second, `document.querySelector('tr.probe[data-probe="disks"]')?.textContent.includes("ACK") === true`)

	// A silences flip: the dialog comes pre-filled with the host and the
	// probe; the host pattern is widened to "UI-*", 4 hours, a comment.
	run(t, a, eval(`document.querySelector('button[data-key$="/flip/silence"]').click()`))
	waitJS(t, a, 5*time.Second, `document.querySelector('dialog.silence-dialog[open]') !== null &&
		document.getElementById("sil-host").value === "ui-host" && document.getElementById("sil-probe").value === "flip" &&
		document.getElementById("sil-d-1h").checked && document.activeElement === document.getElementById("sil-comment")`)
	run(t, a, eval(`document.getElementById("sil-host").value = "UI-*";
		document.getElementById("sil-comment").value = "kernel update reboot";
		document.getElementById("sil-d-4h").click()`))
	screenshot(t, a, "40-silence-dialog-light-1400")
	run(t, a, colorScheme("dark"))
	screenshot(t, a, "41-silence-dialog-dark-1400")
	run(t, a, width(400))
	screenshot(t, a, "42-silence-dialog-dark-400")
	run(t, a, colorScheme("light"), width(1400))
	run(t, a, eval(`document.getElementById("sil-submit").click()`))
	waitJS(t, a, 10*time.Second, `document.querySelector('dialog.silence-dialog') === null &&
		document.querySelector('tr.probe[data-probe="flip"] .badge.silenced') !== null &&
		document.querySelector('tr.probe[data-probe="flip"] + tr.extra .silence-note')?.textContent.includes("kernel update reboot") === true &&
		document.querySelector('tr.probe[data-probe="disks"] .badge.silenced') === null &&
		document.querySelector('main h1 .badge.silenced') === null`)
	sil := getSilences(t, base)
	if len(sil) != 1 || sil[0].Host != "UI-*" || sil[0].Probe != "flip" || sil[0].Group != "" ||
		sil[0].Comment != "kernel update reboot" || sil[0].Author != "local" {
		t.Fatalf("silences after the dialog: %+v", sil)
	}
	if d := sil[0].End.Sub(sil[0].Start); d != 4*time.Hour {
		t.Fatalf("silence lasts %s, want the 4 hours chosen", d)
	}
	id := sil[0].ID
	screenshot(t, a, "43-silenced-probe-light-1400")
	run(t, a, colorScheme("dark"))
	screenshot(t, a, "44-silenced-probe-dark-1400")
	run(t, a, width(400))
	screenshot(t, a, "45-silenced-probe-dark-400")
	run(t, a, colorScheme("light"), width(1400))

	// B saw both arrive on the overview: the ACK on disks, SILENCED on
	// flip but not on the host (the silence names a probe), and the
	// silence in the list with its matcher, author and comment.
	waitJS(t, b, 10*time.Second, `(() => {
		const card = document.querySelector('li.host[data-host="ui-host"]');
		const li = document.querySelector('section.silences li[data-silence="`+id+`"]');
		return card !== null && card.querySelector('li[data-probe="disks"] .badge.ack') !== null &&
			card.querySelector('li[data-probe="flip"] .badge.silenced') !== null &&
			card.querySelector('h3 .badge.silenced') === null &&
			li !== null && li.textContent.includes("host=UI-* probe=flip") && li.textContent.includes("by local: kernel update reboot") &&
			window.__noReload === 1;
	})()`)
	screenshot(t, b, "46-silences-overview-light-1400")
	run(t, b, colorScheme("dark"))
	screenshot(t, b, "47-silences-overview-dark-1400")
	run(t, b, width(400))
	screenshot(t, b, "48-silences-overview-dark-400")
	run(t, b, colorScheme("light"))
	screenshot(t, b, "49-silences-overview-light-400")
	run(t, b, width(1400))

	// B opens the held-back page: nothing yet. Then flip breaks.
	run(t, b, eval(`location.hash = "#/held"`))
	waitJS(t, b, 10*time.Second, `document.querySelector('main [role="status"]')?.textContent.includes("Nothing held back") === true`)
	writeFile(t, filepath.Join(cfg.ProbesConfigDir, "flip.json"), `{"Status":300,"Message":"disk on fire"}`, 0o644)
	awaitProbe(t, r.d.State(), "flip", "disk on fire")
	heldRow := `(() => {
		const tr = document.querySelector('#held tbody tr.held');
		return tr !== null && tr.dataset.reason === "silenced" && tr.textContent.includes("SILENCED") &&
			tr.textContent.includes("ui-host") && tr.textContent.includes("flip") && tr.textContent.includes("disk on fire") &&
			tr.textContent.includes("kernel update reboot");
	})()`
	waitJS(t, b, 10*time.Second, heldRow+` && window.__noReload === 1`)
	if n, _ := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll('#held tbody tr').length`)); n != 1 {
		t.Errorf("held-back rows in the live page: %d, want 1", n)
	}

	// The store writes its rows in batches: A's page, opened after the
	// change, reads it from the log.
	if err := r.d.Store().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A opens the page after the fact: the row comes from GET /api/held.
	run(t, a, eval(`location.hash = "#/held"`))
	waitJS(t, a, 10*time.Second, heldRow+` && !document.querySelector('#held tbody tr.held').classList.contains("live")`)
	screenshot(t, a, "50-held-light-1400")
	run(t, a, colorScheme("dark"))
	screenshot(t, a, "51-held-dark-1400")
	run(t, a, width(400))
	screenshot(t, a, "52-held-dark-400")
	run(t, a, colorScheme("light"))
	screenshot(t, a, "53-held-light-400")
	run(t, a, width(1400))
	// The log marks the same row with its reason.
	run(t, a, eval(`location.hash = "#/logs"`))
	waitJS(t, a, 10*time.Second, `[...document.querySelectorAll("main tbody tr")].some(tr => tr.textContent.includes("disk on fire") &&
		tr.querySelector('.badge.reason[data-reason="silenced"]') !== null)`)
	run(t, a, eval(`location.hash = "#/held"`))
	waitJS(t, a, 10*time.Second, heldRow)
	// Narrowed to acknowledgements, the silenced row is not listed.
	run(t, a, eval(`(s => { s.value = "acknowledged"; s.dispatchEvent(new Event("change")); })(document.getElementById("held-reason"))`))
	waitJS(t, a, 10*time.Second, `location.hash.includes("reason=acknowledged") && document.querySelector('#held tbody tr') === null &&
		document.querySelector('main [role="status"]').textContent.includes("Nothing held back as acknowledged")`)

	// B extends the silence by an hour; A's list shows the new end.
	run(t, a, eval(`location.hash = "#/hosts"`))
	run(t, b, eval(`location.hash = "#/hosts"`))
	waitJS(t, b, 10*time.Second, `document.querySelector('button[data-key="silence/`+id+`/extend"]') !== null`)
	want := sil[0].End.Truncate(time.Millisecond).Add(time.Hour) // the page counts in ms
	sub := r.d.State().Bus().Subscribe(event.SubscribeOptions{})
	defer sub.Close()
	run(t, b, eval(`document.querySelector('button[data-key="silence/`+id+`/extend"]').click()`))
	for timeout := time.After(10 * time.Second); ; {
		select {
		case e := <-sub.C:
			if e.Kind != event.SilenceSet || e.Silence == nil || e.Silence.ID != id {
				continue
			}
			if !e.Silence.End.Equal(want) {
				t.Fatalf("extended to %s, want %s", e.Silence.End, want)
			}
		case <-timeout:
			t.Fatalf("no silence_set after Extend: %+v", getSilences(t, base))
		}
		break
	}
	waitJS(t, a, 10*time.Second, `Date.parse(document.querySelector('section.silences li[data-silence="`+id+`"]')?.dataset.end) === `+
		strconv.FormatInt(want.UnixMilli(), 10))

	// B expires it: gone from A's list and badges, and from the daemon.
	run(t, b, eval(`document.querySelector('button[data-key="silence/`+id+`/expire"]').click()`))
	waitJS(t, a, 10*time.Second, `document.querySelector('section.silences') === null &&
		document.querySelector('li.host[data-host="ui-host"] .badge.silenced') === null &&
		document.querySelector('li.host[data-host="ui-host"] li[data-probe="disks"] .badge.ack') !== null`)
	if s := getSilences(t, base); len(s) != 0 {
		t.Fatalf("silences after Expire: %+v", s)
	}
	if p := r.d.State().Local().Probes["flip"]; p == nil || p.Status != model.StatusCrit {
		t.Fatalf("flip after the silence: %+v", p)
	}
}

// Silencing a whole host from its page: a refused silence (no matcher
// left) keeps the dialog open with the daemon's sentence; the accepted one
// marks the host and every probe under it, here and on the overview.
func TestBrowserSilenceHost(t *testing.T) {
	ctx := browser(t)
	r := startDaemon(t, testConfig(t))
	awaitProbe(t, r.d.State(), "flip", "all good")
	run(t, ctx, chromedp.Navigate(r.d.URL()+"/#/host/ui-host"))
	waitJS(t, ctx, 10*time.Second, `document.querySelector('button[data-key$="//silence"]') !== null`)
	run(t, ctx, eval(`(b => { b.focus(); b.click(); })(document.querySelector('button[data-key$="//silence"]'))`))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('dialog.silence-dialog[open]') !== null &&
		document.getElementById("sil-host").value === "ui-host" && document.getElementById("sil-probe").value === ""`)

	run(t, ctx, eval(`document.getElementById("sil-host").value = ""; document.getElementById("sil-submit").click()`))
	waitJS(t, ctx, 5*time.Second, `(e => e !== null && !e.hidden && e.textContent.includes("Not silenced: a silence needs a host, group or probe"))(document.getElementById("sil-error")) &&
		document.querySelector('dialog.silence-dialog[open]') !== null && !document.getElementById("sil-submit").disabled`)
	if s := getSilences(t, r.d.URL()); len(s) != 0 {
		t.Fatalf("a refused silence was kept: %+v", s)
	}

	run(t, ctx, eval(`document.getElementById("sil-host").value = "ui-host"; document.getElementById("sil-d-24h").click(); document.getElementById("sil-submit").click()`))
	waitJS(t, ctx, 10*time.Second, `document.querySelector('dialog.silence-dialog') === null &&
		document.querySelector('main h1 .badge.silenced') !== null &&
		[...document.querySelectorAll('tr.probe')].length === 3 &&
		[...document.querySelectorAll('tr.probe')].every(tr => tr.querySelector('.badge.silenced') !== null) &&
		document.activeElement === document.querySelector('button[data-key$="//silence"]')`)
	s := getSilences(t, r.d.URL())
	if len(s) != 1 || s[0].Host != "ui-host" || s[0].Probe != "" || s[0].End.Sub(s[0].Start) != 24*time.Hour {
		t.Fatalf("silences after the dialog: %+v", s)
	}
	run(t, ctx, chromedp.Navigate(r.d.URL()+"/#/hosts"))
	waitJS(t, ctx, 10*time.Second, `document.querySelector('li.host[data-host="ui-host"] h3 .badge.silenced') !== null &&
		document.querySelector('section.silences li')?.textContent.includes("host=ui-host") === true`)
}

// The dashboard's SILENCED marks follow the core's matching rule: the
// page's globMatch and silenceMatches answer as event.Match and
// event.Silence.Matches on the same cases.
func TestBrowserSilenceMatchMirrorsCore(t *testing.T) {
	ctx := browser(t)
	r := startDaemon(t, testConfig(t))
	run(t, ctx, chromedp.Navigate(r.d.URL()+"/#/hosts"))
	waitJS(t, ctx, 10*time.Second, `document.querySelector('#conn[data-conn="live"]') !== null`)

	type matchCase struct{ Pattern, Name string }
	var globs []matchCase
	for _, p := range []string{"", "*", "web-1", "WEB-1", "web-*", "*-1", "w*b*1", "*eb*", "web-1*", "a*a", "db.?[1]", "é*", "**"} {
		for _, n := range []string{"", "web-1", "Web-12", "db-1", "a", "aa", "db.?[1]", "ÉCOLE", "web-1-web-1"} {
			globs = append(globs, matchCase{p, n})
		}
	}
	type silenceCase struct {
		Si                 event.Silence
		Host, Group, Probe string
	}
	var sils []silenceCase
	for _, si := range []event.Silence{{Host: "web-*"}, {Probe: "disk"}, {Host: "WEB-1", Probe: "d*"}, {Group: "db"}, {Host: "*", Group: "web", Probe: "*"}} {
		for _, at := range [][3]string{{"web-1", "web", ""}, {"web-1", "web", "disk"}, {"db-1", "db", "disk"}, {"db-1", "db", ""}, {"web-2", "db", "load"}} {
			sils = append(sils, silenceCase{si, at[0], at[1], at[2]})
		}
	}
	in, err := json.Marshal(map[string]any{"globs": globs, "silences": sils})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Globs, Silences []bool }
	js := `(async () => {
		const m = await import(document.querySelector('script[type="module"]').src);
		const c = ` + string(in) + `;
		return { Globs: c.globs.map(g => m.globMatch(g.Pattern, g.Name)),
			Silences: c.silences.map(s => m.silenceMatches(s.Si, s.Host, s.Group, s.Probe)) };
	})()`
	got, err = chromedp.Run(ctx, chromedp.Evaluate[struct{ Globs, Silences []bool }](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Globs) != len(globs) || len(got.Silences) != len(sils) {
		t.Fatalf("answers: %d globs, %d silences; asked %d, %d", len(got.Globs), len(got.Silences), len(globs), len(sils))
	}
	for i, c := range globs {
		if want := event.Match(c.Pattern, c.Name); got.Globs[i] != want {
			t.Errorf("globMatch(%q, %q) = %v, the core says %v", c.Pattern, c.Name, got.Globs[i], want)
		}
	}
	for i, c := range sils {
		if want := c.Si.Matches(c.Host, c.Group, c.Probe); got.Silences[i] != want {
			t.Errorf("silenceMatches(%s, %q, %q, %q) = %v, the core says %v", matcherOf(c.Si), c.Host, c.Group, c.Probe, got.Silences[i], want)
		}
	}
}

func matcherOf(si event.Silence) string {
	return "host=" + si.Host + " group=" + si.Group + " probe=" + si.Probe
}
