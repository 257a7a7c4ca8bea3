package sdktest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// recorder is a notifier that remembers what it was given.
type recorder struct {
	mu   sync.Mutex
	cfg  map[string]any
	inst string
	got  []*sdk.Notification
	fail error
}

func (*recorder) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "name", Type: sdk.TypeString, Required: true},
		{Name: "count", Type: sdk.TypeNumber, Default: 3},
	}}
}

func (r *recorder) Configure(_ context.Context, c sdk.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inst = c.Instance()
	return c.Decode(&r.cfg)
}

func (r *recorder) Notify(_ context.Context, n *sdk.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return r.fail
}

func TestNotifierRoundTrip(t *testing.T) {
	r := &recorder{}
	c := sdktest.Notifier(t, r)
	if err := c.Configure(`name = "x"`); err != nil {
		t.Fatal(err)
	}
	if r.inst != "test" || r.cfg["name"] != "x" || r.cfg["count"] != float64(3) {
		t.Fatalf("config = %v %v", r.inst, r.cfg)
	}
	n := sdktest.Notification()
	if err := c.Notify(n); err != nil {
		t.Fatal(err)
	}
	got := r.got[0]
	if got.EventId != n.EventId || got.NewProbe.Status != 300 || got.Date != n.Date || got.HostProbesInError[0] != "load" {
		t.Fatalf("got %+v", got)
	}
	r.fail = errors.New("receiver down")
	var remote *sdk.RemoteError
	if err := c.Notify(n); !errors.As(err, &remote) || remote.Msg != "receiver down" {
		t.Fatalf("err = %v, want the plugin's error as *sdk.RemoteError", err)
	}
	if err := c.Configure(`nme = "x"`); err == nil || !strings.Contains(err.Error(), `test.hcl:1,1: Unsupported argument`) {
		t.Fatalf("err = %v", err)
	}
}

type output struct{ got []sdk.Metric }

func (*output) Schema() sdk.Schema                          { return sdk.Schema{} }
func (*output) Configure(context.Context, sdk.Config) error { return nil }
func (o *output) Write(_ context.Context, m []sdk.Metric) error {
	o.got = append(o.got, m...)
	return nil
}

func TestOutputRoundTrip(t *testing.T) {
	o := &output{}
	c := sdktest.Output(t, o)
	if err := c.Configure(``); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_700_000_000_123)
	in := []sdk.Metric{{Hostname: "h", Group: "g", Probe: "load", Value: 1.5, Tags: map[string]string{"cpu": "0"}, Time: at}}
	if err := c.Write(in); err != nil {
		t.Fatal(err)
	}
	if len(o.got) != 1 || o.got[0].Value != 1.5 || o.got[0].Tags["cpu"] != "0" || !o.got[0].Time.Equal(at) {
		t.Fatalf("got %+v", o.got)
	}
}

// transport ingests one document, reads the state and relays one change
// during Start, through the host callback service.
type transport struct {
	change chan []byte
	state  []byte
}

func (*transport) Schema() sdk.Schema                          { return sdk.Schema{} }
func (*transport) Configure(context.Context, sdk.Config) error { return nil }
func (tr *transport) Start(ctx context.Context, h sdk.Host) error {
	if err := h.Ingest(ctx, "10.0.0.2", []byte(`{"Hostname":"remote"}`)); err != nil {
		return err
	}
	var err error
	if tr.state, err = h.LocalState(ctx); err != nil {
		return err
	}
	// Subscriptions outlive Start, hence their own context.
	ch, err := h.Subscribe(context.Background())
	if err != nil {
		return err
	}
	go func() {
		for b := range ch {
			tr.change <- b
		}
	}()
	return nil
}
func (*transport) Stop(context.Context) error { return nil }

type host struct {
	mu       sync.Mutex
	ingested string
	changes  chan []byte
}

