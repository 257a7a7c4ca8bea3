package sdk

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// closingOutput holds points until Close, reports a capability that
// depends on its config, and leaves unflushed what its limit says.
type closingOutput struct {
	held, limit int
	closed      bool
	configured  bool
}

func (*closingOutput) Schema() Schema                               { return Schema{} }
func (o *closingOutput) Configure(context.Context, Config) error    { o.configured = true; return nil }
func (o *closingOutput) Write(_ context.Context, ms []Metric) error { o.held += len(ms); return nil }
func (o *closingOutput) Capabilities() []string {
	if o.configured {
		return []string{CapBuffering}
	}
	return nil
}

func (o *closingOutput) Close(context.Context) error {
	o.closed = true
	if o.held > o.limit {
		return &UnflushedError{N: o.held - o.limit, Err: errors.New("receiver down")}
	}
	return nil
}

func dispenseTest(t *testing.T, kind string, p plugin.Plugin) any {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{kind: p})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(kind)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestBaseInfoAndClose: Info carries the static capabilities and those
// the configured plugin reports; Close reaches the plugin's Closer and
// brings what it could not flush back as a count.
func TestBaseInfoAndClose(t *testing.T) {
	impl := &closingOutput{limit: 1}
	c := dispenseTest(t, KindOutput, &OutputPlugin{Impl: impl,
		Info: PluginInfo{Name: "output-test", Version: "1", Capabilities: []string{"custom"}}}).(*OutputClient)
	ctx := context.Background()
	info, err := c.Info(ctx)
	if err != nil || info.Name != "output-test" || info.Kind != KindOutput || !slices.Equal(info.Capabilities, []string{"custom"}) {
		t.Fatalf("info before Configure = %+v, %v", info, err)
	}
	if si, _, err := c.Schema(ctx); err != nil || !si.Has("custom") {
		t.Fatalf("schema info = %+v, %v: the static capabilities come with it", si, err)
	}
	if err := c.Configure(ctx, "o", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if info, err = c.Info(ctx); err != nil || !info.Has(CapBuffering) || !info.Has("custom") {
		t.Fatalf("info after Configure = %+v, %v", info, err)
	}
	if err := c.Write(ctx, make([]Metric, 3)); err != nil {
		t.Fatal(err)
	}
	err = c.Close(ctx)
	var u *UnflushedError
	if !errors.As(err, &u) || u.N != 2 || !impl.closed {
		t.Fatalf("close = %v (%T), closed %v; want 2 unflushed", err, err, impl.closed)
	}
	impl.held = 0
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close with nothing held = %v", err)
	}
}

// notifierOnly serves the notifier service alone, as a plugin built before
// the Base service (or written in another language without it) does.
type notifierOnly struct {
	plugin.NetRPCUnsupportedPlugin
}

func (notifierOnly) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterNotifierServer(s, &notifierServer{impl: &closingNotifier{}, info: PluginInfo{Name: "old"}})
	return nil
}

func (notifierOnly) GRPCClient(ctx context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return (&NotifierPlugin{}).GRPCClient(ctx, b, c)
}

type closingNotifier struct{}

func (closingNotifier) Schema() Schema                              { return Schema{} }
func (closingNotifier) Configure(context.Context, Config) error     { return nil }
func (closingNotifier) Notify(context.Context, *Notification) error { return nil }

// TestPluginWithoutBase: a plugin that does not serve Base declares no
// capabilities (ErrNoBase) and has nothing to flush; its kind's calls work.
func TestPluginWithoutBase(t *testing.T) {
	c := dispenseTest(t, KindNotifier, notifierOnly{}).(*NotifierClient)
	ctx := context.Background()
	if info, err := c.Info(ctx); !errors.Is(err, ErrNoBase) || len(info.Capabilities) != 0 {
		t.Fatalf("info = %+v, %v; want ErrNoBase", info, err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close = %v; want nil", err)
	}
	if err := c.Notify(ctx, &Notification{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
}
