// Command transport-echo is a test transport: on Start it ingests a
// greeting, then ingests back every change the core publishes.
package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/wigo-project/wigo/sdk"
)

func main() { sdk.ServeTransport(&echo{}) }

type echo struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	name   string
}

func (*echo) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{{Name: "name", Type: sdk.TypeString, Required: true}}}
}

func (e *echo) Configure(_ context.Context, c sdk.Config) error {
	var cfg struct {
		Name string `json:"name"`
	}
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	e.name = cfg.Name
	return nil
}

func (e *echo) Start(ctx context.Context, h sdk.Host) error {
	state, err := h.LocalState(ctx)
	if err != nil {
		return err
	}
	if err := h.Ingest(ctx, e.name, []byte(fmt.Sprintf(`{"hello":%s}`, state))); err != nil {
		return err
	}
	run, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	e.cancel = cancel
	e.mu.Unlock()
	changes, err := h.Subscribe(run)
	if err != nil {
		return err
	}
	go func() {
		for c := range changes {
			if err := h.Ingest(run, e.name, append([]byte(`{"echo":`), append(c, '}')...)); err != nil {
				sdk.Logger().Error("echo failed", "error", err)
			}
		}
	}()
	return nil
}

func (e *echo) Stop(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel != nil {
		e.cancel()
	}
	return nil
}
