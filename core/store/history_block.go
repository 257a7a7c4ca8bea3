package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// blockSpan is the time one packed block of a series covers, in unix ms:
// an hour, 60 points of a result a minute or 12 buckets.
const blockSpan = int64(3_600_000)

// blockStart is the start of the block holding t.
func blockStart(t int64) int64 { return t - t%blockSpan }

// errBlock is a block whose bytes do not decode.
var errBlock = errors.New("malformed history block")

// A value is stored against the one before it in its stream, exact, in
// whichever of two forms is shorter. XORed: a control byte, the number of
// leading zero bytes of the XOR in its high nibble and of the bytes after
// them up to the last non-zero one in its low nibble, then those bytes.
// As a difference, when both are whole numbers (the counters and gauges
// most probes send): a small difference in the control byte alone
// (ctlSmall plus the difference, from smallMin to smallMax), a larger one
// as ctlDelta and its zigzag varint. An unchanged value is the one byte
// 0x80; a gap (NaN, stored for ±Inf and NaN) is ctlGap and leaves the
// stream's previous value as it was. No XOR has more than 8 leading zero
// bytes, so the control bytes from 0x90 up are free for these.
const (
	ctlSame  = 0x80
	ctlDelta = 0x90
	ctlSmall = 0x91 - smallMin
	smallMin = -55
	smallMax = 0xFE - ctlSmall
	ctlGap   = 0xFF
	// maxExact bounds the whole numbers a float64 holds exactly.
	maxExact = 1 << 53
)

// wholeNumber returns v as an int64 when it is one, exactly (not -0).
func wholeNumber(v float64) (int64, bool) {
	if v < -maxExact || v > maxExact || v != math.Trunc(v) {
		return 0, false
	}
	i := int64(v)
	return i, math.Float64bits(float64(i)) == math.Float64bits(v)
}

func appendValue(dst []byte, prev *uint64, v float64) []byte {
	if math.IsNaN(v) {
		return append(dst, ctlGap)
	}
	u := math.Float64bits(v)
	x := u ^ *prev
	p := *prev
	*prev = u
	if x == 0 {
		return append(dst, ctlSame)
	}
	lead := bits.LeadingZeros64(x) / 8
	sig := 8 - lead - bits.TrailingZeros64(x)/8
	if a, ok := wholeNumber(math.Float64frombits(p)); ok {
		if b, ok := wholeNumber(v); ok {
			if d := b - a; d >= smallMin && d <= smallMax && d != 0 {
				return append(dst, byte(ctlSmall+d))
			} else if d > -maxExact && d < maxExact {
				var buf [binary.MaxVarintLen64]byte
				if n := binary.PutVarint(buf[:], d); n < sig {
					return append(append(dst, ctlDelta), buf[:n]...)
				}
			}
		}
	}
	dst = append(dst, byte(lead<<4|sig))
	for i := range sig {
		dst = append(dst, byte(x>>(56-8*(lead+i))))
	}
	return dst
}

func readValue(b []byte, prev *uint64) (float64, []byte, error) {
	if len(b) == 0 {
		return 0, nil, errBlock
	}
	c := b[0]
	b = b[1:]
	switch {
	case c == ctlGap:
		return math.NaN(), b, nil
	case c > ctlDelta:
		a, ok := wholeNumber(math.Float64frombits(*prev))
		if !ok {
			return 0, nil, errBlock
		}
		v := float64(a + int64(c) - ctlSmall)
		*prev = math.Float64bits(v)
		return v, b, nil
	case c == ctlDelta:
		a, ok := wholeNumber(math.Float64frombits(*prev))
		d, n := binary.Varint(b)
		if !ok || n <= 0 {
			return 0, nil, errBlock
		}
		v := float64(a + d)
		*prev = math.Float64bits(v)
		return v, b[n:], nil
	}
	lead, sig := int(c>>4), int(c&0x0F)
	if lead+sig > 8 || len(b) < sig {
		return 0, nil, errBlock
	}
	var x uint64
	for i := range sig {
		x |= uint64(b[i]) << (56 - 8*(lead+i))
	}
	*prev ^= x
	return math.Float64frombits(*prev), b[sig:], nil
}

func readVarint(b []byte) (int64, []byte, error) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, nil, errBlock
	}
	return v, b[n:], nil
}

func readUvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errBlock
	}
	return v, b[n:], nil
}

