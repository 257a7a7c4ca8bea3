package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// width emulates a viewport width (a phone at 400 px, a desk at 1400).
func width(px int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: px, Height: 900, DeviceScaleFactor: 1, Mobile: px < 600,
		})
		return err
	})
}

// From the dashboard, an on-call person acknowledges a critical probe with
// a comment; the probe shows who took it, in this browser and live in
// another one; the core holds the acknowledgement; removing it from the
// other browser shows in the first.
func TestBrowserAcknowledge(t *testing.T) {
	first, second := browser(t), browser(t)
	r := startDaemon(t, testConfig(t))
	now := time.Now().Unix()
	doc := &model.Wigo{Uuid: "web-9-uuid", Version: "0.73", IsAlive: true, Hostname: "web-9", LastUpdate: now,
		LocalHost: &model.Host{Name: "web-9", Group: "web", Status: 300, Probes: map[string]*model.ProbeResult{
			"disk": {Name: "disk", Status: 300, Message: "/var 97% full", Timestamp: now},
			"load": {Name: "load", Status: 100, Message: "0.4", Timestamp: now},
		}}}
	if err := r.d.State().Ingest("web-9:4000", doc); err != nil {
		t.Fatal(err)
	}
	page := r.d.URL() + "/#/host/web-9"
	for _, ctx := range []context.Context{first, second} {
		run(t, ctx, chromedp.Navigate(page))
		waitJS(t, ctx, 10*time.Second, `document.querySelector('button[data-key="web-9-uuid/disk/ack"]') !== null`)
	}
	// An OK probe has nothing to acknowledge.
	waitJS(t, first, time.Second, `document.querySelector('button[data-key="web-9-uuid/load/ack"]') === null`)

	run(t, first, eval(`window.prompt = () => "swapping the disk"; document.querySelector('button[data-key="web-9-uuid/disk/ack"]').click()`))
	shown := `(() => {
		const row = document.querySelector('tr.probe[data-probe="disk"]');
		const note = document.querySelector('tr.probe[data-probe="disk"] + tr.extra .ack-note');
		return row !== null && row.textContent.includes("ACK") && note !== null &&
			note.textContent.includes("Acknowledged by local") && note.textContent.includes("swapping the disk");
	})()`
	for _, ctx := range []context.Context{first, second} {
		waitJS(t, ctx, 10*time.Second, shown)
	}
	resp, err := http.Get(r.d.URL() + "/api/acks")
	if err != nil {
		t.Fatal(err)
	}
	var l struct{ Acks []event.Ack }
	err = json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	if err != nil || len(l.Acks) != 1 || l.Acks[0].Probe != "disk" || l.Acks[0].Comment != "swapping the disk" || l.Acks[0].Status != 300 {
		t.Fatalf("acks after the click: %+v (%v)", l.Acks, err)
	}
	run(t, first, width(1400))
	screenshot(t, first, "30-ack-light-1400")
	run(t, first, colorScheme("dark"))
	screenshot(t, first, "31-ack-dark-1400")
	run(t, first, width(400))
	screenshot(t, first, "32-ack-dark-400")
	run(t, first, colorScheme("light"))
	screenshot(t, first, "33-ack-light-400")

	// The overview lists who took what.
	run(t, first, width(1400), chromedp.Navigate(r.d.URL()+"/#/hosts"))
	waitJS(t, first, 10*time.Second, `(() => {
		const s = document.querySelector('section.acks');
		return s !== null && s.textContent.includes("web-9/disk by local: swapping the disk");
	})()`)
	screenshot(t, first, "34-acks-overview")
	run(t, first, chromedp.Navigate(page))

	run(t, second, eval(`document.querySelector('button[data-key="web-9-uuid/disk/unack"]').click()`))
	waitJS(t, first, 10*time.Second, `document.querySelector('tr.probe[data-probe="disk"] + tr.extra .ack-note') === null &&
		document.querySelector('button[data-key="web-9-uuid/disk/ack"]') !== null`)
	if a := r.d.Acks(); len(a) != 0 {
		t.Fatalf("acks after the removal: %+v", a)
	}
}