func (h *host) Ingest(_ context.Context, source string, doc []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ingested = source + " " + string(doc)
	return nil
}
func (*host) LocalState(context.Context) ([]byte, error) { return []byte(`{"Hostname":"local"}`), nil }
func (h *host) Subscribe(ctx context.Context) (<-chan []byte, error) {
	out := make(chan []byte)
	go func() {
		defer close(out)
		for {
			select {
			case b := <-h.changes:
				select {
				case out <- b:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func TestTransportHostCallbacks(t *testing.T) {
	tr := &transport{change: make(chan []byte, 1)}
	h := &host{changes: make(chan []byte, 1)}
	c := sdktest.Transport(t, tr)
	if err := c.Configure(``); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(h); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	ingested := h.ingested
	h.mu.Unlock()
	if ingested != `10.0.0.2 {"Hostname":"remote"}` || string(tr.state) != `{"Hostname":"local"}` {
		t.Fatalf("ingested %q, state %q", ingested, tr.state)
	}
	h.changes <- []byte(`{"probe":"load"}`)
	select {
	case b := <-tr.change:
		if string(b) != `{"probe":"load"}` {
			t.Fatalf("change = %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("change not relayed")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}

// bigTransport ingests one large document, the size of a master's GET /api
// with a thousand hosts.
type bigTransport struct{ doc []byte }

func (*bigTransport) Schema() sdk.Schema                          { return sdk.Schema{} }
func (*bigTransport) Configure(context.Context, sdk.Config) error { return nil }
func (b *bigTransport) Start(ctx context.Context, h sdk.Host) error {
	return h.Ingest(ctx, "master", b.doc)
}
func (*bigTransport) Stop(context.Context) error { return nil }

func TestTransportCarriesLargeDocuments(t *testing.T) {
	doc := []byte(`{"Hostname":"` + strings.Repeat("x", 9<<20) + `"}`)
	h := &host{changes: make(chan []byte)}
	c := sdktest.Transport(t, &bigTransport{doc: doc})
	if err := c.Configure(``); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(h); err != nil {
		t.Fatalf("a 9 MiB document did not cross: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ingested) != len("master ")+len(doc) {
		t.Fatalf("ingested %d bytes, want %d", len(h.ingested), len("master ")+len(doc))
	}
}

// eventTransport raises one event during Start through the host's optional
// EventHost interface, and keeps what the call returned.
type eventTransport struct{ err error }

func (*eventTransport) Schema() sdk.Schema                          { return sdk.Schema{} }
func (*eventTransport) Configure(context.Context, sdk.Config) error { return nil }
func (tr *eventTransport) Start(ctx context.Context, h sdk.Host) error {
	eh, ok := h.(sdk.EventHost)
	if !ok {
		return errors.New("plugin-side host does not implement sdk.EventHost")
	}
	tr.err = eh.Event(ctx, sdk.EventClientWaiting, "u-1", "web-1", "new push client waiting for approval")
	return nil
}
func (*eventTransport) Stop(context.Context) error { return nil }

// eventHost is a host that accepts events.
type eventHost struct {
	host
	got []string
}

func (h *eventHost) Event(_ context.Context, kind, hostUUID, host, message string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, kind, hostUUID, host, message)
	return nil
}

// A plugin's Event crosses gRPC to the host's EventHost; a host without
// one answers an error instead.
func TestTransportEventRoundTrip(t *testing.T) {
	tr := &eventTransport{}
	h := &eventHost{host: host{changes: make(chan []byte)}}
	c := sdktest.Transport(t, tr)
	if err := c.Configure(``); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(h); err != nil {
		t.Fatal(err)
	}
	if tr.err != nil {
		t.Fatalf("Event: %v", tr.err)
	}
	h.mu.Lock()
	got := strings.Join(h.got, "|")
	h.mu.Unlock()
	if want := "client_waiting|u-1|web-1|new push client waiting for approval"; got != want {
		t.Fatalf("host received %q, want %q", got, want)
	}

	tr2 := &eventTransport{}
	c2 := sdktest.Transport(t, tr2)
	if err := c2.Configure(``); err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(&host{changes: make(chan []byte)}); err != nil {
		t.Fatal(err)
	}
	if tr2.err == nil || !strings.Contains(tr2.err.Error(), "host does not accept events") {
		t.Fatalf("Event on a host without EventHost: %v", tr2.err)
	}
}
