// Package ws is the websocket hub behind GET /api/ws: it sends each browser
// a snapshot of the whole state, then every change event as it happens.
//
// # Protocol
//
// The server only sends; every message is one JSON text frame:
//
//	{"type":"snapshot","seq":N,"state":<GET /api document>}
//	{"type":"event","seq":M,"event":<event.Event>}
//
// The snapshot comes first and reflects at least every event up to seq N.
// Events follow with seq N+1, N+2, … without holes. An event may repeat a
// change the snapshot already holds (applying it again is harmless: it
// carries the new probe result). A hole in seq means events were lost (the
// hub itself fell behind the bus): the client must reconnect for a fresh
// snapshot. A client that cannot keep up is closed with code 1008 (policy
// violation) and reason "send queue full"; it too reconnects. On daemon
// shutdown clients get 1001 (going away). Whatever a client sends is read
// and ignored, except pongs which keep the connection alive.
//
// # Why one bus subscription
//
// The hub holds a single lossy subscription and fans each event out itself:
// the event is encoded (and framed, as a websocket.PreparedMessage) once for
// every client, and a slow client only ever costs a failed non-blocking send
// on its own queue. The core never waits on a browser.
package ws

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/edge"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
)

// Defaults of Options, sized for a NOC wall of browsers: a queue deep enough
// for a burst of a few hundred probe changes, deadlines short enough that a
// dead peer is noticed within a minute.
const (
	DefaultQueueSize    = 256
	DefaultPingInterval = 20 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	// busBuffer is the hub's own subscription buffer: the hub never blocks
	// while fanning out, so this only has to absorb scheduling hiccups.
	busBuffer = 8192
)

// Close codes and reasons the hub sends.
const (
	// CloseSlow is sent to a client whose send queue overflowed.
	CloseSlow = websocket.ClosePolicyViolation
	// ReasonSlow is the close reason sent with CloseSlow.
	ReasonSlow = "send queue full"
)

// Options configure a Hub.
type Options struct {
	// State is what snapshots are taken from; its bus feeds the events.
	// Required.
	State *state.State
	// Acks, when set, gives the acknowledgements in force, sent with each
	// snapshot (the events that change them follow like any other).
	Acks func() []event.Ack
	// Silences, when set, gives the silences not yet ended, sent with each
	// snapshot likewise.
	Silences func() []event.Silence
	// Soft, when set, gives the changes awaiting their confirming results
	// (check attempts), sent with each snapshot likewise.
	Soft func() []event.Soft
	// Logger receives connection and drop messages. Nil discards them.
	Logger hclog.Logger
	// AllowedOrigins lists extra origins (e.g. "https://noc.example:8443")
	// allowed to open the websocket besides the page's own host. "*" allows
	// any origin. Matching is case-insensitive on scheme://host[:port].
	AllowedOrigins []string
	// QueueSize bounds each client's queue of unsent messages; 0 means
	// DefaultQueueSize. A client whose queue is full is dropped.
	QueueSize int
	// PingInterval is how often a ping is sent; a client that has not
	// answered (any frame) within two intervals is closed. 0 means
	// DefaultPingInterval.
	PingInterval time.Duration
	// WriteTimeout bounds the write of one message. 0 means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// Stats are the hub's counters, for tests, benchmarks and health pages.
type Stats struct {
	// Clients is the number of connected clients.
	Clients int
	// Connected counts every accepted client since start.
	Connected uint64
	// Dropped counts clients closed because their queue was full.
	Dropped uint64
	// Seq is the sequence number of the last event fanned out.
	Seq uint64
	// BusDropped counts events the hub's own subscription missed.
	BusDropped uint64
}

// Hub accepts websocket clients and fans state events out to them. Its zero
// value is not usable; build one with New. It implements http.Handler.
type Hub struct {
	state    *state.State
	acks     func() []event.Ack
	silences func() []event.Silence
	soft     func() []event.Soft
	log      hclog.Logger
	upgrader websocket.Upgrader
	allowAll bool
	allowed  map[string]bool
	queue    int
	ping     time.Duration
	wtimeout time.Duration

	mu      sync.Mutex
	clients map[*client]struct{}
	sub     *event.Subscription
	seq     uint64 // last event fanned out, guarded by mu
	closed  bool
	done    chan struct{} // closed when the fan-out goroutine has stopped

	connected atomic.Uint64
	dropped   atomic.Uint64

	snapMu   sync.Mutex
	snapSeq  uint64
	snapAt   time.Time
	snapData *websocket.PreparedMessage
	// snapLen is the last snapshot's size, the next one's first guess.
	snapLen int
}

// New builds a hub. Nothing runs until the first client connects: the hub
// subscribes to the bus then, so a daemon nobody watches pays nothing.
func New(opts Options) *Hub {
	if opts.State == nil {
		panic("ws.New: Options.State is required")
	}
	h := &Hub{
		state:    opts.State,
		acks:     opts.Acks,
		silences: opts.Silences,
		soft:     opts.Soft,
		log:      opts.Logger,
		allowed:  map[string]bool{},
		queue:    opts.QueueSize,
		ping:     opts.PingInterval,
		wtimeout: opts.WriteTimeout,
		clients:  map[*client]struct{}{},
	}
	if h.log == nil {
		h.log = hclog.NewNullLogger()
	}
	if h.queue <= 0 {
		h.queue = DefaultQueueSize
	}
	if h.ping <= 0 {
		h.ping = DefaultPingInterval
	}
	if h.wtimeout <= 0 {
		h.wtimeout = DefaultWriteTimeout
	}
	for _, o := range opts.AllowedOrigins {
		o = strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))
		if o == "*" {
			h.allowAll = true
		}
		h.allowed[o] = true
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  16 << 10,
		// Idle connections (almost all of them, almost all the time) hold
		// no write buffer: it is taken from the pool for each write. This
		// is most of the per-client memory at 1,000 clients.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     h.checkOrigin,
		Error:           h.upgradeError,
	}
	return h
}

