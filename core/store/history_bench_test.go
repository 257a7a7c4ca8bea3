package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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
// result (5 points), ns/point the writer's time per point stored.
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
			if on {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*5), "ns/point")
			}
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkHistoryQuery7d measures GET-sized reads: 7 days of one probe's
// metric at 5-minute steps (2,016 points from the rollups), from a file
// holding 7 days of a result a minute of 20 probes × 5 metrics (the raw
// points of the last 48 h, the rollups of the week), whose size it reports
// as db_bytes. The values are whole numbers (0 to 96).
func BenchmarkHistoryQuery7d(b *testing.B) {
	s, end := historyWeek(b, func(at time.Time, _, _ int) float64 { return float64(at.Unix() % 97) })
	t0 := end.Add(-7 * 24 * time.Hour)
	q := HistoryQuery{Host: "bench-host", Probe: "probe_07", From: t0, To: end, Step: 5 * time.Minute, Now: end}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		series, source, _, err := s.History(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		if source != SourceRollup || len(series) != 5 || len(series[0].Points) != 2016 {
			b.Fatalf("source %s, %d series of %d points; want 5m, 5 of 2016", source, len(series), len(series[0].Points))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(dbBytes(b, s)), "db_bytes")
}

// BenchmarkHistoryDiskDecimals reports db_bytes for the week of
// BenchmarkHistoryQuery7d with values of two decimals on a random walk
// (a load average, a percentage): values whose float64 uses its whole
// mantissa, the worst case of the packed blocks.
func BenchmarkHistoryDiskDecimals(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	walk := make([]float64, 100)
	s, _ := historyWeek(b, func(_ time.Time, p, m int) float64 {
		w := &walk[p*5+m]
		*w = math.Round((math.Abs(*w+rng.NormFloat64()*2))*100) / 100
		return *w
	})
	b.ReportMetric(float64(dbBytes(b, s)), "db_bytes")
}

// historyWeek fills a store with 7 days of a result a minute of 20 probes
// × 5 metrics, value giving each metric's value, maintained as the daemon
// would (every 6 h here), and returns it with the week's end.
func historyWeek(b *testing.B, value func(at time.Time, probe, metric int) float64) (*Store, time.Time) {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "wigo.db"), Options{History: HistoryOptions{Enabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ch := make(chan event.Event, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunWriter(ctx, ch) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	end := t0.Add(7 * 24 * time.Hour)
	for at := t0; at.Before(end); at = at.Add(time.Minute) {
		for p := range 20 {
			var ms []model.Metric
			for m := range 5 {
				ms = append(ms, model.Metric{Tags: map[string]string{"metric": fmt.Sprintf("m%d", m)}, Value: value(at, p, m)})
			}
			name := fmt.Sprintf("probe_%02d", p)
			ch <- event.Event{Kind: event.ProbeUpdated, Time: at, Host: "bench-host", Probe: name, New: &model.ProbeResult{Name: name, Metrics: ms}}
		}
		if at.Minute() == 0 && at.Hour()%6 == 0 {
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			if err := s.MaintainHistory(ctx, at); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.MaintainHistory(ctx, end.Add(2*time.Minute)); err != nil {
		b.Fatal(err)
	}
	return s, end
}

// dbBytes is the size of s's file in pages: page count × page size.
func dbBytes(b *testing.B, s *Store) int64 {
	b.Helper()
	var pages, pageSize int64
	if err := s.r.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		b.Fatal(err)
	}
	if err := s.r.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	return pages * pageSize
}
