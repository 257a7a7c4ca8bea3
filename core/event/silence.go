package event

import (
	"strings"
	"time"
)

// Silence holds back the notifications of everything its matchers match
// from Start until End: a planned reboot, a known outage. Matchers are
// patterns where * stands for any run of characters; an empty one matches
// everything. A silence with a Probe matcher silences those probes only; one
// without also silences its hosts' own changes (DOWN, UP).
type Silence struct {
	ID      string    `json:"Id"`
	Host    string    `json:"Host,omitempty"`
	Group   string    `json:"Group,omitempty"`
	Probe   string    `json:"Probe,omitempty"`
	Start   time.Time `json:"Start"`
	End     time.Time `json:"End"`
	Author  string    `json:"Author"`
	Comment string    `json:"Comment,omitempty"`
	// Created is when it was made (or last extended).
	Created time.Time `json:"Created"`
}

// MaintenanceAuthor is the Author of the silences a maintenance window
// opens: the store remembers each occurrence opened, so that one ended or
// expired early is not opened again after a restart inside the window.
const MaintenanceAuthor = "maintenance"

// Active reports whether s holds changes back at t.
func (s Silence) Active(t time.Time) bool { return !t.Before(s.Start) && t.Before(s.End) }

// Matches reports whether s's matchers match a host's probe (probe "" for
// the host's own changes).
func (s Silence) Matches(host, group, probe string) bool {
	if probe == "" && s.Probe != "" {
		return false
	}
	return matchOrAny(s.Host, host) && matchOrAny(s.Group, group) && matchOrAny(s.Probe, probe)
}

// Describe is the silence as the log and a held-back reason say it.
func (s Silence) Describe() string {
	d := "silence " + s.ID + " by " + s.Author
	if s.Comment != "" {
		d += ": " + s.Comment
	}
	return d
}

// Match reports whether s matches pattern, case-insensitively, '*' matching
// any run of characters (empty included) and every other character itself.
// Host and group names contain '.', '[' or '?' often enough that a full glob
// syntax would surprise.
func Match(pattern, s string) bool { return Compile(pattern).Match(strings.ToLower(s)) }

// Pattern is a Match pattern compiled once, so that matching it against
// every event allocates nothing.
type Pattern struct {
	// parts are the lowercased pieces between the stars: one part is a
	// literal name.
	parts []string
}

// Compile compiles a Match pattern.
func Compile(pattern string) Pattern {
	return Pattern{parts: strings.Split(strings.ToLower(pattern), "*")}
}

// Match reports whether p matches name, which must be lowercased already.
func (p Pattern) Match(name string) bool {
	parts := p.parts
	if len(parts) == 1 {
		return parts[0] == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(name, mid)
		if i < 0 {
			return false
		}
		name = name[i+len(mid):]
	}
	return strings.HasSuffix(name, last)
}

// matchOrAny is Match where an empty pattern matches every name.
func matchOrAny(pattern, name string) bool { return pattern == "" || Match(pattern, name) }
