package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// searchFixture is a small log with the words a search is asked for in
// messages, hosts and probes, oldest first.
func searchFixture() []model.LogEntry {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rows := []struct {
		level             int
		host, probe, text string
	}{
		{model.LogNotice, "loadgen-000001", "check_disk", "Probe check_disk switched from 300 to 100 : /var 40% used"},
		{model.LogCritical, "loadgen-000002", "check_disk", "Probe check_disk switched from 100 to 300 : /var 97% used"},
		{model.LogWarning, "db-1", "replication", "Probe replication switched from 100 to 200 : lag 42 s"},
		{model.LogError, "db-1", "mysql", "Probe mysql switched from 100 to 500 : kernel: oom-killer invoked on pid 4242"},
		{model.LogEmergency, "loadgen-000017", "", "Host loadgen-000017 is DOWN"},
		{model.LogInfo, "web-1", "ntp", "Probe ntp switched from 100 to 101 : Ünïcode drift 3 ms"},
		{model.LogNotice, "web-1", "ntp", `Probe ntp switched from 101 to 100 : said "quote" and * star`},
	}
	out := make([]model.LogEntry, len(rows))
	for i, r := range rows {
		out[i] = model.LogEntry{Timestamp: t0.Add(time.Duration(i) * time.Minute).Unix(), Level: r.level, Host: r.host, Probe: r.probe, Group: "g", Message: r.text}
	}
	return out
}

// Free text finds a row by any word of its message, host or probe, case
// folded, the last term of a word as a prefix, a hyphenated name as a
// phrase; every word must match; the user's text is never query syntax.
// Levels keep only the rows at those levels, and both combine with the
// other filters.
func TestSearchTextAndLevels(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store) {
		all := searchFixture()
		if err := s.Append(ctx, all...); err != nil {
			t.Fatal(err)
		}
		hosts := func(rows []model.LogEntry) []string {
			out := []string{}
			for _, r := range rows {
				out = append(out, r.Host+"/"+r.Probe)
			}
			return out
		}
		for _, c := range []struct {
			name string
			q    Query
			want []string // newest first
		}{
			{"message word", Query{Text: "oom-killer"}, []string{"db-1/mysql"}},
			{"case folded", Query{Text: "OOM"}, []string{"db-1/mysql"}},
			{"prefix", Query{Text: "replic"}, []string{"db-1/replication"}},
			{"hyphenated host", Query{Text: "loadgen-000002"}, []string{"loadgen-000002/check_disk"}},
			{"host prefix", Query{Text: "loadgen-00001"}, []string{"loadgen-000017/"}},
			{"probe", Query{Text: "check_disk"}, []string{"loadgen-000002/check_disk", "loadgen-000001/check_disk"}},
			{"every word", Query{Text: "check_disk 97%"}, []string{"loadgen-000002/check_disk"}},
			{"a word matching nothing", Query{Text: "check_disk nowhere"}, []string{}},
			{"diacritics", Query{Text: "ünïcode"}, []string{"web-1/ntp"}},
			{"quotes are text", Query{Text: `"quote"`}, []string{"web-1/ntp"}},
			{"syntax is text", Query{Text: `NEAR( -db OR * "`}, []string{}},
			{"only punctuation", Query{Text: "-- *"}, []string{}},
			{"with a host", Query{Text: "switched", Host: "db-1"}, []string{"db-1/mysql", "db-1/replication"}},
			{"levels", Query{Levels: []int{model.LogCritical, model.LogError, model.LogEmergency}}, []string{"loadgen-000017/", "db-1/mysql", "loadgen-000002/check_disk"}},
			{"levels and text", Query{Levels: []int{model.LogNotice}, Text: "ntp"}, []string{"web-1/ntp"}},
			{"levels and paging", Query{Levels: []int{model.LogNotice}, Limit: 1, Offset: 1}, []string{"loadgen-000001/check_disk"}},
			{"since", Query{Since: time.Unix(all[5].Timestamp, 0)}, []string{"web-1/ntp", "web-1/ntp"}},
			{"until", Query{Until: time.Unix(all[1].Timestamp, 0)}, []string{"loadgen-000001/check_disk"}},
			{"since, until and text", Query{Since: time.Unix(all[1].Timestamp, 0), Until: time.Unix(all[4].Timestamp, 0), Text: "switched"}, []string{"db-1/mysql", "db-1/replication", "loadgen-000002/check_disk"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.Search(ctx, c.q)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(hosts(got), c.want) {
					t.Errorf("Search(%+v) = %v, want %v", c.q, hosts(got), c.want)
				}
			})
		}
	})
}

