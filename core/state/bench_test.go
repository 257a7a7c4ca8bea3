package state

import (
	"fmt"
	"testing"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// BenchmarkLocalProbeResult records one local result on a host that already
// has 1,000 probes: the state's share of a probe run.
func BenchmarkLocalProbeResult(b *testing.B) {
	bus := event.NewBus()
	sub := bus.Subscribe(event.SubscribeOptions{Kinds: []event.Kind{event.ProbeChanged}})
	defer sub.Close()
	s := New(Options{UUID: "u", Hostname: "h", Bus: bus})
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("p%04d", i)
		s.ProbeResult(&model.ProbeResult{Name: names[i], Status: 100, Timestamp: 1})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.ProbeResult(&model.ProbeResult{Name: names[i%1000], Status: 100, Timestamp: int64(i + 2)})
	}
}
