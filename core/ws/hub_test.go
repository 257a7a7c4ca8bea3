package ws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/edge"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
)

// message is what the hub sends, decoded.
type message struct {
	Type  string      `json:"type"`
	Seq   uint64      `json:"seq"`
	State *model.Wigo `json:"state"`
	Event event.Event `json:"event"`
}

func newState() *state.State {
	return state.New(state.Options{UUID: "local-uuid", Hostname: "box", Group: "grp", Bus: event.NewBus()})
}

func result(name string, status int, msg string) *model.ProbeResult {
	return &model.ProbeResult{Name: name, Status: status, Message: msg, Version: "1", Timestamp: time.Now().Unix()}
}

func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/api/ws" }

func dial(t *testing.T, url string, hdr http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *websocket.Conn) message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m message
	if err := c.ReadJSON(&m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func serve(t *testing.T, opts Options) (*Hub, *httptest.Server) {
	t.Helper()
	h := New(opts)
	mux := http.NewServeMux()
	mux.Handle("/api/ws", h)
	s := httptest.NewServer(mux)
	t.Cleanup(func() { h.Close(); s.Close() })
	return h, s
}

func TestSnapshotThenEventsInOrder(t *testing.T) {
	st := newState()
	st.ProbeResult(result("disk", 100, "fine"))
	_, srv := serve(t, Options{State: st})
	c := dial(t, wsURL(srv), nil)

	snap := read(t, c)
	if snap.Type != "snapshot" || snap.State == nil || snap.State.LocalHost.Name != "box" {
		t.Fatalf("first message = %+v", snap)
	}
	if p := snap.State.LocalHost.Probes["disk"]; p == nil || p.Message != "fine" {
		t.Fatalf("snapshot lacks the probe: %+v", snap.State.LocalHost)
	}
	st.ProbeResult(result("disk", 300, "full"))
	st.ProbeResult(result("load", 100, "ok"))
	m1, m2 := read(t, c), read(t, c)
	if m1.Type != "event" || m1.Seq != snap.Seq+1 || m2.Seq != snap.Seq+2 {
		t.Fatalf("events not contiguous after snapshot seq %d: %d, %d", snap.Seq, m1.Seq, m2.Seq)
	}
	if m1.Event.Kind != event.ProbeChanged || m1.Event.New.Status != 300 || m2.Event.Probe != "load" {
		t.Fatalf("events = %+v / %+v", m1.Event, m2.Event)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	st := newState()
	_, srv := serve(t, Options{State: st, AllowedOrigins: []string{"https://noc.example:8443"}})
	host := strings.TrimPrefix(srv.URL, "http://")

	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"https://evil.example", http.StatusForbidden},
		{"http://127.0.0.1:1", http.StatusForbidden}, // same host, other port: another origin
		{"null", http.StatusForbidden},
		{"http://" + host, http.StatusSwitchingProtocols},
		{"https://NOC.example:8443", http.StatusSwitchingProtocols},
		{"", http.StatusSwitchingProtocols}, // not a browser
	} {
		hdr := http.Header{}
		if tc.origin != "" {
			hdr.Set("Origin", tc.origin)
		}
		c, resp, err := websocket.DefaultDialer.Dial(wsURL(srv), hdr)
		if c != nil {
			c.Close()
		}
		if resp == nil {
			t.Fatalf("origin %q: no answer: %v", tc.origin, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("origin %q: status %d, want %d", tc.origin, resp.StatusCode, tc.want)
		}
	}
}

func TestUnauthenticatedUpgradeRefused(t *testing.T) {
	st := newState()
	h := New(Options{State: st})
	t.Cleanup(h.Close)
	authn := auth.New(auth.Options{Login: "admin", Password: "s3cret", Deny: edge.Refuse})
	srv := httptest.NewServer(authn.Middleware(authn.Require(auth.RoleViewer, h)))
	t.Cleanup(srv.Close)

	_, resp, err := websocket.DefaultDialer.Dial(wsURL(srv), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: err %v, resp %+v", err, resp)
	}
	hdr := http.Header{}
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth("admin", "wrong")
	hdr.Set("Authorization", req.Header.Get("Authorization"))
	if _, resp, _ := websocket.DefaultDialer.Dial(wsURL(srv), hdr); resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password accepted: %+v", resp)
	}
	req.SetBasicAuth("admin", "s3cret")
	hdr.Set("Authorization", req.Header.Get("Authorization"))
	c := dial(t, wsURL(srv), hdr)
	if m := read(t, c); m.Type != "snapshot" {
		t.Fatalf("first message = %+v", m)
	}
}

