package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wigo-project/wigo/core/event"
)

// BenchmarkAppendBatch measures rows per second through the batching writer
// with the default batch size and synchronous=FULL, from a channel send to
// a committed row, on a real file in the benchmark's temp directory (so the
// figure depends on that filesystem's fsync).
func BenchmarkAppendBatch(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "wigo.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ch := make(chan event.Event, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunWriter(ctx, ch) }()

	e := event.Event{
		Kind: event.ProbeChanged, Time: base, Host: "bench-host-0001", Group: "bench",
		Probe: "check_disk", OldStatus: 100, NewStatus: 300,
		Message: "Probe check_disk switched from 100 to 300 : /var 97% used",
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch <- e
	}
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
