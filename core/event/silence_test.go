package event

import (
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "x", true}, {"a*", "A", true}, {"*b", "ab", true},
		{"a*b*c", "aXbYc", true}, {"a*b*c", "acb", false}, {"a*a", "a", false},
		{"web[1]", "web[1]", true}, {"w?b", "web", false}, {"", "", true}, {"", "x", false},
	} {
		if got := Match(tt.p, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

func TestSilenceMatches(t *testing.T) {
	s := Silence{Host: "db*", Probe: "disk*"}
	for _, tt := range []struct {
		host, group, probe string
		want               bool
	}{
		{"db-1", "", "disk_usage", true},
		{"DB-2", "back", "disk", true},
		{"db-1", "", "load", false},
		{"web-1", "", "disk", false},
		// A probe matcher leaves the host's own DOWN/UP alone.
		{"db-1", "", "", false},
	} {
		if got := s.Matches(tt.host, tt.group, tt.probe); got != tt.want {
			t.Errorf("%+v matches %s/%s (group %q) = %v, want %v", s, tt.host, tt.probe, tt.group, got, tt.want)
		}
	}
	all := Silence{Group: "back"}
	if !all.Matches("db-1", "back", "") || !all.Matches("db-1", "back", "disk") || all.Matches("db-1", "front", "disk") {
		t.Errorf("a group silence without host or probe matchers must match the whole group, its hosts' own changes included")
	}
}

func TestSilenceActive(t *testing.T) {
	t0 := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	s := Silence{Start: t0, End: t0.Add(time.Hour)}
	if s.Active(t0.Add(-time.Nanosecond)) || !s.Active(t0) || !s.Active(t0.Add(59*time.Minute)) || s.Active(t0.Add(time.Hour)) {
		t.Errorf("a silence is active from its start (included) to its end (excluded)")
	}
}
