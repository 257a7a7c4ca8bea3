package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store"
)

// maxHistoryPoints caps the points of one series in an answer: enough for
// a chart as wide as a screen, small enough to answer a month at once.
const maxHistoryPoints = 2000

// HistoryReader answers the metric history routes (the store).
type HistoryReader interface {
	History(ctx context.Context, q store.HistoryQuery) ([]store.HistorySeries, string, time.Duration, error)
	// HistoryRetention is how far back the history goes.
	HistoryRetention() time.Duration
	// Timeline is a host's status over a range, and its probes'.
	Timeline(ctx context.Context, host string, from, to time.Time, probes []string) (store.Timeline, error)
}

// timelineAnswer is GET /api/hosts/:host/timeline.
type timelineAnswer struct {
	Host   string                        `json:"host"`
	From   time.Time                     `json:"from"`
	To     time.Time                     `json:"to"`
	Status []timelineInterval            `json:"status"`
	Probes map[string][]timelineInterval `json:"probes"`
}

// timelineInterval is a stretch at one level; status null and level
// "unknown" where nothing was heard.
type timelineInterval struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Status *int      `json:"status"`
	Level  string    `json:"level"`
}

func (s *server) getHostTimeline(r *http.Request) (any, error) {
	if s.history == nil {
		return nil, errorf(http.StatusServiceUnavailable, "metric history is not enabled on this instance")
	}
	host := r.PathValue("hostname")
	from, to, err := historyRange(r.URL.Query(), s.now(), s.history.HistoryRetention())
	if err != nil {
		return nil, err
	}
	var probes []string
	if h, ok := s.state.FindHost(host); ok {
		for name := range h.Probes {
			probes = append(probes, name)
		}
	}
	tl, err := s.history.Timeline(r.Context(), host, from, to, probes)
	if err != nil {
		return nil, err
	}
	if len(probes) == 0 && len(tl.Probes) == 0 {
		if _, ok := s.state.FindHost(host); !ok {
			return nil, hostNotFound(host)
		}
	}
	out := timelineAnswer{Host: host, From: from.UTC(), To: to.UTC(), Status: intervalsOut(tl.Host), Probes: map[string][]timelineInterval{}}
	for name, iv := range tl.Probes {
		out.Probes[name] = intervalsOut(iv)
	}
	return out, nil
}

func intervalsOut(iv []store.Interval) []timelineInterval {
	out := make([]timelineInterval, 0, len(iv))
	for _, i := range iv {
		level := "unknown"
		if i.Status != nil {
			level = strings.ToLower(model.StatusName(*i.Status))
		}
		out = append(out, timelineInterval{From: i.From.UTC(), To: i.To.UTC(), Status: i.Status, Level: level})
	}
	return out
}

// metricsAnswer is GET /api/hosts/:host/probes/:probe/metrics.
type metricsAnswer struct {
	Host   string          `json:"host"`
	Probe  string          `json:"probe"`
	From   time.Time       `json:"from"`
	To     time.Time       `json:"to"`
	Step   float64         `json:"step"`
	Source string          `json:"source"`
	Series []metricsSeries `json:"series"`
}

type metricsSeries struct {
	Tags   map[string]string `json:"tags"`
	Points []metricsPoint    `json:"points"`
}

// metricsPoint is one step; its values are null in a gap (the probe sent
// NaN or ±Inf).
type metricsPoint struct {
	T     int64    `json:"t"`
	Min   *float64 `json:"min"`
	Max   *float64 `json:"max"`
	Avg   *float64 `json:"avg"`
	Last  *float64 `json:"last"`
	Count int64    `json:"count"`
}

func (s *server) getHostProbeMetrics(r *http.Request) (any, error) {
	if s.history == nil {
		return nil, errorf(http.StatusServiceUnavailable, "metric history is not enabled on this instance")
	}
	host, probe := r.PathValue("hostname"), r.PathValue("probe")
	asCSV, err := wantsCSV(r)
	if err != nil {
		return nil, err
	}
	now := s.now()
	from, to, err := historyRange(r.URL.Query(), now, s.history.HistoryRetention())
	if err != nil {
		return nil, err
	}
	step, err := historyStep(r.URL.Query().Get("step"), to.Sub(from))
	if err != nil {
		return nil, err
	}
	series, source, used, err := s.history.History(r.Context(), store.HistoryQuery{Host: host, Probe: probe, From: from, To: to, Step: step, Now: now})
	if err != nil {
		return nil, err
	}
	if len(series) == 0 {
		if h, ok := s.state.FindHost(host); !ok {
			return nil, hostNotFound(host)
		} else if h.Probes[probe] == nil {
			return nil, probeNotFound(probe, host)
		}
	}
	out := metricsAnswer{Host: host, Probe: probe, From: from.UTC(), To: to.UTC(), Step: used.Seconds(), Source: source, Series: []metricsSeries{}}
	for _, sr := range series {
		ms := metricsSeries{Tags: sr.Tags, Points: make([]metricsPoint, 0, len(sr.Points))}
		for _, p := range sr.Points {
			mp := metricsPoint{T: p.T.UnixMilli(), Count: p.Count}
			if p.Count > 0 {
				mp.Min, mp.Max, mp.Avg, mp.Last = &p.Min, &p.Max, &p.Avg, &p.Last
			}
			ms.Points = append(ms.Points, mp)
		}
		out.Series = append(out.Series, ms)
	}
	if asCSV {
		return metricsCSV(out), nil
	}
	return out, nil
}

