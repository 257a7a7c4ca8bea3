package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func paris(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t *testing.T, spec string, loc *time.Location) Window {
	t.Helper()
	w, err := Parse(spec, loc)
	if err != nil {
		t.Fatalf("Parse(%q): %v", spec, err)
	}
	return w
}

// Sundays 02:00-04:00 in Paris, around both DST changes: the window covers
// what the wall clock shows, one hour when the clocks go forward, three
// when they go back, two on an ordinary Sunday.
func TestWindowAcrossDST(t *testing.T) {
	loc := paris(t)
	w := mustParse(t, "Sun 02:00-04:00", loc)
	for _, c := range []struct {
		name       string
		after      time.Time
		start, end time.Time
	}{
		{"ordinary Sunday (CET)", time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC), time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)},
		{"clocks go back (03:00 CEST -> 02:00 CET)", time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 3, 0, 0, 0, time.UTC)},
		{"clocks go forward (02:00 CET -> 03:00 CEST)", time.Date(2027, 3, 27, 12, 0, 0, 0, time.UTC),
			time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC), time.Date(2027, 3, 28, 2, 0, 0, 0, time.UTC)},
		{"ordinary Sunday (CEST)", time.Date(2027, 4, 3, 12, 0, 0, 0, time.UTC),
			time.Date(2027, 4, 4, 0, 0, 0, 0, time.UTC), time.Date(2027, 4, 4, 2, 0, 0, 0, time.UTC)},
	} {
		s, e := w.Next(c.after)
		if !s.Equal(c.start) || !e.Equal(c.end) {
			t.Errorf("%s: next window %s to %s, want %s to %s (%s long)", c.name, s.UTC(), e.UTC(), c.start, c.end, c.end.Sub(c.start))
		}
		for _, probe := range []struct {
			at   time.Time
			want bool
		}{{c.start.Add(-time.Nanosecond), false}, {c.start, true}, {c.end.Add(-time.Nanosecond), true}, {c.end, false}} {
			if _, _, ok := w.At(probe.at); ok != probe.want {
				t.Errorf("%s: At(%s) = %v, want %v", c.name, probe.at.UTC(), ok, probe.want)
			}
		}
	}
}

// A start time the clocks skip starts the window when they jump past it; a
// start time they repeat starts it at its first showing.
func TestSkippedAndRepeatedTimes(t *testing.T) {
	loc := paris(t)
	w := mustParse(t, "Sun 02:30-03:30", loc)
	s, e := w.Next(time.Date(2027, 3, 27, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC); !s.Equal(want) {
		t.Errorf("02:30 on the night it does not exist: start %s, want %s (03:00 CEST)", s.UTC(), want)
	}
	if want := time.Date(2027, 3, 28, 1, 30, 0, 0, time.UTC); !e.Equal(want) {
		t.Errorf("03:30 CEST: end %s, want %s", e.UTC(), want)
	}
	s, e = w.Next(time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC); !s.Equal(want) {
		t.Errorf("02:30 on the night it shows twice: start %s, want %s (the first, CEST)", s.UTC(), want)
	}
	if want := time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC); !e.Equal(want) {
		t.Errorf("03:30 CET: end %s, want %s", e.UTC(), want)
	}
}

// Days: lists, ranges that wrap round the week, daily, no day at all; a
// window that crosses midnight belongs to the day it starts.
func TestDays(t *testing.T) {
	utc := time.UTC
	sat := time.Date(2026, 12, 5, 0, 0, 0, 0, utc) // a Saturday
	for _, c := range []struct {
		spec string
		at   time.Time
		want bool
	}{
		{"Mon-Fri 09:00-17:00", sat.Add(10 * time.Hour), false},
		{"Mon-Fri 09:00-17:00", sat.AddDate(0, 0, 2).Add(10 * time.Hour), true},
		{"Fri-Mon 09:00-17:00", sat.Add(10 * time.Hour), true},
		{"Fri-Mon 09:00-17:00", sat.AddDate(0, 0, 3).Add(10 * time.Hour), false},
		{"sat,SUN 09:00-17:00", sat.AddDate(0, 0, 1).Add(16 * time.Hour), true},
		{"daily 23:00-24:00", sat.Add(23*time.Hour + 30*time.Minute), true},
		{"23:00-01:00", sat.Add(24*time.Hour + 30*time.Minute), true},
		{"Sat 22:00-02:00", sat.Add(25 * time.Hour), true},
		{"Sat 22:00-02:00", sat.Add(-time.Hour), false},
		{"Sun 22:00-02:00", sat.Add(25 * time.Hour), false},
	} {
		w := mustParse(t, c.spec, utc)
		if _, _, ok := w.At(c.at); ok != c.want {
			t.Errorf("%q at %s (%s): %v, want %v", c.spec, c.at, c.at.Weekday(), ok, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"":                       "want days and a time span",
		"Sun 02:00-04:00 UTC":    "want days and a time span",
		"Sunday 02:00-04:00":     `"Sunday" is not a day`,
		"Mon-Funday 02:00-04:00": `"Funday" is not a day`,
		"Sun 02:00":              "want a time span",
		"Sun 2:0-04:00":          `"2:0" is not a time of day`,
		"Sun 25:00-04:00":        `"25:00" is not a time of day`,
		"Sun 02:00-24:30":        `"24:30" is not a time of day`,
		"Sun 24:00-02:00":        "cannot start at 24:00",
		"Sun 02:00-02:00":        "starts and ends at the same time",
	} {
		_, err := Parse(spec, time.UTC)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", spec, err, want)
		}
	}
}

// Daily quiet hours end at the wall clock's 07:00 on the night the clocks
// go forward too (an hour shorter), and a wrong time is named as the start
// or the end.
func TestDaily(t *testing.T) {
	loc := paris(t)
	w, err := Daily("22:00", "07:00", loc)
	if err != nil {
		t.Fatal(err)
	}
	start, end, ok := w.At(time.Date(2027, 3, 27, 23, 30, 0, 0, time.UTC)) // 00:30 CET, the night of the change
	if !ok || !start.Equal(time.Date(2027, 3, 27, 21, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2027, 3, 28, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("the night clocks go forward: %v %s–%s, want 21:00–05:00 UTC", ok, start, end)
	}
	if _, _, ok := w.At(time.Date(2027, 3, 28, 5, 0, 0, 0, time.UTC)); ok {
		t.Error("07:00 CEST is still quiet")
	}
	for _, c := range []struct {
		from, to string
		isFrom   bool
	}{{"7pm", "07:00", true}, {"24:00", "07:00", true}, {"22:00", "7", false}, {"22:00", "22:00", false}} {
		var se *SpanError
		if _, err := Daily(c.from, c.to, loc); !errors.As(err, &se) || se.From != c.isFrom {
			t.Errorf("Daily(%q, %q): %v, want a SpanError with From %v", c.from, c.to, err, c.isFrom)
		}
	}
	if z, err := LoadZone("Europe/Paris"); err != nil || z.String() != "Europe/Paris" {
		t.Errorf("LoadZone(Europe/Paris): %v %v", z, err)
	}
	for _, bad := range []string{"", "Local", "Paris"} {
		if _, err := LoadZone(bad); err == nil {
			t.Errorf("LoadZone(%q) accepted", bad)
		}
	}
}
