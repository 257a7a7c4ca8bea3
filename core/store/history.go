package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// Defaults of HistoryOptions.
const (
	// DefaultRawRetention is how long every point is kept as it came.
	DefaultRawRetention = 48 * time.Hour
	// DefaultHistoryRetention is how long the 5-minute buckets are kept.
	DefaultHistoryRetention = 30 * 24 * time.Hour
	// HistoryBucket is the width of a rollup bucket.
	HistoryBucket = 5 * time.Minute
	// DefaultHistoryFlush is the longest a point waits in the batching
	// writer when no log row comes to carry it: points are worth an fsync
	// every few seconds, not one each.
	DefaultHistoryFlush = 5 * time.Second
	// historyBatch is the number of waiting points that commits them at
	// once, whatever the time.
	historyBatch = 5000
	// rollupLag is how long after a bucket's end it is rolled up, so the
	// points received at its end are committed first. A later point is
	// merged into its bucket as it is committed (insertPoints).
	rollupLag = time.Minute
	// rollupChunk is the most buckets rolled up in one transaction, so a
	// long catch-up never holds the writer off for long.
	rollupChunk = 12
	// historyPruneChunk is the most points deleted in one transaction.
	historyPruneChunk = 5000
)

// HistoryOptions say whether and how long the Store keeps the metrics of
// probe results (history.go).
type HistoryOptions struct {
	// Enabled makes the batching writer keep the metrics of the probe
	// results it sees.
	Enabled bool
	// RemoteHosts keeps those of remote hosts too, not only the local
	// host's.
	RemoteHosts bool
	// RawRetention is how long each point is kept; 0 means
	// DefaultRawRetention.
	RawRetention time.Duration
	// Retention is how long the 5-minute buckets are kept; 0 means
	// DefaultHistoryRetention.
	Retention time.Duration
	// Flush is the longest a point waits to be committed; 0 means
	// DefaultHistoryFlush.
	Flush time.Duration
}

func (o HistoryOptions) withDefaults() HistoryOptions {
	if o.RawRetention <= 0 {
		o.RawRetention = DefaultRawRetention
	}
	if o.Retention <= 0 {
		o.Retention = DefaultHistoryRetention
	}
	if o.Flush <= 0 {
		o.Flush = DefaultHistoryFlush
	}
	return o
}

// point is one metric value of one probe result, waiting in the writer.
type point struct {
	host, probe, tags string
	t                 int64 // unix ms
	v                 float64
}

// seriesKey names a series in the writer's cache of ids.
type seriesKey struct{ host, probe, tags string }

// historyPoints appends the points e carries to dst: the metrics of a
// probe result, when the Store keeps history for its host.
func (s *Store) historyPoints(dst []point, e event.Event) []point {
	h := s.opts.History
	if !h.Enabled || e.New == nil || len(e.New.Metrics) == 0 || (e.Remote && !h.RemoteHosts) {
		return dst
	}
	switch e.Kind {
	case event.ProbeAppeared, event.ProbeChanged, event.ProbeUpdated:
	default:
		return dst
	}
	t := e.Time.UnixMilli()
	for _, m := range e.New.Metrics {
		dst = append(dst, point{host: e.Host, probe: e.Probe, tags: tagsKey(m.Tags), t: t, v: m.Value})
	}
	return dst
}

// tagsKey is a tag set as the series table keys it: JSON with sorted keys
// (encoding/json sorts map keys), "{}" for none.
func tagsKey(tags map[string]string) string {
	if len(tags) == 0 {
		return "{}"
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return "{}" // a map of strings always encodes
	}
	return string(b)
}

// insertPoints stores points in tx: their series (created when new) and
// each value, NULL for NaN and ±Inf. A point older than the buckets
// already rolled up is merged into its bucket too, so a late point is
// never left out of them. New series ids go to fresh, which the caller
// adds to the cache once tx has committed.
func (s *Store) insertPoints(ctx context.Context, tx *txn, points []point, fresh map[seriesKey]int64) error {
	if len(points) == 0 {
		return nil
	}
	// Read inside the transaction, which holds the one write connection:
	// series deleted before it began have moved the generation already.
	if gen := s.seriesGen.Load(); gen != s.seriesSeen {
		clear(s.series)
		s.seriesSeen = gen
	}
	rolled, err := rolledUntil(ctx, tx)
	if err != nil {
		return err
	}
	query := "INSERT OR REPLACE INTO history_raw (series, t, v) VALUES (?, ?, ?)"
	if tx.d.postgres {
		// PostgreSQL has no OR REPLACE; SQLite's upsert measured slower
		// than its REPLACE here, on the hottest insert of the writer.
		query = "INSERT INTO history_raw (series, t, v) VALUES (?, ?, ?) ON CONFLICT (series, t) DO UPDATE SET v = excluded.v"
	}
	ins, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return fmt.Errorf("store metric history: %w", err)
	}
	defer ins.Close()
	var late []rawPoint
	for _, p := range points {
		k := seriesKey{p.host, p.probe, p.tags}
		id, ok := s.series[k]
		if !ok {
			if id, ok = fresh[k]; !ok {
				if id, err = seriesID(ctx, tx, k); err != nil {
					return err
				}
				fresh[k] = id
			}
		}
		var v any
		if !math.IsNaN(p.v) && !math.IsInf(p.v, 0) {
			v = p.v
			if p.t < rolled {
				late = append(late, rawPoint{series: id, t: p.t, v: p.v})
			}
		}
		if _, err := ins.ExecContext(ctx, id, p.t, v); err != nil {
			return fmt.Errorf("store metric history: %w", err)
		}
	}
	return mergeBuckets(ctx, tx, late)
}

