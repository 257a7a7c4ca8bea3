// Command transport-echo is a test transport: on Start it ingests a
// greeting, then ingests back every change the core publishes. Its probe
// control answers what it was asked for its own source (its name); the
// probe "wait" is held, after ingesting {"waiting":true}, until the probe
// "release" is asked.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/wigo-project/wigo/sdk"
)

func main() { sdk.ServeTransport(&echo{release: make(chan struct{})}) }

type echo struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	name    string
	host    sdk.Host
	release chan struct{}
	once    sync.Once
}

func (e *echo) Control(ctx context.Context, req sdk.ControlRequest) ([]byte, error) {
	e.mu.Lock()
	name, h := e.name, e.host
	e.mu.Unlock()
	if req.Source != name {
		return nil, sdk.ControlErrorf(sdk.ControlNotMine, "%s is not %s", req.Source, name)
	}
	switch req.Probe {
	case "wait":
		if err := h.Ingest(ctx, name, []byte(`{"waiting":true}`)); err != nil {
			return nil, err
		}
		select {
		case <-e.release:
		case <-ctx.Done():
			return nil, sdk.ControlErrorf(sdk.ControlTimeout, "not released")
		}
	case "release":
		e.once.Do(func() { close(e.release) })
	}
	return json.Marshal(map[string]string{"host": req.Host, "probe": req.Probe, "action": req.Action.String(), "by": req.By})
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
	e.cancel, e.host = cancel, h
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
