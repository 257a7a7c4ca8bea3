package plugin

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk"
)

// BenchmarkNotifyHTTP measures one notification through the plugin hop:
// manager → gRPC (mTLS) → the real notify-http process → POST to a local
// sink, answered 200.
func BenchmarkNotifyHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
	}))
	defer srv.Close()
	cfg, diags := config.Parse(config.Source{Name: "bench.hcl", Src: []byte(fmt.Sprintf(
		"plugins_dir = %q\nnotify \"http\" {\n  url = %q\n}\n", pluginsDir, srv.URL))})
	if diags.HasErrors() {
		b.Fatal(config.FormatDiagnostics(diags))
	}
	m := NewManager(Options{Dir: pluginsDir, Logger: hclog.NewNullLogger()})
	defer m.Stop()
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		b.Fatal(config.FormatDiagnostics(diags))
	}
	n := &sdk.Notification{Type: sdk.TypeProbe, Hostname: "web1", Message: "Probe load switched from 100 to 300 on host web1",
		EventId: "1", Kind: "probe_changed", OldStatus: 100, NewStatus: 300, OldLevel: "OK", NewLevel: "CRIT"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Notify(context.Background(), "http", n); err != nil {
			b.Fatal(err)
		}
	}
}