// encodePoints packs the points of one block, sorted by time, v NaN for a
// gap: each time as the varint of its delta-of-delta (0 for a steady
// period, one byte), each value as appendValue writes it.
func encodePoints(start int64, points []rawPoint) []byte {
	out := make([]byte, 0, 3*len(points))
	prevT, prevD := start, int64(0)
	var prevV uint64
	for _, p := range points {
		d := p.t - prevT
		out = binary.AppendVarint(out, d-prevD)
		prevT, prevD = p.t, d
		out = appendValue(out, &prevV, p.v)
	}
	return out
}

// decodePoints appends the points of series' block at start to dst.
func decodePoints(dst []rawPoint, series, start int64, b []byte) ([]rawPoint, error) {
	prevT, prevD := start, int64(0)
	var prevV uint64
	for len(b) > 0 {
		dd, rest, err := readVarint(b)
		if err != nil {
			return dst, err
		}
		prevD += dd
		prevT += prevD
		var v float64
		if v, b, err = readValue(rest, &prevV); err != nil {
			return dst, err
		}
		dst = append(dst, rawPoint{series: series, t: prevT, v: v})
	}
	return dst, nil
}

// encodeBuckets packs the buckets of one block, sorted by time: for each
// a header, the number of buckets since the one before shifted left by
// two, bit 1 set when its count differs from the bucket before's (then
// the count follows) and bit 0 when the offset of last's time in the
// bucket does (then its difference follows, after the values); then its
// min, max, sum and last, each against the bucket before's.
func encodeBuckets(start int64, bs []bucketRow) []byte {
	width := HistoryBucket.Milliseconds()
	out := make([]byte, 0, 12*len(bs))
	prevIdx, prevOff, prevCount := int64(-1), int64(0), int64(0)
	var pmin, pmax, psum, plast uint64
	for _, b := range bs {
		idx, off := (b.t-start)/width, b.lastT-b.t
		h := uint64(idx-prevIdx) << 2
		if b.count != prevCount {
			h |= 2
		}
		if off != prevOff {
			h |= 1
		}
		out = binary.AppendUvarint(out, h)
		if b.count != prevCount {
			out = binary.AppendUvarint(out, uint64(b.count))
		}
		out = appendValue(out, &pmin, b.min)
		out = appendValue(out, &pmax, b.max)
		out = appendValue(out, &psum, b.sum)
		out = appendValue(out, &plast, b.last)
		if off != prevOff {
			out = binary.AppendVarint(out, off-prevOff)
		}
		prevIdx, prevOff, prevCount = idx, off, b.count
	}
	return out
}

// decodeBuckets appends the buckets of series' block at start to dst.
func decodeBuckets(dst []bucketRow, series, start int64, b []byte) ([]bucketRow, error) {
	width := HistoryBucket.Milliseconds()
	prevIdx, prevOff, prevCount := int64(-1), int64(0), int64(0)
	var pmin, pmax, psum, plast uint64
	for len(b) > 0 {
		h, rest, err := readUvarint(b)
		if err != nil {
			return dst, err
		}
		if h&2 != 0 {
			var c uint64
			if c, rest, err = readUvarint(rest); err != nil {
				return dst, err
			}
			prevCount = int64(c)
		}
		prevIdx += int64(h >> 2)
		r := bucketRow{series: series, t: start + prevIdx*width, count: prevCount}
		for _, f := range []struct {
			v    *float64
			prev *uint64
		}{{&r.min, &pmin}, {&r.max, &pmax}, {&r.sum, &psum}, {&r.last, &plast}} {
			if *f.v, rest, err = readValue(rest, f.prev); err != nil {
				return dst, err
			}
		}
		if h&1 != 0 {
			var d int64
			if d, rest, err = readVarint(rest); err != nil {
				return dst, err
			}
			prevOff += d
		}
		r.lastT = r.t + prevOff
		b = rest
		dst = append(dst, r)
	}
	return dst, nil
}

// mergeBucket folds b into a, the same series' same bucket.
func mergeBucket(a *bucketRow, b bucketRow) {
	a.min, a.max, a.sum, a.count = min(a.min, b.min), max(a.max, b.max), a.sum+b.sum, a.count+b.count
	if b.lastT >= a.lastT {
		a.last, a.lastT = b.last, b.lastT
	}
}