// checkOrigin accepts requests without an Origin (non-browser clients, which
// cannot be tricked into sending a victim's credentials), from the page's own
// host, or from an allowed origin. Browsers always send Origin on websocket
// upgrades, so this is what stops a foreign page from riding on the user's
// basic-auth credentials (cross-site websocket hijacking).
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if h.allowAll {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return h.allowed[strings.ToLower(u.Scheme+"://"+u.Host)]
}

func (h *Hub) upgradeError(w http.ResponseWriter, r *http.Request, status int, reason error) {
	h.log.Warn("websocket upgrade refused", "status", status, "reason", reason,
		"origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
	edge.Refuse(w, status, reason.Error())
}

// client is one connected websocket.
type client struct {
	conn   *websocket.Conn
	send   chan *websocket.PreparedMessage
	remote string
	// kick is closed (once) when the hub wants the client gone; code and
	// reason say why.
	kick     chan struct{}
	kickOnce sync.Once
	code     int
	reason   string
}

func (c *client) stop(code int, reason string) {
	c.kickOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.kick)
	})
}

// ServeHTTP upgrades the request and serves the client until it leaves.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		h.upgradeError(w, r, http.StatusMethodNotAllowed, errors.New("websocket upgrade needs GET"))
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		h.upgradeError(w, r, http.StatusServiceUnavailable, errors.New("shutting down"))
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &client{
		conn:   conn,
		send:   make(chan *websocket.PreparedMessage, h.queue),
		remote: r.RemoteAddr,
		kick:   make(chan struct{}),
	}
	seq, ok := h.register(c)
	if !ok {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	h.connected.Add(1)
	h.log.Debug("websocket client connected", "remote", c.remote)
	go h.readLoop(c)
	h.writeLoop(c, seq)
}

// register adds c to the fan-out and returns the seq its snapshot must
// carry: every event after it will be queued to c. Registering under the
// same lock as the fan-out is what makes snapshot + events gap-free.
func (h *Hub) register(c *client) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, false
	}
	if h.sub == nil {
		h.sub = h.state.Bus().Subscribe(event.SubscribeOptions{Buffer: busBuffer})
		// Events published before the subscription are in the state
		// already; start counting from the bus's current position.
		h.seq = h.state.Bus().Seq()
		h.done = make(chan struct{})
		go h.fanOut(h.sub)
	}
	h.clients[c] = struct{}{}
	return h.seq, true
}

func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// fanOut encodes each event once and offers it to every client without
// waiting: a full queue drops that client, never the event for the others.
func (h *Hub) fanOut(sub *event.Subscription) {
	defer close(h.done)
	for e := range sub.C {
		data, err := json.Marshal(eventMessage{Type: "event", Seq: e.Seq, Event: e})
		if err != nil {
			h.log.Error("cannot encode event for websocket clients", "kind", e.Kind, "error", err)
			continue
		}
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
		if err != nil {
			h.log.Error("cannot frame event for websocket clients", "error", err)
			continue
		}
		h.mu.Lock()
		h.seq = e.Seq
		for c := range h.clients {
			select {
			case c.send <- pm:
			default:
				delete(h.clients, c)
				h.dropped.Add(1)
				h.log.Warn("websocket client too slow: dropped", "remote", c.remote, "queue", h.queue)
				c.stop(CloseSlow, ReasonSlow)
			}
		}
		h.mu.Unlock()
	}
}

// snapshotTail is the snapshot message after its state, encoded by
// encoding/json: {"type":"snapshot","seq":N,"state":<document>,"acks":…,
// "silences":…,"soft":…}. The document, by far the largest part, is
// written by model.AppendDocument, the encoder of GET /api, so the
// snapshot's state is GET /api's bytes and is not reflected over (nor
// scanned again, as a json.RawMessage inside json.Marshal would be).
type snapshotTail struct {
	// Acks are taken after State: events after seq may already be in
	// them, and applying those again changes nothing.
	Acks []event.Ack `json:"acks"`
	// Silences likewise.
	Silences []event.Silence `json:"silences"`
	// Soft likewise.
	Soft []event.Soft `json:"soft"`
}