// A client that never reads fills its socket, then its queue, and is
// dropped; a client that reads receives every event meanwhile. Events are
// published in lockstep with the reader, so nothing here depends on timing.
func TestSlowClientDroppedOthersKeepReceiving(t *testing.T) {
	st := newState()
	hub, srv := serve(t, Options{State: st, QueueSize: 4})
	stuck := dial(t, wsURL(srv), nil) // never reads
	reader := dial(t, wsURL(srv), nil)
	snap := read(t, reader)

	// Big messages fill the kernel's socket buffers in a few dozen events.
	detail, _ := json.Marshal(map[string]string{"blob": strings.Repeat("x", 128<<10)})
	want := snap.Seq
	for i := 0; hub.Stats().Dropped == 0; i++ {
		if i > 5000 {
			t.Fatal("the stuck client was never dropped")
		}
		r := result("big", 100+i%2*100, fmt.Sprint("run ", i))
		r.Detail = detail
		st.ProbeResult(r)
		want++
		m := read(t, reader)
		if m.Type != "event" || m.Seq != want || m.Event.New.Message != r.Message {
			t.Fatalf("reader got seq %d %q, want seq %d %q", m.Seq, m.Event.New.Message, want, r.Message)
		}
	}
	// The reader is still served after the drop.
	st.ProbeResult(result("after", 100, "still here"))
	if m := read(t, reader); m.Event.Probe != "after" || m.Seq != want+1 {
		t.Fatalf("after the drop the reader got %+v", m)
	}
	if s := hub.Stats(); s.Clients != 1 || s.Dropped != 1 {
		t.Fatalf("stats = %+v", s)
	}
	// The stuck client, once it reads, finds its connection ended.
	stuck.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		if _, _, err := stuck.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok && ce.Code != CloseSlow {
				t.Fatalf("stuck client closed with %v, want code %d", ce, CloseSlow)
			}
			if strings.Contains(err.Error(), "timeout") {
				t.Fatalf("stuck client's connection was not closed: %v", err)
			}
			break
		}
	}
}

func TestCloseDisconnectsClients(t *testing.T) {
	st := newState()
	hub, srv := serve(t, Options{State: st})
	c := dial(t, wsURL(srv), nil)
	read(t, c)
	hub.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after Close the client read %v, want a 1001 close", err)
	}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(srv), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade after Close: %v %+v", err, resp)
	}
}

func TestPingKeepsIdleClientAlive(t *testing.T) {
	st := newState()
	_, srv := serve(t, Options{State: st, PingInterval: 50 * time.Millisecond})
	c := dial(t, wsURL(srv), nil)
	pings := make(chan struct{}, 16)
	c.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	msgs := make(chan message, 16)
	go func() {
		defer close(msgs)
		for {
			var m message
			if err := c.ReadJSON(&m); err != nil {
				return
			}
			msgs <- m
		}
	}()
	// Several ping rounds, each far beyond the 100 ms read deadline the
	// server would apply without pongs.
	for range 6 {
		select {
		case <-pings:
		case <-time.After(10 * time.Second):
			t.Fatal("no ping from the server")
		}
	}
	st.ProbeResult(result("x", 100, "alive"))
	for m := range msgs {
		if m.Type == "event" && m.Event.Probe == "x" {
			return
		}
	}
	t.Fatal("connection ended instead of delivering the event")
}
