package ui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/ui"
)

// The page's side of the protocol, against a scripted server: events at or
// below the snapshot's seq are ignored, the next ones applied, and a hole in
// seq makes the page reconnect for a fresh snapshot (without a reload).
func TestBrowserSequenceGapResnapshots(t *testing.T) {
	ctx := browser(t)
	var conns atomic.Int32
	doc := func(msg string) *model.Wigo {
		return &model.Wigo{Uuid: "u1", IsAlive: true, Hostname: "gap-host", GlobalStatus: 100,
			LocalHost: &model.Host{Name: "gap-host", Group: "g", Status: 100, Probes: map[string]*model.ProbeResult{
				"p": {Name: "p", Status: 100, Message: msg, Timestamp: time.Now().Unix()}}}}
	}
	event := func(seq uint64, msg string) map[string]any {
		return map[string]any{"type": "event", "seq": seq, "event": map[string]any{
			"Seq": seq, "Kind": "probe_updated", "Time": time.Now(), "HostUuid": "u1", "Host": "gap-host", "Group": "g",
			"Probe": "p", "NewStatus": 100, "New": model.ProbeResult{Name: "p", Status: 100, Message: msg, Timestamp: time.Now().Unix()}}}
	}
	upgrader := websocket.Upgrader{}
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", ui.New())
	mux.HandleFunc("/api/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		send := func(v any) {
			b, _ := json.Marshal(v)
			c.WriteMessage(websocket.TextMessage, b)
		}
		switch conns.Add(1) {
		case 1:
			send(map[string]any{"type": "snapshot", "seq": 10, "state": doc("from snapshot 1")})
			send(event(9, "stale event, already in the snapshot"))
			send(event(11, "event 11"))
			<-release
			send(event(13, "event 13 after a hole"))
		default:
			send(map[string]any{"type": "snapshot", "seq": 20, "state": doc("from snapshot 2")})
		}
		// Hold the connection until the page closes it.
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	run(t, ctx, chromedp.Navigate(srv.URL+"/#/host/gap-host"), eval(`window.__noReload = 1`))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('tr.probe[data-probe="p"]')?.textContent.includes("event 11") === true`)
	close(release)
	waitJS(t, ctx, 5*time.Second, `document.querySelector('tr.probe[data-probe="p"]')?.textContent.includes("from snapshot 2") === true &&
		document.getElementById("conn").dataset.conn === "live" && window.__noReload === 1`)
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (one reconnect after the hole)", n)
	}
}
