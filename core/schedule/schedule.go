// Package schedule reads recurring windows of wall-clock time, such as a
// maintenance window "Sun 02:00-04:00" in Europe/Paris, and finds their
// occurrences as instants, daylight saving time included.
//
// The grammar is three tokens, so it is read here rather than with a cron
// library: cron names instants, not windows with an end, and an RRULE
// library would bring a language operators do not write by hand.
//
//	schedule = [days " "] time "-" time
//	days     = "daily" | day-item *("," day-item)
//	day-item = day | day "-" day         (Fri-Mon wraps round the week)
//	day      = Mon | Tue | Wed | Thu | Fri | Sat | Sun   (any case)
//	time     = HH:MM, 00:00 to 24:00
//
// A window whose end is not after its start ends the next day
// ("Sat 22:00-02:00" runs from Saturday night into Sunday). Its day is the
// day it starts.
//
// Wall-clock times that a DST change skips or repeats are resolved so that
// a window covers what the clock on the wall shows: it starts at the first
// instant the clock shows its start time or later, and ends at the first
// instant it shows its end time or later. "02:00-04:00" lasts one hour on
// the night the clocks go forward (02:00 never shows; it starts at 03:00)
// and three hours on the night they go back (it starts at the first 02:00).
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// The zone database inside the binary: a time_zone must mean the same
	// on a minimal host or container without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Window is a parsed schedule in a time zone.
type Window struct {
	days     [7]bool // by time.Weekday
	from, to int     // minutes since midnight; to may be 24*60
	loc      *time.Location
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Parse reads spec in loc. Its errors say what is wrong in a sentence.
func Parse(spec string, loc *time.Location) (Window, error) {
	w := Window{loc: loc}
	fields := strings.Fields(spec)
	var span string
	switch len(fields) {
	case 1:
		span = fields[0]
		w.days = [7]bool{true, true, true, true, true, true, true}
	case 2:
		if err := w.parseDays(fields[0]); err != nil {
			return w, err
		}
		span = fields[1]
	default:
		return w, fmt.Errorf("want days and a time span such as \"Sun 02:00-04:00\" or \"Mon-Fri 22:00-23:00\", got %q", spec)
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return w, fmt.Errorf("want a time span HH:MM-HH:MM, got %q", span)
	}
	if err := w.span(a, b); err != nil {
		return w, err.Err
	}
	return w, nil
}

// Daily is the window from from to to (HH:MM each) every day in loc, such
// as quiet hours from "22:00" to "07:00". Its error names the time that is
// wrong.
func Daily(from, to string, loc *time.Location) (Window, error) {
	w := Window{loc: loc, days: [7]bool{true, true, true, true, true, true, true}}
	if err := w.span(from, to); err != nil {
		return w, err
	}
	return w, nil
}

// SpanError is what is wrong with a window's times: its start (From) or
// its end.
type SpanError struct {
	From bool
	Err  error
}

func (e *SpanError) Error() string { return e.Err.Error() }
func (e *SpanError) Unwrap() error { return e.Err }

// span reads the window's start a and end b.
func (w *Window) span(a, b string) *SpanError {
	var err error
	if w.from, err = clock(a); err != nil {
		return &SpanError{From: true, Err: err}
	}
	if w.to, err = clock(b); err != nil {
		return &SpanError{Err: err}
	}
	if w.from == 24*60 {
		return &SpanError{From: true, Err: fmt.Errorf("a window cannot start at 24:00; write 00:00 of the next day")}
	}
	if w.from == w.to {
		return &SpanError{Err: fmt.Errorf("%s-%s starts and ends at the same time", a, b)}
	}
	return nil
}

// LoadZone is the time zone name names ("Europe/Paris", "UTC") from the
// zone database built into the binary, so that a time zone means the same
// on a host without /usr/share/zoneinfo. "" and "Local" are refused: the
// host's own zone is not written in the configuration.
func LoadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, fmt.Errorf("time_zone = %q is not a time zone name such as \"Europe/Paris\" or \"UTC\"", name)
	}
	return loc, nil
}

func (w *Window) parseDays(s string) error {
	if strings.EqualFold(s, "daily") {
		w.days = [7]bool{true, true, true, true, true, true, true}
		return nil
	}
	for _, item := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		first, ok := dayNames[strings.ToLower(a)]
		if !ok {
			return fmt.Errorf("%q is not a day: want Mon, Tue, Wed, Thu, Fri, Sat or Sun (or daily)", a)
		}
		last := first
		if isRange {
			if last, ok = dayNames[strings.ToLower(b)]; !ok {
				return fmt.Errorf("%q is not a day: want Mon, Tue, Wed, Thu, Fri, Sat or Sun", b)
			}
		}
		for d := first; ; d = (d + 1) % 7 {
			w.days[d] = true
			if d == last {
				break
			}
		}
	}
	return nil
}

// clock reads HH:MM as minutes since midnight.
func clock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day: want HH:MM between 00:00 and 24:00", s)
	}
	return hh*60 + mm, nil
}

// occurrence is the window that starts on the calendar day of day (in loc).
func (w Window) occurrence(day time.Time) (start, end time.Time) {
	y, m, d := day.Date()
	start = wall(y, m, d, w.from, w.loc)
	if w.to > w.from {
		end = wall(y, m, d, w.to, w.loc)
	} else {
		end = wall(y, m, d+1, w.to, w.loc)
	}
	return start, end
}

// At returns the occurrence that t falls in, if any.
func (w Window) At(t time.Time) (start, end time.Time, ok bool) {
	day := t.In(w.loc)
	// A window that crosses midnight may have started the day before.
	for _, off := range []int{-1, 0} {
		d := day.AddDate(0, 0, off)
		if !w.days[d.Weekday()] {
			continue
		}
		s, e := w.occurrence(d)
		if !t.Before(s) && t.Before(e) {
			return s, e, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// Next returns the first occurrence that starts after t.
func (w Window) Next(t time.Time) (start, end time.Time) {
	day := t.In(w.loc)
	for off := 0; off <= 8; off++ {
		d := day.AddDate(0, 0, off)
		if !w.days[d.Weekday()] {
			continue
		}
		if s, e := w.occurrence(d); s.After(t) {
			return s, e
		}
	}
	// Unreachable: Parse accepts no schedule without a day.
	return time.Time{}, time.Time{}
}

// wall is the first instant at which the clock in loc shows minutes past
// midnight of y-m-d or later: a time a DST change skips starts when the
// clock jumps past it, a time it repeats at its first showing.
func wall(y int, m time.Month, d, minutes int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, minutes, 0, 0, loc)
	want := time.Date(y, m, d, 0, minutes, 0, 0, time.UTC) // the wall clock, as a comparable value
	if shown(t).After(want) {
		// Skipped: time.Date moved it forward; the clock jumped past it
		// when its zone period began.
		start, _ := t.ZoneBounds()
		return start
	}
	// Repeated: an earlier instant in the zone period before showed it too.
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		before := start.Add(-time.Nanosecond)
		_, offBefore := before.Zone()
		_, off := t.Zone()
		if offBefore > off {
			if first := t.Add(-time.Duration(offBefore-off) * time.Second); first.Before(start) && shown(first).Equal(want) {
				return first
			}
		}
	}
	return t
}

// shown is what t's wall clock reads, as a UTC value for comparison.
func shown(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
