package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// runSlack is how long after a run's last mark the daemon counts as
// running: the marks come every minute (MarkRun), so a run seen a minute
// ago may well still be going.
const runSlack = 2 * time.Minute

// MarkRun records that the daemon started at start is running at now. The
// daemon calls it on start and every minute, so the time between the last
// mark of one run and the start of the next is known to be unheard.
func (s *Store) MarkRun(ctx context.Context, start, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO history_runs (start, last) VALUES (?, ?)
		ON CONFLICT (start) DO UPDATE SET last = max(history_runs.last, excluded.last)`, start.UnixMilli(), now.UnixMilli()); err != nil {
		return fmt.Errorf("record the daemon's run: %w", err)
	}
	return nil
}

// Interval is a stretch of a timeline at one level. Status is nil where
// nothing is known: the daemon was not running, the host was DOWN, the
// probe did not exist.
type Interval struct {
	From, To time.Time
	Status   *int
}

// Timeline is a host's status over a range, and each of its probes'.
type Timeline struct {
	Host   []Interval
	Probes map[string][]Interval
}

// change is one row of the log that moves a timeline.
type change struct {
	t      int64 // unix ns
	kind   string
	probe  string
	status int
}

// Timeline returns host's intervals at each status from from to to, from
// the log's changes (probe_changed, probe_appeared, probe_disappeared,
// host_down, host_up) and the daemon's runs: a probe counts as OK until
// its first logged change (an appearance at OK is not logged), the host
// at the worst of its probes; while the daemon was not running or the host
// was DOWN both are unknown. probes names the probes to give a timeline
// to besides those in the log (the host's current probes).
func (s *Store) Timeline(ctx context.Context, host string, from, to time.Time, probes []string) (Timeline, error) {
	runs, err := s.runs(ctx, from, to)
	if err != nil {
		return Timeline{}, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT date, kind, probe, status, level FROM logs
		WHERE host = ? AND date < ? AND kind IN ('probe_changed', 'probe_appeared', 'probe_disappeared', 'host_down', 'host_up')
		ORDER BY date, id`, host, to.UnixNano())
	if err != nil {
		return Timeline{}, fmt.Errorf("timeline of %s: %w", host, err)
	}
	var changes []change
	for rows.Next() {
		var c change
		var level int
		if err := rows.Scan(&c.t, &c.kind, &c.probe, &c.status, &level); err != nil {
			rows.Close()
			return Timeline{}, fmt.Errorf("timeline of %s: %w", host, err)
		}
		if c.status == 0 { // rows from before the status column
			c.status = model.StatusForLogLevel(level)
		}
		changes = append(changes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Timeline{}, fmt.Errorf("timeline of %s: %w", host, err)
	}

	names := slices.Clone(probes)
	first := map[string]change{} // each probe's first logged change
	for _, c := range changes {
		if c.probe != "" {
			names = append(names, c.probe)
			if _, ok := first[c.probe]; !ok {
				first[c.probe] = c
			}
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)

	// The instants where anything may change, from..to.
	start, end := from.UnixNano(), to.UnixNano()
	cuts := []int64{start, end}
	for _, c := range changes {
		if c.t > start {
			cuts = append(cuts, c.t)
		}
	}
	for _, r := range runs {
		cuts = append(cuts, max(start, min(end, r[0])), max(start, min(end, r[1])))
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)

	status := map[string]int{} // probes that exist, by name
	down := false
	next := 0
	apply := func(until int64) { // the changes dated before until
		for ; next < len(changes) && changes[next].t < until+1; next++ {
			c := changes[next]
			switch c.kind {
			case "host_down":
				down = true
			case "host_up":
				down = false
			case "probe_disappeared":
				delete(status, c.probe)
			default:
				status[c.probe] = c.status
			}
		}
	}
	running := func(t int64) bool {
		for _, r := range runs {
			if t >= r[0] && t < r[1] {
				return true
			}
		}
		return false
	}
	tl := Timeline{Probes: map[string][]Interval{}}
	for i := 0; i+1 < len(cuts); i++ {
		at, until := cuts[i], cuts[i+1]
		apply(at)
		known := running(at) && !down
		var hostStatus *int
		if known {
			worst := model.StatusOK
			for _, st := range status {
				worst = max(worst, st)
			}
			hostStatus = &worst
		}
		tl.Host = extend(tl.Host, at, until, hostStatus)
		for _, p := range names {
			var ps *int
			st, exists := status[p]
			if f, logged := first[p]; !exists && (!logged || (f.t > at && f.kind != "probe_appeared")) {
				// Not logged yet but existing: it appeared at OK, which
				// is not logged.
				st, exists = model.StatusOK, true
			}
			if exists && known {
				ps = &st
			}
			tl.Probes[p] = extend(tl.Probes[p], at, until, ps)
		}
	}
	return tl, nil
}

// extend appends [at, until) at status to iv, merging it into the last
// interval when that has the same status.
func extend(iv []Interval, at, until int64, status *int) []Interval {
	if n := len(iv); n > 0 && sameStatus(iv[n-1].Status, status) {
		iv[n-1].To = time.Unix(0, until)
		return iv
	}
	return append(iv, Interval{From: time.Unix(0, at), To: time.Unix(0, until), Status: status})
}

func sameStatus(a, b *int) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// runs returns the daemon's runs that overlap [from, to) as [start, end)
// in unix ns, end being the last mark plus runSlack, cut at the next
// start.
func (s *Store) runs(ctx context.Context, from, to time.Time) ([][2]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT start, last FROM history_runs
		WHERE last >= ? AND start < ? ORDER BY start`, from.Add(-runSlack).UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("the daemon's runs: %w", err)
	}
	defer rows.Close()
	var out [][2]int64
	for rows.Next() {
		var start, last int64
		if err := rows.Scan(&start, &last); err != nil {
			return nil, fmt.Errorf("the daemon's runs: %w", err)
		}
		r := [2]int64{time.UnixMilli(start).UnixNano(), time.UnixMilli(last).Add(runSlack).UnixNano()}
		if n := len(out); n > 0 && out[n-1][1] > r[0] {
			out[n-1][1] = r[0]
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
