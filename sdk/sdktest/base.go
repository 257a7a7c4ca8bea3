package sdktest

import (
	"context"
	"testing"
	"time"

	"github.com/wigo-project/wigo/sdk"
)

// CloseTimeout is the deadline Close gives the plugin: the host's.
var CloseTimeout = 5 * time.Second

// baseClient is the host side of the Base service every kind's client has.
type baseClient interface {
	Info(ctx context.Context) (sdk.PluginInfo, error)
	Close(ctx context.Context) error
}

// base gives each harness client the Base service's calls.
type base struct {
	t testing.TB
	c baseClient
}

// Info returns what the plugin declares as configured now: name, version,
// kind and capabilities (the host asks after each Configure).
func (b base) Info() sdk.PluginInfo {
	b.t.Helper()
	ctx, cancel := newCtx()
	defer cancel()
	info, err := b.c.Info(ctx)
	if err != nil {
		b.t.Fatalf("info: %v", err)
	}
	return info
}

// Close closes the plugin as the host does before stopping it, with the
// host's deadline, and returns its answer (an *sdk.UnflushedError for
// what it could not flush).
func (b base) Close() error {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
	defer cancel()
	return b.c.Close(ctx)
}
