package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// BenchmarkHistoryWrite measures the batching writer's cost per metric
// point: probe results of 20 probes × 5 metrics on one host, sent to the
// writer and committed (Flush at the end), with the history on and, for
// comparison on the same machine in the same run, off. ns/op is per
// result (5 points); the points/s metric is the throughput.
func BenchmarkHistoryWrite(b *testing.B) {
	for _, on := range []bool{true, false} {
		b.Run(fmt.Sprintf("history=%t", on), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "wigo.db"), Options{History: HistoryOptions{Enabled: on}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ch := make(chan event.Event, 1024)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.RunWriter(ctx, ch) }()
			events := make([]event.Event, 20)
			for p := range events {
				var ms []model.Metric
				for m := range 5 {
					ms = append(ms, model.Metric{Tags: map[string]string{"metric": fmt.Sprintf("m%d", m)}, Value: float64(m)})
				}
				name := fmt.Sprintf("probe_%02d", p)
				events[p] = event.Event{Kind: event.ProbeUpdated, Host: "bench-host", Probe: name,
					New: &model.ProbeResult{Name: name, Metrics: ms}}
			}
			t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e := events[i%len(events)]
				e.Time = t0.Add(time.Duration(i/len(events)) * time.Second)
				ch <- e
			}
			if err := s.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*5)/b.Elapsed().Seconds(), "points/s")
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