// encodeSnapshot appends to b the snapshot message of seq, doc and tail.
// The caller sizes b from the last snapshot: the document is megabytes at
// a thousand hosts, and growing into it by doubling would copy it twice
// over.
func encodeSnapshot(b []byte, seq uint64, doc *model.Wigo, tail snapshotTail) ([]byte, error) {
	rest, err := json.Marshal(tail)
	if err != nil {
		return nil, err
	}
	b = append(b, `{"type":"snapshot","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"state":`...)
	b = model.AppendDocument(b, doc)
	b = append(b, ',')
	return append(b, rest[1:]...), nil
}

type eventMessage struct {
	Type  string      `json:"type"`
	Seq   uint64      `json:"seq"`
	Event event.Event `json:"event"`
}

// snapshot returns the framed snapshot for seq. The last one is reused for a
// second at the same seq, so a reconnect storm of every browser at once
// (after a daemon restart) encodes the document once, not once per client.
func (h *Hub) snapshot(seq uint64) (*websocket.PreparedMessage, error) {
	h.snapMu.Lock()
	defer h.snapMu.Unlock()
	if h.snapData != nil && h.snapSeq == seq && time.Since(h.snapAt) < time.Second {
		return h.snapData, nil
	}
	tail := snapshotTail{Acks: []event.Ack{}, Silences: []event.Silence{}, Soft: []event.Soft{}}
	doc := h.state.Document()
	if h.acks != nil {
		tail.Acks = h.acks()
	}
	if h.silences != nil {
		tail.Silences = h.silences()
	}
	if h.soft != nil {
		tail.Soft = h.soft()
	}
	// The frame is held by the prepared message (and the clients writing
	// it) after this returns: a new buffer each time, of the last size
	// and a margin.
	data, err := encodeSnapshot(make([]byte, 0, h.snapLen+h.snapLen/8+4096), seq, doc, tail)
	if err != nil {
		return nil, err
	}
	h.snapLen = len(data)
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	if err != nil {
		return nil, err
	}
	h.snapSeq, h.snapAt, h.snapData = seq, time.Now(), pm
	return pm, nil
}

// writeLoop is the only writer of data frames on c (gorilla allows one
// concurrent writer; control frames may be written from elsewhere).
func (h *Hub) writeLoop(c *client, seq uint64) {
	ping := time.NewTicker(h.ping)
	defer func() {
		ping.Stop()
		// Every exit goes through stop, whose sync.Once also orders the
		// read of c.reason below after whoever set it.
		c.stop(websocket.CloseAbnormalClosure, "writer ended")
		h.unregister(c)
		c.conn.Close()
		h.log.Debug("websocket client gone", "remote", c.remote, "reason", c.reason)
	}()
	write := func(pm *websocket.PreparedMessage) bool {
		c.conn.SetWriteDeadline(time.Now().Add(h.wtimeout))
		if err := c.conn.WritePreparedMessage(pm); err != nil {
			c.stop(websocket.CloseAbnormalClosure, "write: "+err.Error())
			return false
		}
		return true
	}
	snap, err := h.snapshot(seq)
	if err != nil {
		h.log.Error("cannot encode snapshot for websocket client", "error", err)
		c.stop(websocket.CloseInternalServerErr, "cannot encode snapshot")
	} else if !write(snap) {
		return
	}
	for {
		select {
		case pm := <-c.send:
			if !write(pm) {
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.wtimeout)); err != nil {
				return
			}
		case <-c.kick:
			if c.code != websocket.CloseAbnormalClosure {
				// Best effort: a client that does not read may have a full
				// socket, so the close frame gets a short deadline.
				c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, c.reason), time.Now().Add(time.Second))
			}
			return
		}
	}
}

// readLoop discards what the client sends, answers pings (gorilla's default
// handler) and extends the read deadline on every frame, pongs included: a
// peer silent for two ping intervals is gone.
func (h *Hub) readLoop(c *client) {
	c.conn.SetReadLimit(4 << 10)
	wait := 2 * h.ping
	c.conn.SetReadDeadline(time.Now().Add(wait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(wait))
	})
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			c.stop(websocket.CloseAbnormalClosure, "read: "+err.Error())
			return
		}
		c.conn.SetReadDeadline(time.Now().Add(wait))
	}
}

// Close disconnects every client with 1001 (going away), stops the fan-out
// and refuses new clients. The daemon calls it when its HTTP server shuts
// down, because http.Server.Shutdown does not touch hijacked connections:
// without it browsers would not notice the daemon stopped.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	sub, done := h.sub, h.done
	for c := range h.clients {
		c.stop(websocket.CloseGoingAway, "server shutting down")
	}
	h.mu.Unlock()
	if sub != nil {
		sub.Close()
		<-done
	}
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Stats{Clients: len(h.clients), Connected: h.connected.Load(), Dropped: h.dropped.Load(), Seq: h.seq}
	if h.sub != nil {
		s.BusDropped = h.sub.Dropped()
	}
	return s
}
