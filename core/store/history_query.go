package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// HistorySource names where History read its points from.
const (
	SourceRaw    = "raw"
	SourceRollup = "5m"
)

// HistoryQuery asks for the series of one probe of one host from From to
// To (excluded), in points of Step each.
type HistoryQuery struct {
	Host, Probe string
	From, To    time.Time
	// Step is the width of a returned point. Below HistoryBucket, and
	// when the raw points still cover From, the points are folded from
	// the raw ones; otherwise from the 5-minute buckets, Step rounded up
	// to a whole number of them and From down to a bucket's start.
	Step time.Duration
	// Now is the time the raw retention is counted back from.
	Now time.Time
}

// HistoryPoint is one step of a series: the values received in
// [T, T+step). Count 0 is a gap: only NaN or ±Inf were received.
type HistoryPoint struct {
	T                   time.Time
	Min, Max, Avg, Last float64
	Count               int64
}

// HistorySeries is the points of one metric of a probe: one tag set.
type HistorySeries struct {
	Tags   map[string]string
	Points []HistoryPoint
}

// History returns the series of q's probe, sorted by tag set, with the
// source the points come from (SourceRaw or SourceRollup) and the step
// used. Steps with nothing received are left out; a probe with no history
// gives no series.
func (s *Store) History(ctx context.Context, q HistoryQuery) ([]HistorySeries, string, time.Duration, error) {
	if q.Step <= 0 {
		return nil, "", 0, fmt.Errorf("metric history: step %s is not positive", q.Step)
	}
	source, step, from := SourceRaw, q.Step, q.From
	if step >= HistoryBucket || from.Before(q.Now.Add(-s.opts.History.RawRetention)) {
		// Steps of whole buckets from a bucket's start, so none is split.
		source = SourceRollup
		step = (step + HistoryBucket - 1) / HistoryBucket * HistoryBucket
		from = from.Truncate(HistoryBucket)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT id, tags FROM history_series WHERE host = ? AND probe = ? ORDER BY tags", q.Host, q.Probe)
	if err != nil {
		return nil, "", 0, fmt.Errorf("metric history of %s/%s: %w", q.Host, q.Probe, err)
	}
	type series struct {
		id   int64
		tags string
	}
	var ids []series
	for rows.Next() {
		var sr series
		if err := rows.Scan(&sr.id, &sr.tags); err != nil {
			rows.Close()
			return nil, "", 0, fmt.Errorf("metric history of %s/%s: %w", q.Host, q.Probe, err)
		}
		ids = append(ids, sr)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", 0, fmt.Errorf("metric history of %s/%s: %w", q.Host, q.Probe, err)
	}
	out := make([]HistorySeries, 0, len(ids))
	for _, sr := range ids {
		hs := HistorySeries{Tags: map[string]string{}}
		if err := json.Unmarshal([]byte(sr.tags), &hs.Tags); err != nil {
			return nil, "", 0, fmt.Errorf("metric history of %s/%s: tags %q: %w", q.Host, q.Probe, sr.tags, err)
		}
		if hs.Points, err = s.seriesPoints(ctx, sr.id, source, from, q.To, step); err != nil {
			return nil, "", 0, fmt.Errorf("metric history of %s/%s: %w", q.Host, q.Probe, err)
		}
		if len(hs.Points) > 0 {
			out = append(out, hs)
		}
	}
	return out, source, step, nil
}

// seriesPoints folds one series' stored points or buckets in [from, to),
// packed and not, into steps.
func (s *Store) seriesPoints(ctx context.Context, id int64, source string, from, to time.Time, step time.Duration) ([]HistoryPoint, error) {
	var in []bucketRow
	if source == SourceRollup {
		var err error
		if in, err = seriesBuckets(ctx, s.r, id, from.UnixMilli(), to.UnixMilli()); err != nil {
			return nil, err
		}
	} else {
		points, err := seriesRaw(ctx, s.r, id, from.UnixMilli(), to.UnixMilli())
		if err != nil {
			return nil, err
		}
		in = make([]bucketRow, len(points))
		for i, p := range points {
			in[i] = bucketRow{t: p.t, min: p.v, max: p.v, sum: p.v, count: 1, last: p.v, lastT: p.t}
			if math.IsNaN(p.v) {
				in[i].count = 0 // a gap
			}
		}
	}
	var out []HistoryPoint
	var sum float64
	var lastT int64
	start, width := from.UnixMilli(), step.Milliseconds()
	for _, b := range in {
		at := time.UnixMilli(start + (b.t-start)/width*width)
		n := len(out)
		if n == 0 || !out[n-1].T.Equal(at) {
			out = append(out, HistoryPoint{T: at})
			sum, lastT, n = 0, 0, n+1
		}
		p := &out[n-1]
		if b.count == 0 {
			continue
		}
		if p.Count == 0 {
			p.Min, p.Max = b.min, b.max
		}
		p.Min, p.Max = min(p.Min, b.min), max(p.Max, b.max)
		p.Count += b.count
		sum += b.sum
		p.Avg = sum / float64(p.Count)
		if b.lastT >= lastT {
			p.Last, lastT = b.last, b.lastT
		}
	}
	return out, nil
}

// HistoryRetention is how far back the metric history goes: the
// retention of its rollups.
func (s *Store) HistoryRetention() time.Duration { return s.opts.History.Retention }