// packHistory moves the rows of history_raw and history_5m older than
// until (a block's start) into their blocks, one series a transaction,
// rows merged into the block already there: a late point replaces the
// packed one of its time, a late bucket row is merged into the packed
// bucket.
func (s *Store) packHistory(ctx context.Context, until int64) error {
	for _, table := range []string{"history_raw", "history_5m"} {
		// One seek per series through the primary key.
		ids, err := s.r.QueryContext(ctx, "SELECT s.id FROM history_series s WHERE EXISTS (SELECT 1 FROM "+table+
			" r WHERE r.series = s.id AND r.t < ?) ORDER BY s.id", until)
		if err != nil {
			return fmt.Errorf("pack %s: %w", table, err)
		}
		var series []int64
		for ids.Next() {
			var id int64
			if err := ids.Scan(&id); err != nil {
				ids.Close()
				return fmt.Errorf("pack %s: %w", table, err)
			}
			series = append(series, id)
		}
		ids.Close()
		if err := ids.Err(); err != nil {
			return fmt.Errorf("pack %s: %w", table, err)
		}
		for _, id := range series {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("pack %s: %w", table, err)
			}
			if err := s.packSeries(ctx, table, id, until); err != nil {
				return fmt.Errorf("pack %s of series %d: %w", table, id, err)
			}
		}
	}
	return nil
}

// packSeries packs the rows of one series of table older than until.
func (s *Store) packSeries(ctx context.Context, table string, series, until int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	blocks := table + "_blocks"
	put, err := tx.PrepareContext(ctx, "INSERT INTO "+blocks+` (series, t, data) VALUES (?, ?, ?)
		ON CONFLICT (series, t) DO UPDATE SET data = excluded.data`)
	if err != nil {
		return err
	}
	defer put.Close()
	block := func(start int64) ([]byte, error) { return readBlock(ctx, tx, blocks, series, start) }
	write := func(start int64, data []byte) error {
		_, err := put.ExecContext(ctx, series, start, data)
		return err
	}
	if table == "history_raw" {
		points, err := readPoints(ctx, tx, series, 0, until)
		if err != nil {
			return err
		}
		err = packByHour(points, func(p rawPoint) int64 { return p.t }, block, write, func(start int64, packed []byte, rows []rawPoint) ([]byte, error) {
			merged, err := decodePoints(nil, series, start, packed)
			return encodePoints(start, mergePoints(merged, rows)), err
		})
		if err != nil {
			return err
		}
	} else {
		bs, err := readBucketRows(ctx, tx, series, 0, until)
		if err != nil {
			return err
		}
		err = packByHour(bs, func(b bucketRow) int64 { return b.t }, block, write, func(start int64, packed []byte, rows []bucketRow) ([]byte, error) {
			merged, err := decodeBuckets(nil, series, start, packed)
			return encodeBuckets(start, mergeBucketRows(merged, rows)), err
		})
		if err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE series = ? AND t < ?", series, until); err != nil {
		return err
	}
	return tx.Commit()
}