// Retention's deletes leave the index: a pruned row is not found, the
// rows kept still are, and FTS4's own check finds the index whole.
func TestSearchIndexFollowsPrune(t *testing.T) {
	ctx := context.Background()
	s := OpenTest(t)
	all := searchFixture()
	if err := s.Append(ctx, all...); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, time.Unix(all[4].Timestamp, 0)); err != nil || n != 4 {
		t.Fatalf("Prune = %d, %v; want 4 rows", n, err)
	}
	for text, want := range map[string]int{"oom": 0, "check_disk": 0, "loadgen": 1, "ntp": 2} {
		got, err := s.Search(ctx, Query{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Errorf("after prune, %q finds %d rows, want %d", text, len(got), want)
		}
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO logs_fts (logs_fts) VALUES ('integrity-check')"); err != nil {
		t.Errorf("FTS integrity check: %v", err)
	}
}

// A database written before the search index existed gets every old row
// indexed when it is opened by this binary.
func TestSearchFindsRowsFromBeforeTheIndex(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/wigo.db"
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Back to the schema before the search index: no index, no trigger.
	for _, q := range []string{"DROP TRIGGER logs_fts_delete", "DROP TABLE logs_fts", "DROP INDEX logs_level",
		"DELETE FROM schema_migrations WHERE name = 'logs_search'"} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Rows as a binary of that schema wrote them: no index to add them to.
	for _, e := range searchFixture() {
		if _, err := s.w.ExecContext(ctx, "INSERT INTO logs (date, level, grp, host, probe, message) VALUES (?, ?, ?, ?, ?, ?)",
			time.Unix(e.Timestamp, 0).UnixNano(), e.Level, e.Group, e.Host, e.Probe, e.Message); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, Options{})
	got, err := s.Search(ctx, Query{Text: "oom-killer"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Host != "db-1" {
		t.Errorf("after the migration, oom-killer finds %v, want the db-1 row", got)
	}
}

// The batching writer indexes what it writes: events logged through it
// are found by their words, each once, batch after batch.
func TestSearchFindsWhatTheWriterLogged(t *testing.T) {
	forEachBackendOptions(t, Options{BatchSize: 7}, func(t *testing.T, s *Store) {
		ch := make(chan event.Event, 64)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.RunWriter(ctx, ch) }()
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		for i := 0; i < 50; i++ {
			ch <- event.Event{Kind: event.ProbeChanged, Time: t0.Add(time.Duration(i) * time.Second), Host: fmt.Sprintf("web-%02d", i%5), Group: "web",
				Probe: "disk", OldStatus: 100, NewStatus: 300, Message: fmt.Sprintf("Probe disk switched from 100 to 300 : /var %d%% used", 50+i)}
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for text, want := range map[string]int{"web-03": 10, "97%": 1, "disk switched": 50, "oom": 0} {
			got, err := s.Search(context.Background(), Query{Text: text})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != want {
				t.Errorf("%q finds %d rows, want %d", text, len(got), want)
			}
		}
	})
}

// A word on many rows is searched in windows of the newest ids first: the
// pages are those of the whole log, deep pages included, with a row
// written late (an old date, the newest id: the windows answer) or early
// (the newest date, the oldest id: the whole log is searched).
func TestSearchManyMatchesPagesExactly(t *testing.T) {
	defer func(w int) { ftsWindow = w }(ftsWindow)
	ftsWindow = 100
	for _, early := range []bool{false, true} {
		t.Run(fmt.Sprintf("early=%v", early), func(t *testing.T) {
			ctx := context.Background()
			s := OpenTest(t)
			t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			var all []model.LogEntry
			add := func(at time.Time, msg string) {
				all = append(all, model.LogEntry{Timestamp: at.Unix(), Level: model.LogWarning, Host: "h", Group: "g", Probe: "p", Message: msg})
			}
			if early {
				add(t0.Add(10*time.Hour), "common early-newest")
			}
			for i := 0; i < 3*ftsFew; i++ {
				add(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("common row %d", i))
			}
			add(t0.Add(-time.Hour), "common late-oldest")
			for _, e := range all { // one row per write: ids in this order
				if err := s.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			// The whole log's order: date, then id, newest first.
			want := slices.Clone(all)
			slices.Reverse(want)
			slices.SortStableFunc(want, func(a, b model.LogEntry) int { return int(b.Timestamp - a.Timestamp) })
			for _, c := range []struct{ limit, offset int }{{5, 0}, {50, 0}, {100, 150}, {1000, 2500}, {10, len(all) - 3}} {
				got, err := s.Search(ctx, Query{Text: "common", Limit: c.limit, Offset: c.offset})
				if err != nil {
					t.Fatal(err)
				}
				end := min(c.offset+c.limit, len(want))
				if !slices.Equal(messages(got), messages(want[c.offset:end])) {
					t.Errorf("limit %d offset %d: got %d rows %v…, want %v…", c.limit, c.offset, len(got), head(messages(got)), head(messages(want[c.offset:end])))
				}
			}
		})
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }
