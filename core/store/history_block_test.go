package store

import (
	"context"
	"database/sql"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// Packed points and buckets decode to exactly what went in: every bit of
// each float64 (negative zero, subnormals, extremes, whole numbers near
// and past 2^53), gaps, irregular and repeated times.
func TestHistoryBlocksRoundTripExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	start := blockStart(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixMilli())
	specials := []float64{0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64, 1e-300, 42, 42, math.NaN()}
	var points []rawPoint
	at := start
	for i := range 500 {
		v := rng.NormFloat64() * 1e6
		if i < len(specials) {
			v = specials[i]
		} else if i%7 == 0 {
			v = math.NaN()
		} else if i%3 == 0 {
			v = float64(rng.IntN(300) - 150) // whole numbers, small and large steps
		} else if i%5 == 0 {
			v = float64(rng.Int64N(1<<55) - 1<<54) // past the exact whole numbers too
		}
		points = append(points, rawPoint{series: 9, t: at, v: v})
		at += int64(rng.IntN(3)) * int64(rng.IntN(9000)) // repeats, jumps
	}
	got, err := decodePoints(nil, 9, start, encodePoints(start, points))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(points) {
		t.Fatalf("%d points decoded, want %d", len(got), len(points))
	}
	for i := range points {
		if got[i].t != points[i].t || math.Float64bits(got[i].v) != math.Float64bits(points[i].v) &&
			!(math.IsNaN(got[i].v) && math.IsNaN(points[i].v)) {
			t.Fatalf("point %d: got %d %v, want %d %v", i, got[i].t, got[i].v, points[i].t, points[i].v)
		}
	}

	width := HistoryBucket.Milliseconds()
	var bs []bucketRow
	for idx := int64(0); idx < 12; idx += 1 + int64(rng.IntN(2)) {
		b := bucketRow{series: 9, t: start + idx*width, min: -rng.Float64(), max: rng.Float64() * 1e9,
			sum: rng.NormFloat64(), count: int64(1 + rng.IntN(300)), last: specials[rng.IntN(len(specials)-1)]}
		b.lastT = b.t + int64(rng.IntN(int(width)))
		bs = append(bs, b)
	}
	gotB, err := decodeBuckets(nil, 9, start, encodeBuckets(start, bs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotB, bs) {
		t.Fatalf("buckets decoded\n%+v\nwant\n%+v", gotB, bs)
	}
	if _, err := decodePoints(nil, 9, start, []byte{0x00, 0x38}); err == nil {
		t.Error("a truncated block decoded without an error")
	}
}

// A file written before the packed blocks (its points and buckets in rows
// only) opens, answers the same queries, and its rows are packed by the
// next maintenance with the answers unchanged.
func TestHistoryRowsOfAnOlderFileArePacked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wigo.db")
	opts := Options{History: HistoryOptions{Enabled: true}}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ch := historyWriter(t, s)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 3 * 60 {
		v := rng.Float64() * 100
		if i%13 == 0 {
			v = math.NaN()
		}
		ch <- result("web-1", "load", false, t0.Add(time.Duration(i)*time.Minute), model.Metric{Value: v},
			model.Metric{Tags: map[string]string{"cpu": "1"}, Value: float64(i % 7)})
	}
	flush(t, s)
	now := t0.Add(3*time.Hour + 2*time.Minute)
	// What the maintenance of schema 0017 did: roll up, no packing.
	if err := s.rollUp(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	queries := []HistoryQuery{
		{Host: "web-1", Probe: "load", From: t0, To: now, Step: time.Minute, Now: now},
		{Host: "web-1", Probe: "load", From: t0.Add(7 * time.Minute), To: t0.Add(2 * time.Hour), Step: 30 * time.Second, Now: now},
		{Host: "web-1", Probe: "load", From: t0, To: now, Step: 5 * time.Minute, Now: now},
		{Host: "web-1", Probe: "load", From: t0, To: now, Step: time.Hour, Now: now},
	}
	answers := func(s *Store) [][]HistorySeries {
		t.Helper()
		var out [][]HistorySeries
		for _, q := range queries {
			series, _, _, err := s.History(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, series)
		}
		return out
	}
	before := answers(s)
	if len(before[0]) != 2 || len(before[0][0].Points) != 180 || len(before[2][0].Points) != 36 {
		t.Fatalf("before: %d series, want 2 of 180 raw points and 36 buckets", len(before[0]))
	}
	rawRows, bucketRows := countRows(t, s, "history_raw"), countRows(t, s, "history_5m")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Take the file back to the schema before the packed blocks (0017).
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE history_raw_blocks", "DROP TABLE history_5m_blocks", "DELETE FROM schema_migrations WHERE version = 18"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, opts)
	historyWriter(t, s)
	if got := answers(s); !reflect.DeepEqual(got, before) {
		t.Fatal("the migrated file answers differently before packing")
	}
	maintain(t, s, now)
	if got := answers(s); !reflect.DeepEqual(got, before) {
		t.Fatal("the file answers differently once packed")
	}
	// The 3 hours rolled up are packed: 2 series × 3 blocks of each kind,
	// no row left but those of the hour being written (none here).
	if got := countRows(t, s, "history_raw"); got != 0 {
		t.Errorf("%d point rows left of %d, want 0", got, rawRows)
	}
	if got := countRows(t, s, "history_5m"); got != 0 {
		t.Errorf("%d bucket rows left of %d, want 0", got, bucketRows)
	}
	if got := countRows(t, s, "history_raw_blocks") + countRows(t, s, "history_5m_blocks"); got != 12 {
		t.Errorf("%d blocks, want 12", got)
	}
}

// Two points of one series at one time in one batch keep the later value,
// on either backend, and a batch of many points keeps them all.
func TestHistoryBatchKeepsTheLaterPointOfATime(t *testing.T) {
	forEachBackendOptions(t, Options{History: HistoryOptions{Enabled: true}}, func(t *testing.T, s *Store) {
		ch := historyWriter(t, s)
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		ch <- result("web-1", "load", false, t0, model.Metric{Value: 1})
		ch <- result("web-1", "load", false, t0, model.Metric{Value: 2})
		for i := range 200 {
			ch <- result("web-1", "disk", false, t0.Add(time.Duration(i)*time.Second), model.Metric{Value: float64(i)})
		}
		flush(t, s)
		points := storedPoints(t, s)
		if len(points) != 1+200 {
			t.Fatalf("%d points stored, want %d", len(points), 1+200)
		}
		var load []float64
		for _, p := range points {
			if p.t == t0.UnixMilli() && (p.v == 1 || p.v == 2) {
				load = append(load, p.v)
			}
		}
		if len(load) != 1 || load[0] != 2 {
			t.Errorf("load at t0: %v, want [2]", load)
		}
	})
}
