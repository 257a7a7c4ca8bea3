package daemon

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/plugin"
	"github.com/wigo-project/wigo/sdk"
)

// TestPushAuthoritySelection: without a transport declaring the authority
// capability the API is told there is no push server (503, not 502); the
// plugin's answers keep their meaning. Which instance declares it is
// core/plugin's TestAuthorityThroughTheManager.
func TestPushAuthoritySelection(t *testing.T) {
	if pushAuthority(nil) != nil {
		t.Error("authority without a manager")
	}
	m := plugin.NewManager(plugin.Options{})
	defer m.Stop()
	a := pushAuthority(m)
	if _, _, err := a.List(context.Background()); !errors.Is(err, api.ErrNoPushServer) {
		t.Errorf("list without a push server = %v, want api.ErrNoPushServer", err)
	}
	if err := a.Allow(context.Background(), "x"); !errors.Is(err, api.ErrNoPushServer) {
		t.Errorf("allow without a push server = %v, want api.ErrNoPushServer", err)
	}
	err := apiError(fmt.Errorf("transport %q: %w", "push", sdk.ErrUnknownClient))
	if !errors.Is(err, api.ErrUnknownClient) {
		t.Errorf("unknown client not mapped: %v", err)
	}
}
