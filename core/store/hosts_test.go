package store

import (
	"context"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// writeEvents runs the batching writer over events and waits for them to
// be committed.
func writeEvents(t *testing.T, s *Store, events ...event.Event) {
	t.Helper()
	ch := make(chan event.Event, len(events))
	for _, e := range events {
		ch <- e
	}
	close(ch)
	if err := s.RunWriter(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
}

// The writer records hosts and last probe statuses from the events it logs;
// Hosts reads them back, a removal forgets a host and its probes, a probe
// row that no longer decodes comes back with its status, and last_heard
// only ever moves forward.
func TestHostRecord(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		at := base
		facts := event.HostFacts{Version: "0.9", Parent: "relay-uuid", Origin: "relay-uuid", Source: "10.0.0.9:4000", Alive: true, Heard: at}
		crit := &model.ProbeResult{Name: "disk", Status: 300, Message: "97%", Timestamp: at.Unix()}
		writeEvents(t, s,
			event.Event{Kind: event.HostAppeared, Time: at, HostUUID: "h1", Host: "web-1", Group: "web", Remote: true, Facts: facts},
			event.Event{Kind: event.ProbeAppeared, Time: at, HostUUID: "h1", Host: "web-1", Group: "web", Probe: "load", NewStatus: 100,
				New: &model.ProbeResult{Name: "load", Status: 100}, Remote: true, Facts: facts},
			event.Event{Kind: event.ProbeChanged, Time: at, HostUUID: "h1", Host: "web-1", Group: "web", Probe: "disk", OldStatus: 100, NewStatus: 300,
				New: crit, Remote: true, Facts: facts},
			event.Event{Kind: event.HostAppeared, Time: at, HostUUID: "h2", Host: "web-2", Remote: true, Facts: facts},
			event.Event{Kind: event.ProbeAppeared, Time: at, HostUUID: "h2", Host: "web-2", Probe: "load", NewStatus: 100,
				New: &model.ProbeResult{Name: "load", Status: 100}, Remote: true, Facts: facts},
		)
		down := facts
		down.Alive = false
		writeEvents(t, s,
			event.Event{Kind: event.HostDown, Time: at.Add(time.Minute), HostUUID: "h1", Host: "web-1", Group: "web", Remote: true, Facts: down},
			event.Event{Kind: event.HostRemoved, Time: at.Add(time.Minute), HostUUID: "h2", Host: "web-2", Remote: true, Facts: facts},
		)
		if _, err := s.w.Exec("UPDATE host_probes SET result = '{broken' WHERE name = 'load'"); err != nil {
			t.Fatal(err)
		}
		later := at.Add(2 * time.Minute)
		if err := s.SaveLastHeard(context.Background(), map[string]time.Time{"h1": later, "gone": later}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveLastHeard(context.Background(), map[string]time.Time{"h1": at}); err != nil {
			t.Fatal(err)
		}

		hosts, err := s.Hosts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(hosts) != 1 {
			t.Fatalf("hosts = %+v, want web-1 only", hosts)
		}
		h := hosts[0]
		if h.UUID != "h1" || h.Name != "web-1" || h.Group != "web" || h.Version != "0.9" || h.Parent != "relay-uuid" ||
			h.Origin != "relay-uuid" || h.Source != "10.0.0.9:4000" || !h.Remote || h.Alive || !h.LastHeard.Equal(later) {
			t.Errorf("web-1 = %+v", h)
		}
		if p := h.Probes["disk"]; p == nil || p.Status != 300 || p.Message != "97%" {
			t.Errorf("disk = %+v", p)
		}
		if p := h.Probes["load"]; p == nil || p.Status != 100 || p.Message == "" {
			t.Errorf("unreadable load row = %+v, want its status and a message saying so", p)
		}
	})
}