// seriesID returns k's id, creating its row when it has none.
func seriesID(ctx context.Context, tx *txn, k seriesKey) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO history_series (host, probe, tags) VALUES (?, ?, ?)
		ON CONFLICT (host, probe, tags) DO UPDATE SET host = excluded.host RETURNING id`, k.host, k.probe, k.tags).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("metric series %s/%s %s: %w", k.host, k.probe, k.tags, err)
	}
	return id, nil
}

// rolledUntil reads the end of the buckets rolled up, in unix ms (0: none
// yet). Reading it in the transaction that inserts points is what makes
// the merge of late points exact: the writer and the rollup share one
// connection, so one of them always sees the other's commit.
func rolledUntil(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, "SELECT value FROM history_meta WHERE key = 'rolled_until'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the metric rollup mark: %w", err)
	}
	return v, nil
}

// rawPoint is a stored, non-null point.
type rawPoint struct {
	series, t int64
	v         float64
}

// bucketRow is one series' 5-minute bucket.
type bucketRow struct {
	series, t     int64
	min, max, sum float64
	count         int64
	last          float64
	lastT         int64
}

// buckets folds points, sorted by series then time, into 5-minute
// buckets.
func buckets(points []rawPoint) []bucketRow {
	width := HistoryBucket.Milliseconds()
	var out []bucketRow
	for _, p := range points {
		start := p.t - p.t%width
		if n := len(out); n > 0 && out[n-1].series == p.series && out[n-1].t == start {
			mergeBucket(&out[n-1], bucketRow{min: p.v, max: p.v, sum: p.v, count: 1, last: p.v, lastT: p.t})
			continue
		}
		out = append(out, bucketRow{series: p.series, t: start, min: p.v, max: p.v, sum: p.v, count: 1, last: p.v, lastT: p.t})
	}
	return out
}

// mergeBuckets adds points to their buckets, creating those that do not
// exist yet.
func mergeBuckets(ctx context.Context, tx *txn, points []rawPoint) error {
	if len(points) == 0 {
		return nil
	}
	slices.SortFunc(points, func(a, b rawPoint) int {
		if a.series != b.series {
			return int(a.series - b.series)
		}
		return int(a.t - b.t)
	})
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO history_5m (series, t, min, max, sum, count, last, last_t)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (series, t) DO UPDATE SET
			min = min(history_5m.min, excluded.min), max = max(history_5m.max, excluded.max),
			sum = history_5m.sum + excluded.sum, count = history_5m.count + excluded.count,
			last = CASE WHEN excluded.last_t >= history_5m.last_t THEN excluded.last ELSE history_5m.last END,
			last_t = max(history_5m.last_t, excluded.last_t)`)
	if err != nil {
		return fmt.Errorf("roll up metric history: %w", err)
	}
	defer stmt.Close()
	for _, b := range buckets(points) {
		if _, err := stmt.ExecContext(ctx, b.series, b.t, b.min, b.max, b.sum, b.count, b.last, b.lastT); err != nil {
			return fmt.Errorf("roll up metric history: %w", err)
		}
	}
	return nil
}

// MaintainHistory does what is due at now on the metric history: it rolls
// the raw points of every 5-minute bucket that ended (a minute ago, for
// the last points to be committed) into history_5m, packs the points and
// buckets of the hours rolled up into their blocks (history_block.go),
// then deletes the raw points older than the raw retention, the buckets
// older than the retention (a block once all it may hold is), the series
// left with neither and the daemon's runs
// (MarkRun) older than the retention. Each step is a few short
// transactions, so the batching writer is never held off for long; what
// is left when ctx ends is done by the next call. The daemon calls it
// every minute on its clock.
func (s *Store) MaintainHistory(ctx context.Context, now time.Time) error {
	if s.isClosed() {
		return fmt.Errorf("maintain metric history: %w", ErrClosed)
	}
	h := s.opts.History
	if err := s.rollUp(ctx, now); err != nil {
		return err
	}
	mark, err := rolledUntil(ctx, s.r)
	if err != nil {
		return err
	}
	if err := s.packHistory(ctx, blockStart(mark)); err != nil {
		return err
	}
	for _, p := range []struct {
		table string
		keep  time.Duration
	}{{"history_raw", h.RawRetention}, {"history_5m", h.Retention}} {
		before := now.Add(-p.keep).UnixMilli()
		if _, err := s.pruneHistory(ctx, p.table, before); err != nil {
			return err
		}
		// A block goes once the last time it may hold is past.
		if _, err := s.pruneHistory(ctx, p.table+"_blocks", before-blockSpan+1); err != nil {
			return err
		}
	}
	if _, err := s.w.ExecContext(ctx, "DELETE FROM history_runs WHERE last < ?", now.Add(-h.Retention).UnixMilli()); err != nil {
		return fmt.Errorf("forget old runs: %w", err)
	}
	return s.forgetEmptySeries(ctx)
}

