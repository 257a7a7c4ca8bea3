package store

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// historyWriter runs the batching writer of s on a channel until the test
// ends and returns the channel.
func historyWriter(t *testing.T, s *Store) chan<- event.Event {
	t.Helper()
	ch := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunWriter(ctx, ch) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	})
	return ch
}

// result is a probe_updated event of host/probe at at with metrics.
func result(host, probe string, remote bool, at time.Time, metrics ...model.Metric) event.Event {
	return event.Event{Kind: event.ProbeUpdated, Time: at, Host: host, Probe: probe, Remote: remote,
		NewStatus: 100, OldStatus: 100, New: &model.ProbeResult{Name: probe, Status: 100, Metrics: metrics}}
}

func flush(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func maintain(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	if err := s.MaintainHistory(context.Background(), now); err != nil {
		t.Fatal(err)
	}
}

// Points in, buckets out: each 5-minute bucket's min, max, average, count
// and last are those of the values sent in it, computed here directly;
// NaN and ±Inf are gaps, not numbers; the query at a 5-minute step answers
// the same.
func TestHistoryRollupsMatchADirectComputation(t *testing.T) {
	forEachBackendOptions(t, Options{History: HistoryOptions{Enabled: true}}, func(t *testing.T, s *Store) {
		ch := historyWriter(t, s)
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		rng := rand.New(rand.NewPCG(1, 2))
		type agg struct {
			min, max, sum, last float64
			count               int64
		}
		want := map[string]map[int64]*agg{"/": {}, "/var": {}}
		for i := range 2 * 60 * 6 { // two hours, a result every 10 s
			at := t0.Add(time.Duration(i) * 10 * time.Second)
			var ms []model.Metric
			for _, mount := range []string{"/", "/var"} {
				v := rng.Float64() * 100
				switch i % 17 {
				case 3:
					v = math.NaN()
				case 9:
					v = math.Inf(1 - 2*(i%2))
				}
				ms = append(ms, model.Metric{Tags: map[string]string{"mount": mount}, Value: v})
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				b := at.Truncate(5 * time.Minute).UnixMilli()
				a := want[mount][b]
				if a == nil {
					a = &agg{min: v, max: v}
					want[mount][b] = a
				}
				a.min, a.max, a.sum, a.last, a.count = min(a.min, v), max(a.max, v), a.sum+v, v, a.count+1
			}
			ch <- result("web-1", "disk", false, at, ms...)
		}
		flush(t, s)
		now := t0.Add(2*time.Hour + 2*time.Minute)
		maintain(t, s, now)

		if got, wantRows := len(storedBuckets(t, s)), 2*24; got != wantRows {
			t.Fatalf("history_5m has %d rows, want %d (2 series × 24 buckets)", got, wantRows)
		}
		var gaps int
		for _, p := range storedPoints(t, s) {
			if math.IsNaN(p.v) {
				gaps++
			}
		}
		if gaps == 0 {
			t.Error("no NaN or ±Inf stored as a gap")
		}
		series, source, step, err := s.History(context.Background(), HistoryQuery{Host: "web-1", Probe: "disk",
			From: t0, To: t0.Add(2 * time.Hour), Step: 5 * time.Minute, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if source != SourceRollup || step != 5*time.Minute || len(series) != 2 {
			t.Fatalf("History: source %s, step %s, %d series; want 5m, 5m0s, 2", source, step, len(series))
		}
		for _, sr := range series {
			w := want[sr.Tags["mount"]]
			if len(sr.Points) != len(w) {
				t.Fatalf("%v: %d points, want %d", sr.Tags, len(sr.Points), len(w))
			}
			for _, p := range sr.Points {
				a := w[p.T.UnixMilli()]
				if a == nil {
					t.Fatalf("%v: unexpected bucket %s", sr.Tags, p.T)
				}
				if p.Min != a.min || p.Max != a.max || p.Count != a.count || p.Last != a.last || math.Abs(p.Avg-a.sum/float64(a.count)) > 1e-9 {
					t.Errorf("%v %s: got min %v max %v avg %v count %d last %v, want %v %v %v %d %v", sr.Tags, p.T,
						p.Min, p.Max, p.Avg, p.Count, p.Last, a.min, a.max, a.sum/float64(a.count), a.count, a.last)
				}
			}
		}

		// The raw query at a 1-minute step folds the same values.
		raw, source, _, err := s.History(context.Background(), HistoryQuery{Host: "web-1", Probe: "disk",
			From: t0, To: t0.Add(10 * time.Minute), Step: time.Minute, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if source != SourceRaw || len(raw) != 2 || len(raw[0].Points) != 10 {
			t.Fatalf("raw History: source %s, %d series; want raw, 2 series of 10 points", source, len(raw))
		}
	})
}

// A point that arrives after its bucket was rolled up is merged into it.
func TestHistoryLatePointJoinsItsBucket(t *testing.T) {
	forEachBackendOptions(t, Options{History: HistoryOptions{Enabled: true}}, func(t *testing.T, s *Store) {
		ch := historyWriter(t, s)
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		m := func(v float64) model.Metric { return model.Metric{Value: v} }
		ch <- result("web-1", "load", false, t0.Add(time.Minute), m(2))
		flush(t, s)
		maintain(t, s, t0.Add(10*time.Minute))
		ch <- result("web-1", "load", false, t0.Add(2*time.Minute), m(4))
		flush(t, s)
		bs := storedBuckets(t, s)
		if len(bs) != 1 {
			t.Fatalf("%d buckets, want 1", len(bs))
		}
		lo, hi, sum, count := bs[0].min, bs[0].max, bs[0].sum, bs[0].count
		if lo != 2 || hi != 4 || sum != 6 || count != 2 {
			t.Errorf("bucket min %v max %v sum %v count %d, want 2 4 6 2", lo, hi, sum, count)
		}
	})
}

// Remote hosts' metrics are kept only with RemoteHosts; with history off,
// none are.
func TestHistoryKeepsRemoteHostsOnlyWhenAsked(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		opts HistoryOptions
		want int
	}{
		{HistoryOptions{}, 0},
		{HistoryOptions{Enabled: true}, 1},
		{HistoryOptions{Enabled: true, RemoteHosts: true}, 2},
	} {
		s := OpenTestOptions(t, Options{History: c.opts})
		ch := historyWriter(t, s)
		ch <- result("local", "load", false, t0, model.Metric{Value: 1})
		ch <- result("remote", "load", true, t0, model.Metric{Value: 1})
		flush(t, s)
		if got := len(storedPoints(t, s)); got != c.want {
			t.Errorf("%+v: %d points kept, want %d", c.opts, got, c.want)
		}
	}
}

// Raw points go after the raw retention, buckets after the retention,
// series with neither after both; the file's size stops growing once
// retention deletes as much as comes in.
func TestHistoryRetentionKeepsTheFileSizeStable(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates weeks of points")
	}
	const (
		rawRetention = 48 * time.Hour
		retention    = 10 * 24 * time.Hour
		days         = 30
		every        = 2 * time.Minute
	)
	s := OpenTestOptions(t, Options{History: HistoryOptions{Enabled: true, RawRetention: rawRetention, Retention: retention}})
	ch := historyWriter(t, s)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	size := func() int64 {
		var total int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(s.Path() + suffix); err == nil {
				total += fi.Size()
			}
		}
		return total
	}
	sizes := map[int]int64{}
	now := t0
	for day := 1; day <= days; day++ {
		for end := now.Add(24 * time.Hour); now.Before(end); now = now.Add(every) {
			var ms []model.Metric
			for _, cpu := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"} {
				ms = append(ms, model.Metric{Tags: map[string]string{"cpu": cpu}, Value: float64(now.Unix() % 100)})
			}
			ch <- result("web-1", "cpu", false, now, ms...)
			if now.Minute() == 0 {
				flush(t, s)
				maintain(t, s, now)
			}
		}
		flush(t, s)
		maintain(t, s, now)
		sizes[day] = size()
		// A day of the probe on a host that is then gone for good.
		if day == 1 {
			ch <- result("gone", "cpu", false, now, model.Metric{Value: 1})
		}
	}
	oldestRaw, oldestBucket := int64(math.MaxInt64), int64(math.MaxInt64)
	for _, p := range storedPoints(t, s) {
		oldestRaw = min(oldestRaw, p.t)
	}
	for _, b := range storedBuckets(t, s) {
		oldestBucket = min(oldestBucket, b.t)
	}
	if got := now.Sub(time.UnixMilli(oldestRaw)); got > rawRetention {
		t.Errorf("oldest raw point is %s old, raw retention is %s", got, rawRetention)
	}
	if got := now.Sub(time.UnixMilli(oldestBucket)); got > retention || got < retention-time.Hour {
		t.Errorf("oldest bucket is %s old, retention is %s", got, retention)
	}
	var gone int
	if err := s.r.QueryRow("SELECT count(*) FROM history_series WHERE host = 'gone'").Scan(&gone); err != nil {
		t.Fatal(err)
	}
	if gone != 0 {
		t.Error("the series of a host gone past the retention is still there")
	}
	// The host comes back: its point gets a series again, not the id the
	// writer once knew.
	ch <- result("gone", "cpu", false, now, model.Metric{Value: 2})
	flush(t, s)
	var goneID int64
	if err := s.r.QueryRow("SELECT id FROM history_series WHERE host = 'gone'").Scan(&goneID); err != nil {
		t.Fatal(err)
	}
	gone = 0
	for _, p := range storedPoints(t, s) {
		if p.series == goneID {
			gone++
		}
	}
	if gone != 1 {
		t.Errorf("%d points of the host back, want 1 in a series of its own", gone)
	}
	t.Logf("file size by day: 5:%d 10:%d 15:%d 20:%d 25:%d 30:%d", sizes[5], sizes[10], sizes[15], sizes[20], sizes[25], sizes[30])
	// Steady state from the retention on: day 30 is no bigger than day 15
	// plus a tenth (pages freed by deletion are reused).
	if sizes[30] > sizes[15]+sizes[15]/10 {
		t.Errorf("file grew from %d bytes on day 15 to %d on day 30", sizes[15], sizes[30])
	}
	if sizes[15] <= sizes[2] {
		t.Errorf("file on day 15 (%d bytes) no bigger than on day 2 (%d): did anything get stored?", sizes[15], sizes[2])
	}
}

// kindsSeen is an Outbox that records the kinds of the events it is given.
type kindsSeen struct{ kinds []event.Kind }

func (o *kindsSeen) Prepare(events []event.Event) ([]OutboxEntry, error) {
	for _, e := range events {
		o.kinds = append(o.kinds, e.Kind)
	}
	return nil, nil
}

func (o *kindsSeen) Committed([]OutboxEntry) {}

// With an outbox, the results that come for their metrics only are kept
// in the history and never reach the notifications.
func TestHistoryResultsAreNoNotifiersBusiness(t *testing.T) {
	forEachBackendOptions(t, Options{History: HistoryOptions{Enabled: true}}, func(t *testing.T, s *Store) {
		o := &kindsSeen{}
		s.SetOutbox(o)
		ch := historyWriter(t, s)
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		ch <- result("web-1", "load", false, t0, model.Metric{Value: 1})
		changed := result("web-1", "load", false, t0.Add(time.Second), model.Metric{Value: 2})
		changed.Kind, changed.NewStatus = event.ProbeChanged, 300
		ch <- changed
		flush(t, s)
		if len(o.kinds) != 1 || o.kinds[0] != event.ProbeChanged {
			t.Errorf("the outbox was given %v, want only the probe_changed", o.kinds)
		}
		if got := len(storedPoints(t, s)); got != 2 {
			t.Errorf("%d points kept, want 2", got)
		}
	})
}

// storedPoints is every raw point s holds, packed in blocks or not, by
// series and time: what a query can read, however it is stored.
func storedPoints(t *testing.T, s *Store) []rawPoint {
	t.Helper()
	var out []rawPoint
	for _, id := range seriesIDs(t, s) {
		ps, err := seriesRaw(context.Background(), s.r, id, 0, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ps...)
	}
	return out
}

// storedBuckets is every 5-minute bucket s holds, packed or not, a late
// row folded into its bucket, by series and time.
func storedBuckets(t *testing.T, s *Store) []bucketRow {
	t.Helper()
	var out []bucketRow
	for _, id := range seriesIDs(t, s) {
		bs, err := seriesBuckets(context.Background(), s.r, id, 0, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bs...)
	}
	return out
}

func seriesIDs(t *testing.T, s *Store) []int64 {
	t.Helper()
	rows, err := s.r.Query("SELECT id FROM history_series ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
