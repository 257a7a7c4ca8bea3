package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

// openBench opens the benchmark's store: an SQLite file in its temp
// directory, or with WIGO_BENCH_STORE=postgres a fresh database of the
// test PostgreSQL server (pgtest), for the same figures on both backends.
func openBench(b *testing.B) *Store {
	b.Helper()
	if os.Getenv("WIGO_BENCH_STORE") == "postgres" {
		return openTestPostgres(b, pgtest.DSN(b), Options{})
	}
	s, err := Open(filepath.Join(b.TempDir(), "wigo.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppendBatch measures rows per second through the batching writer
// with the default batch size and synchronous=FULL, from a channel send to
// a committed row, on a real file in the benchmark's temp directory (so the
// figure depends on that filesystem's fsync).
func BenchmarkAppendBatch(b *testing.B) {
	s := openBench(b)
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

// BenchmarkAppendBatchFleet is AppendBatch with the events a master sees
// at 2,000 hosts of 20 probes: each probe_changed names its host's UUID and
// carries the new result, so the writer also records the host and the
// probe's last status (what a restart restores) in the same transactions.
func BenchmarkAppendBatchFleet(b *testing.B) {
	s := openBench(b)
	ch := make(chan event.Event, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunWriter(ctx, ch) }()

	const hosts, probes = 2000, 20
	events := make([]event.Event, hosts*probes)
	for i := range events {
		h, p := i%hosts, i/hosts
		name := fmt.Sprintf("check_%02d", p)
		events[i] = event.Event{
			Kind: event.ProbeChanged, Time: base, HostUUID: fmt.Sprintf("7d1c5a4e-0000-4000-8000-%012d", h),
			Host: fmt.Sprintf("bench-host-%04d", h), Group: "bench", Probe: name, OldStatus: 100, NewStatus: 300,
			New: &model.ProbeResult{Name: name, Status: 300, Message: "/var 97% used", Timestamp: base.Unix(),
				Detail: json.RawMessage(`{"used":97,"mount":"/var"}`)},
			Remote:  true,
			Message: "Probe " + name + " switched from 100 to 300 : /var 97% used",
		}
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch <- events[i%len(events)]
	}
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	// CPU of the whole process (sender, writer, SQLite) per event: the
	// cost a master pays, which wall time per row hides behind fsync.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the user and system CPU this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