// queryer is what reads run on: one of the Store's pools or a
// transaction.
type queryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// readPoints reads the point rows of series in [from, to), by time, NaN
// for a gap.
func readPoints(ctx context.Context, q queryer, series, from, to int64) ([]rawPoint, error) {
	rows, err := q.QueryContext(ctx, "SELECT t, v FROM history_raw WHERE series = ? AND t >= ? AND t < ? ORDER BY t", series, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rawPoint
	for rows.Next() {
		p := rawPoint{series: series}
		var v sql.NullFloat64
		if err := rows.Scan(&p.t, &v); err != nil {
			return nil, err
		}
		p.v = math.NaN()
		if v.Valid {
			p.v = v.Float64
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// readBucketRows reads the bucket rows of series in [from, to), by time.
func readBucketRows(ctx context.Context, q queryer, series, from, to int64) ([]bucketRow, error) {
	rows, err := q.QueryContext(ctx, "SELECT t, min, max, sum, count, last, last_t FROM history_5m WHERE series = ? AND t >= ? AND t < ? ORDER BY t", series, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bucketRow
	for rows.Next() {
		b := bucketRow{series: series}
		if err := rows.Scan(&b.t, &b.min, &b.max, &b.sum, &b.count, &b.last, &b.lastT); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// readBlocks reads the blocks of series in table that may hold times in
// [from, to), by time.
func readBlocks(ctx context.Context, q queryer, table string, series, from, to int64) (starts []int64, data [][]byte, err error) {
	rows, err := q.QueryContext(ctx, "SELECT t, data FROM "+table+" WHERE series = ? AND t >= ? AND t < ? ORDER BY t", series, blockStart(from), to)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t int64
		var b []byte
		if err := rows.Scan(&t, &b); err != nil {
			return nil, nil, err
		}
		starts, data = append(starts, t), append(data, b)
	}
	return starts, data, rows.Err()
}

// seriesRaw returns series' points in [from, to), packed and not, by time.
func seriesRaw(ctx context.Context, q queryer, series, from, to int64) ([]rawPoint, error) {
	starts, data, err := readBlocks(ctx, q, "history_raw_blocks", series, from, to)
	if err != nil {
		return nil, err
	}
	var packed []rawPoint
	for i, start := range starts {
		if packed, err = decodePoints(packed, series, start, data[i]); err != nil {
			return nil, fmt.Errorf("block at %d: %w", start, err)
		}
	}
	packed = slices.DeleteFunc(packed, func(p rawPoint) bool { return p.t < from || p.t >= to })
	rows, err := readPoints(ctx, q, series, from, to)
	if err != nil {
		return nil, err
	}
	return mergePoints(packed, rows), nil
}

// seriesBuckets returns series' buckets in [from, to), packed and not, by
// time, a late row folded into its packed bucket.
func seriesBuckets(ctx context.Context, q queryer, series, from, to int64) ([]bucketRow, error) {
	starts, data, err := readBlocks(ctx, q, "history_5m_blocks", series, from, to)
	if err != nil {
		return nil, err
	}
	var packed []bucketRow
	for i, start := range starts {
		if packed, err = decodeBuckets(packed, series, start, data[i]); err != nil {
			return nil, fmt.Errorf("block at %d: %w", start, err)
		}
	}
	packed = slices.DeleteFunc(packed, func(b bucketRow) bool { return b.t < from || b.t >= to })
	rows, err := readBucketRows(ctx, q, series, from, to)
	if err != nil {
		return nil, err
	}
	return mergeBucketRows(packed, rows), nil
}

// readBlock returns the data of series' block at start in table, nil when
// there is none.
func readBlock(ctx context.Context, tx *txn, table string, series, start int64) ([]byte, error) {
	rows, err := tx.QueryContext(ctx, "SELECT data FROM "+table+" WHERE series = ? AND t = ?", series, start)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var data []byte
	if rows.Next() {
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
	}
	return data, rows.Err()
}

// mergePoints merges rows into packed, both sorted by time: a row replaces
// the packed point of its time, as INSERT OR REPLACE would have.
func mergePoints(packed, rows []rawPoint) []rawPoint {
	out := make([]rawPoint, 0, len(packed)+len(rows))
	i, j := 0, 0
	for i < len(packed) || j < len(rows) {
		switch {
		case j == len(rows) || (i < len(packed) && packed[i].t < rows[j].t):
			out = append(out, packed[i])
			i++
		case i == len(packed) || rows[j].t < packed[i].t:
			out = append(out, rows[j])
			j++
		default:
			out = append(out, rows[j])
			i, j = i+1, j+1
		}
	}
	return out
}

// mergeBucketRows merges rows into packed, both sorted by time, a row
// folded into the packed bucket of its time.
func mergeBucketRows(packed, rows []bucketRow) []bucketRow {
	out := make([]bucketRow, 0, len(packed)+len(rows))
	i, j := 0, 0
	for i < len(packed) || j < len(rows) {
		switch {
		case j == len(rows) || (i < len(packed) && packed[i].t < rows[j].t):
			out = append(out, packed[i])
			i++
		case i == len(packed) || rows[j].t < packed[i].t:
			out = append(out, rows[j])
			j++
		default:
			b := packed[i]
			mergeBucket(&b, rows[j])
			out = append(out, b)
			i, j = i+1, j+1
		}
	}
	return out
}

// packByHour writes rows (in time order) into their hourly blocks, each
// hour's rows merged by merge with what its block already holds.
func packByHour[T any](rows []T, at func(T) int64, block func(start int64) ([]byte, error),
	write func(start int64, data []byte) error, merge func(start int64, packed []byte, rows []T) ([]byte, error)) error {
	for len(rows) > 0 {
		start := blockStart(at(rows[0]))
		n := 1
		for n < len(rows) && blockStart(at(rows[n])) == start {
			n++
		}
		packed, err := block(start)
		if err != nil {
			return err
		}
		data, err := merge(start, packed, rows[:n])
		if err != nil {
			return fmt.Errorf("block at %d: %w", start, err)
		}
		if err := write(start, data); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
