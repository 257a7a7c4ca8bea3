package ui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
)

// detailedAuthority describes its clients and grants relay, as the push
// plugin does through the Authority RPC (TestRelayThroughTheAuthority in
// plugins/transport-push drives the real one).
type detailedAuthority struct {
	*fakeAuthority
	relay     map[string]bool
	unrelayed map[string]int
}

func (a *detailedAuthority) Clients(context.Context) (waiting, allowed []api.AuthorityClient, err error) {
	w, al, _ := a.List(context.Background())
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for id, name := range w {
		n++
		waiting = append(waiting, api.AuthorityClient{UUID: id, Hostname: name, Remote: fmt.Sprintf("198.51.100.%d:4%04d", n, n),
			FirstSeen: time.Now().Add(-time.Duration(n) * 7 * time.Minute).UTC().Format(time.RFC3339), KeyFingerprint: "SHA256:q0uXl3cYh1m6wq9JvT0pXjz8Yd2k5nAeB7rF4sGtHuI" + fmt.Sprint(n)})
	}
	for id, name := range al {
		allowed = append(allowed, api.AuthorityClient{UUID: id, Hostname: name, KeyFingerprint: "SHA256:Zr8mN3bV7cX1qW5eR9tY2uI6oP4aS0dF8gH3jK7lQwE",
			Relay: a.relay[id], UnrelayedHosts: a.unrelayed[id]})
	}
	return waiting, allowed, nil
}

func (a *detailedAuthority) Relay(_ context.Context, uuid string, relay bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.allowed[uuid]; !ok {
		return fmt.Errorf("%w: %s", api.ErrUnknownClient, uuid)
	}
	a.relay[uuid] = relay
	if relay {
		a.unrelayed[uuid] = 0
	}
	return nil
}

// The Authority view shows, under each waiting client's UUID, the address
// it connected from, when it was first seen and its key's fingerprint, and
// for an allowed client whether it is a relay and how many hosts were
// dropped for want of relay; Grant relay grants it through the API. Wide
// and narrow, light and dark.
func TestBrowserAuthorityDetails(t *testing.T) {
	ctx := browser(t)
	st := state.New(state.Options{UUID: "master-uuid", Hostname: "master", Group: "core", Bus: event.NewBus()})
	st.ProbeResult(&model.ProbeResult{Name: "load", Status: 100, Message: "ok", Timestamp: time.Now().Unix()})
	auth := &detailedAuthority{
		fakeAuthority: &fakeAuthority{
			waiting: map[string]string{"1d0c2f6e-5b7a-4c1e-9f3d-2a8b6c4e0f11": "edge-01", "77e1b9a4-0c2d-4e6f-8a1b-3c5d7e9f1a22": "edge-02"},
			allowed: map[string]string{"c3a9d2f1-4e5f-4a6b-8c7d-9e0f1a2b3c33": "mid-paris"},
		},
		relay:     map[string]bool{},
		unrelayed: map[string]int{"c3a9d2f1-4e5f-4a6b-8c7d-9e0f1a2b3c33": 12},
	}
	srv := authorityServer(t, st, auth)

	const mid = `document.querySelector('#auth-allowed tr[data-uuid="c3a9d2f1-4e5f-4a6b-8c7d-9e0f1a2b3c33"]')`
	const edge = `document.querySelector('#auth-waiting tr[data-uuid="1d0c2f6e-5b7a-4c1e-9f3d-2a8b6c4e0f11"]')`
	run(t, ctx, chromedp.EmulateViewport(1400, 900), chromedp.Navigate(srv.URL+"/#/authority"))
	waitJS(t, ctx, 5*time.Second, edge+`?.querySelector('[data-fact="remote"]')?.textContent.startsWith("from 198.51.100.") &&
		/^first seen \d+ min ago$/.test(`+edge+`.querySelector('[data-fact="first-seen"]').textContent) &&
		`+edge+`.querySelector('[data-fact="key"] code').textContent.startsWith("SHA256:") &&
		`+mid+`?.querySelector('[data-fact="relay"]').textContent === "not a relay: reports its own host only" &&
		`+mid+`.querySelector('[data-fact="unrelayed"]').textContent === "carries 12 hosts it may not relay: dropped" &&
		`+mid+`.querySelector('button[data-key^="relay/"]').textContent === "Grant relay"`)
	for _, scheme := range []string{"light", "dark"} {
		for _, width := range []int64{1400, 400} {
			run(t, ctx, colorScheme(scheme), chromedp.EmulateViewport(width, 900))
			// The narrow page must not scroll sideways.
			waitJS(t, ctx, 5*time.Second, `document.documentElement.scrollWidth <= window.innerWidth`)
			screenshot(t, ctx, fmt.Sprintf("20-authority-details-%s-%d", scheme, width))
		}
	}
	run(t, ctx, colorScheme("light"), chromedp.EmulateViewport(1400, 900))

	run(t, ctx, chromedp.Click(chromedp.CSS(`#auth-allowed button[data-key^="relay/"]`)))
	waitJS(t, ctx, 5*time.Second, mid+`?.querySelector('[data-fact="relay"]').textContent === "relay: reports the hosts under it" &&
		`+mid+`.querySelector('[data-fact="unrelayed"]') === null &&
		`+mid+`.querySelector('button[data-key^="unrelay/"]').textContent === "Withdraw relay" &&
		document.querySelector('[role="alert"]').textContent.includes("Granted relay to mid-paris")`)
	auth.mu.Lock()
	granted := auth.relay["c3a9d2f1-4e5f-4a6b-8c7d-9e0f1a2b3c33"]
	auth.mu.Unlock()
	if !granted {
		t.Fatal("Grant relay did not reach the authority")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`#auth-allowed button[data-key^="unrelay/"]`)))
	waitJS(t, ctx, 5*time.Second, mid+`?.querySelector('[data-fact="relay"]').textContent === "not a relay: reports its own host only" &&
		document.querySelector('[role="alert"]').textContent.includes("Withdrew relay from mid-paris")`)
}