// forgetEmptySeries deletes the series left with no point and no bucket.
// The writer's cache of ids must not outlive their rows: the generation
// moves before the delete, so a batch that begins after it sees the move
// (insertPoints), and one that began before it committed points that keep
// their series.
func (s *Store) forgetEmptySeries(ctx context.Context) error {
	const empty = `NOT EXISTS (SELECT 1 FROM history_raw WHERE series = history_series.id) AND
		NOT EXISTS (SELECT 1 FROM history_5m WHERE series = history_series.id) AND
		NOT EXISTS (SELECT 1 FROM history_raw_blocks WHERE series = history_series.id) AND
		NOT EXISTS (SELECT 1 FROM history_5m_blocks WHERE series = history_series.id)`
	var some bool
	if err := s.w.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM history_series WHERE "+empty+")").Scan(&some); err != nil {
		return fmt.Errorf("forget empty metric series: %w", err)
	}
	if !some {
		return nil
	}
	s.seriesGen.Add(1)
	if _, err := s.w.ExecContext(ctx, "DELETE FROM history_series WHERE "+empty); err != nil {
		return fmt.Errorf("forget empty metric series: %w", err)
	}
	return nil
}

// rollUp rolls up the buckets that ended before now less rollupLag and
// were not rolled up yet, rollupChunk buckets a transaction.
func (s *Store) rollUp(ctx context.Context, now time.Time) error {
	width := HistoryBucket.Milliseconds()
	end := now.Add(-rollupLag).UnixMilli()
	end -= end % width
	mark, err := rolledUntil(ctx, s.r)
	if err != nil {
		return err
	}
	if mark == 0 {
		// First run: from the oldest point kept.
		var oldest sql.NullInt64
		if err := s.r.QueryRowContext(ctx, "SELECT min(t) FROM history_raw").Scan(&oldest); err != nil {
			return fmt.Errorf("roll up metric history: %w", err)
		}
		if !oldest.Valid {
			mark = end
		} else {
			mark = oldest.Int64 - oldest.Int64%width
		}
	}
	for mark < end {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("roll up metric history: %w", err)
		}
		next := min(end, mark+rollupChunk*width)
		if err := s.rollChunk(ctx, mark, next); err != nil {
			return err
		}
		mark = next
	}
	// Also records the mark of the very first run, with nothing to roll.
	_, err = s.w.ExecContext(ctx, `INSERT INTO history_meta (key, value) VALUES ('rolled_until', ?)
		ON CONFLICT (key) DO UPDATE SET value = max(history_meta.value, excluded.value)`, mark)
	if err != nil {
		return fmt.Errorf("roll up metric history: %w", err)
	}
	return nil
}

// rollChunk rolls the raw points in [from, to) into their buckets and
// moves the mark to to, in one transaction.
func (s *Store) rollChunk(ctx context.Context, from, to int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("roll up metric history: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// Series by series through the primary key: one range seek each.
	rows, err := tx.QueryContext(ctx, `SELECT r.series, r.t, r.v FROM history_series s
		JOIN history_raw r ON r.series = s.id AND r.t >= ? AND r.t < ?
		WHERE r.v IS NOT NULL ORDER BY r.series, r.t`, from, to)
	if err != nil {
		return fmt.Errorf("roll up metric history: %w", err)
	}
	var points []rawPoint
	for rows.Next() {
		var p rawPoint
		if err := rows.Scan(&p.series, &p.t, &p.v); err != nil {
			rows.Close()
			return fmt.Errorf("roll up metric history: %w", err)
		}
		points = append(points, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("roll up metric history: %w", err)
	}
	if err := mergeBuckets(ctx, tx, points); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO history_meta (key, value) VALUES ('rolled_until', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, to); err != nil {
		return fmt.Errorf("roll up metric history: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("roll up metric history: %w", err)
	}
	return nil
}

// pruneHistory deletes the rows of table (history_raw, history_5m or
// their _blocks) whose t is before the unix ms before, historyPruneChunk a
// transaction, and returns how many went.
func (s *Store) pruneHistory(ctx context.Context, table string, before int64) (int64, error) {
	q := fmt.Sprintf(`DELETE FROM %[1]s WHERE (series, t) IN (SELECT r.series, r.t FROM history_series s
		JOIN %[1]s r ON r.series = s.id AND r.t < ? LIMIT %[2]d)`, table, historyPruneChunk)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		res, err := s.w.ExecContext(ctx, q, before)
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		total += n
		if n < historyPruneChunk {
			return total, nil
		}
	}
}