// wantsCSV reads which format the metrics are asked in: format=csv or
// format=json, else CSV when the Accept header names text/csv and JSON
// otherwise.
func wantsCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/csv"), nil
	default:
		return false, errorf(http.StatusBadRequest, "format %q is not csv or json", f)
	}
}

// csvAnswer is an answer written as CSV (writeJSON writes it as it is,
// with its file name), for a spreadsheet rather than a program.
type csvAnswer struct {
	filename string
	rows     [][]string
}

// metricsCSV is the series as one row per point: time (RFC 3339, UTC),
// host, probe, tags (k=v, sorted, space-separated), min, max, avg, last,
// count; a gap has empty values and count 0.
func metricsCSV(a metricsAnswer) *csvAnswer {
	out := &csvAnswer{filename: a.Host + "-" + a.Probe + "-metrics.csv",
		rows: [][]string{{"time", "host", "probe", "tags", "min", "max", "avg", "last", "count"}}}
	value := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'g', -1, 64)
	}
	for _, sr := range a.Series {
		keys := make([]string, 0, len(sr.Tags))
		for k := range sr.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		tags := make([]string, len(keys))
		for i, k := range keys {
			tags[i] = k + "=" + sr.Tags[k]
		}
		for _, p := range sr.Points {
			out.rows = append(out.rows, []string{time.UnixMilli(p.T).UTC().Format(time.RFC3339), a.Host, a.Probe, strings.Join(tags, " "),
				value(p.Min), value(p.Max), value(p.Avg), value(p.Last), strconv.FormatInt(p.Count, 10)})
		}
	}
	return out
}

// write writes the rows as CSV.
func (c *csvAnswer) write(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(c.rows); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// historyRange reads from and to (RFC 3339 or unix seconds; defaults: the
// last hour up to now) and refuses a range that is backwards or reaches
// past the retention.
func historyRange(v url.Values, now time.Time, retention time.Duration) (from, to time.Time, err error) {
	to, from = now, now.Add(-time.Hour)
	if s := v.Get("to"); s != "" {
		if to, err = historyTime("to", s); err != nil {
			return
		}
		if v.Get("from") == "" {
			from = to.Add(-time.Hour)
		}
	}
	if s := v.Get("from"); s != "" {
		if from, err = historyTime("from", s); err != nil {
			return
		}
	}
	if !from.Before(to) {
		return from, to, errorf(http.StatusBadRequest, "from (%s) must be before to (%s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	if oldest := now.Add(-retention); from.Before(oldest.Add(-time.Minute)) {
		return from, to, errorf(http.StatusBadRequest, "from (%s) is older than the history kept (%s, back to %s)",
			from.UTC().Format(time.RFC3339), retention, oldest.UTC().Format(time.RFC3339))
	}
	return from, to, nil
}

// historyTime parses an RFC 3339 time or a number of unix seconds.
func historyTime(name, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e11 {
		return time.UnixMilli(int64(f * 1000)), nil
	}
	return time.Time{}, errorf(http.StatusBadRequest, "%s %q is not a time: give RFC 3339 (2026-12-04T10:00:00Z) or unix seconds", name, s)
}

// historyStep reads step (a Go duration such as 5m, or seconds), at least
// one second and giving at most maxHistoryPoints points over span; by
// default the smallest whole second that does.
func historyStep(s string, span time.Duration) (time.Duration, error) {
	least := max(time.Second, ((span+maxHistoryPoints-1)/maxHistoryPoints + time.Second - 1).Truncate(time.Second))
	if s == "" {
		return least, nil
	}
	step, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e9 {
			return 0, errorf(http.StatusBadRequest, "step %q is not a duration: give seconds or a duration such as 5m", s)
		}
		step = time.Duration(f * float64(time.Second))
	}
	if step < time.Second {
		return 0, errorf(http.StatusBadRequest, "step %q is below the least of 1s", s)
	}
	if step < least {
		return 0, errorf(http.StatusBadRequest, "step %q gives more than %d points over %s: use %s or more", s, maxHistoryPoints, span, least)
	}
	return step, nil
}
