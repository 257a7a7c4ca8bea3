package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// intervals renders a timeline as "from-to:status" in minutes after t0,
// "?" for unknown.
func intervals(t0 time.Time, iv []Interval) string {
	var out []string
	for _, i := range iv {
		st := "?"
		if i.Status != nil {
			st = fmt.Sprint(*i.Status)
		}
		out = append(out, fmt.Sprintf("%d-%d:%s", int(i.From.Sub(t0).Minutes()), int(i.To.Sub(t0).Minutes()), st))
	}
	return strings.Join(out, " ")
}

// A host's timeline follows its logged changes, at the worst of its
// probes; it is unknown while the daemon was stopped and while the host
// was DOWN, never OK.
func TestTimeline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ch := historyWriter(t, s)
		ctx := context.Background()
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
		probe := func(min int, kind event.Kind, name string, from, to int) event.Event {
			return event.Event{Kind: kind, Time: at(min), Host: "web-1", Probe: name, OldStatus: from, NewStatus: to}
		}
		ch <- probe(10, event.ProbeChanged, "disk", 100, 300)
		ch <- probe(20, event.ProbeChanged, "disk", 300, 100)
		ch <- probe(25, event.ProbeAppeared, "raid", 0, 200)
		ch <- event.Event{Kind: event.HostDown, Time: at(70), Host: "web-1", OldStatus: 200, NewStatus: 999}
		ch <- event.Event{Kind: event.HostUp, Time: at(80), Host: "web-1", OldStatus: 999, NewStatus: 200}
		flush(t, s)
		// The daemon ran from 0 to 40 (last marked at 38) and from 60 on.
		for _, m := range []int{0, 20, 38} {
			if err := s.MarkRun(ctx, at(0), at(m)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MarkRun(ctx, at(60), at(89)); err != nil {
			t.Fatal(err)
		}
		tl, err := s.Timeline(ctx, "web-1", at(0), at(90), []string{"load"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := intervals(t0, tl.Host), "0-10:100 10-20:300 20-25:100 25-40:200 40-60:? 60-70:200 70-80:? 80-90:200"; got != want {
			t.Errorf("host timeline\n got %s\nwant %s", got, want)
		}
		for probe, want := range map[string]string{
			"disk": "0-10:100 10-20:300 20-40:100 40-60:? 60-70:100 70-80:? 80-90:100",
			"raid": "0-25:? 25-40:200 40-60:? 60-70:200 70-80:? 80-90:200",
			"load": "0-40:100 40-60:? 60-70:100 70-80:? 80-90:100",
		} {
			if got := intervals(t0, tl.Probes[probe]); got != want {
				t.Errorf("%s timeline\n got %s\nwant %s", probe, got, want)
			}
		}
		// Before any run was recorded nothing is known.
		tl, err = s.Timeline(ctx, "web-1", at(-30), at(5), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := intervals(t0, tl.Host), "-30-0:? 0-5:100"; got != want {
			t.Errorf("host timeline before the first run\n got %s\nwant %s", got, want)
		}
	})
}
