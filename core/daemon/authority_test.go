package daemon

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/sdk"
)

func TestPushAuthoritySelection(t *testing.T) {
	m := plugin.NewManager(plugin.Options{})
	defer m.Stop()
	for _, c := range []struct {
		src  string
		want string // instance, "" for nil
	}{
		{``, ""},
		{"transport \"push\" {\n client {\n address = \"m\"\n }\n}", ""},
		{`transport "pull" { check_interval = 10 }`, ""},
		{"transport \"up\" {\n plugin = \"transport-push\"\n client {\n address = \"m\"\n }\n}\ntransport \"push\" {\n server {\n }\n}\ntransport \"second\" {\n plugin = \"transport-push\"\n server {\n }\n}", "push"},
	} {
		cfg, diags := config.Parse(config.Source{Name: "t.hcl", Src: []byte(c.src)})
		if diags.HasErrors() {
			t.Fatalf("%s: %s", c.src, config.FormatDiagnostics(diags))
		}
		a := pushAuthority(m, cfg)
		got := ""
		if a != nil {
			got = a.(*authority).instance
		}
		if got != c.want {
			t.Errorf("%q: authority of %q, want %q", c.src, got, c.want)
		}
	}
	if pushAuthority(nil, nil) != nil {
		t.Error("authority without a manager")
	}
	err := apiError(fmt.Errorf("transport %q: %w", "push", sdk.ErrUnknownClient))
	if !errors.Is(err, api.ErrUnknownClient) {
		t.Errorf("unknown client not mapped: %v", err)
	}
}
