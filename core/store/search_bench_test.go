package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// BenchmarkSearchLog measures a page of GET /api/logs (50 rows, newest
// first) over a log of 100,000 rows (WIGO_BENCH_LOG_ROWS to change it):
// 2,000 hosts of 20 probes switching status, one row among them with a
// message found nowhere else. Each case
// is one Search call on the store's read pool, from SQL to decoded rows.
// "like" is the same rare-message search done with LIKE '%…%', the scan
// the FTS index replaces, for comparison.
func BenchmarkSearchLog(b *testing.B) {
	rows := 100_000
	if n, err := strconv.Atoi(os.Getenv("WIGO_BENCH_LOG_ROWS")); err == nil && n >= 1000 {
		rows = n
	}
	ctx := context.Background()
	s := openBench(b)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]model.LogEntry, 0, 5000)
	for i := 0; i < rows; i++ {
		// 1 % CRITICAL, the rest WARNING and NOTICE, as a fleet's log is.
		level, status := model.LogWarning, 200
		switch {
		case i%100 == 7:
			level, status = model.LogCritical, 300
		case i%2 == 0:
			level, status = model.LogNotice, 100
		}
		e := model.LogEntry{Timestamp: t0.Add(time.Duration(i) * time.Second).Unix(), Level: level, Group: fmt.Sprintf("grp-%02d", i%10),
			Host: fmt.Sprintf("loadgen-%06d", i%2000), Probe: fmt.Sprintf("check_%02d", i%20),
			Message: fmt.Sprintf("Probe check_%02d switched from 100 to %d : /var %d%% used, %d inodes free", i%20, status, 50+i%50, 1000+i%7919)}
		if i == rows/2 {
			e.Message = "Probe check_03 switched from 100 to 500 : kernel: oom-killer invoked on pid 4242"
		}
		batch = append(batch, e)
		if len(batch) == cap(batch) {
			if err := s.Append(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for _, c := range []struct {
		name string
		q    Query
		want int
	}{
		{"text-rare", Query{Text: "oom-killer", Limit: 50}, 1},
		{"text-host", Query{Text: "loadgen-001234", Limit: 50}, 50},
		{"text-common", Query{Text: "switched", Limit: 50}, 50},
		{"text-two-words", Query{Text: "check_07 inodes", Limit: 50}, 50},
		{"text-host-and-probe", Query{Text: "loadgen-001234", Probe: "check_14", Limit: 50}, 50},
		{"text-and-level", Query{Text: "check_07", Levels: []int{model.LogCritical}, Limit: 50}, 50},
		{"level-crit-exact", Query{Levels: []int{model.LogCritical}, Limit: 50}, 50},
		{"level-warn-at-least", Query{Levels: []int{model.LogWarning, model.LogCritical, model.LogError, model.LogEmergency}, Limit: 50}, 50},
		{"none", Query{Limit: 50}, 50},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				got, err := s.Search(ctx, c.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != c.want {
					b.Fatalf("%d rows, want %d", len(got), c.want)
				}
			}
		})
	}
	b.Run("like", func(b *testing.B) {
		for b.Loop() {
			var n int
			r, err := s.r.QueryContext(ctx, `SELECT date, level, grp, host, probe, message, held FROM logs
				WHERE message LIKE ? OR host LIKE ? OR probe LIKE ? ORDER BY date DESC, id DESC LIMIT 50`, "%oom-killer%", "%oom-killer%", "%oom-killer%")
			if err != nil {
				b.Fatal(err)
			}
			for r.Next() {
				n++
			}
			r.Close()
			if n != 1 {
				b.Fatalf("%d rows, want 1", n)
			}
		}
	})
}
