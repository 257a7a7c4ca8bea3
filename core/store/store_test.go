package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wigo-project/wigo/core/model"
)

func openAt(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestMigrationsAndFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "wigo")
	path := filepath.Join(dir, "wigo.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}

	if got := countRows(t, s, "schema_migrations"); got != SchemaVersion() {
		t.Errorf("schema_migrations has %d rows, want %d", got, SchemaVersion())
	}
	var mode string
	if err := s.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var sync int
	if err := s.w.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	var fk int
	if err := s.w.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	// Write something so the WAL exists, then check every file's mode.
	if err := s.Append(context.Background(), model.LogEntry{Host: "h", Message: "m", Timestamp: 1}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory mode %v, want 0700", fi.Mode().Perm())
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Re-opening applies nothing and keeps the data.
	s2 := openAt(t, path, Options{})
	if got := countRows(t, s2, "schema_migrations"); got != SchemaVersion() {
		t.Errorf("after reopen schema_migrations has %d rows, want %d", got, SchemaVersion())
	}
	if got := countRows(t, s2, "logs"); got != 1 {
		t.Errorf("after reopen logs has %d rows, want 1", got)
	}
	if err := s2.IntegrityCheck(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wigo.db")
	s := openAt(t, path, Options{})
	if _, err := s.w.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)", SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer database: err = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestOpenRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wigo.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("Open of a non-database file succeeded")
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "we?ird#dir%20x", "wigo.db")
	s := openAt(t, path, Options{})
	if err := s.Append(context.Background(), model.LogEntry{Host: "h", Timestamp: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the path given: %v", err)
	}
}

func TestLoadMigrationsValidates(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	cases := map[string]fstest.MapFS{
		"gap":      {"m/0001_a.sql": file("SELECT 1"), "m/0003_c.sql": file("SELECT 1")},
		"dup":      {"m/0001_a.sql": file("SELECT 1"), "m/0001_b.sql": file("SELECT 1")},
		"zero":     {"m/0000_a.sql": file("SELECT 1")},
		"bad name": {"m/1_a.sql": file("SELECT 1")},
	}
	for name, fsys := range cases {
		if _, err := loadMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{"m/0002_b.sql": file("B"), "m/0001_a.sql": file("A")}, "m")
	if err != nil || len(ms) != 2 || ms[0].sql != "A" || ms[1].name != "b" {
		t.Errorf("loadMigrations = %+v, %v", ms, err)
	}
}

// fixture: 3 hosts in 2 groups with 2 probes each, one host event without a
// probe; row i is i seconds after base, so newest first is reverse order.
var base = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func entryAt(i int, host, group, probe string) model.LogEntry {
	t := base.Add(time.Duration(i)*time.Second + 123456*time.Microsecond)
	return model.LogEntry{
		Date: model.FormatDate(t), Timestamp: t.Unix(),
		Level: model.LogLevelFor(300), Message: fmt.Sprintf("msg %d", i),
		Host: host, Group: group, Probe: probe,
	}
}

func fixture() []model.LogEntry {
	var out []model.LogEntry
	i := 0
	for _, h := range []struct{ host, group string }{{"leaf-1", "web"}, {"leaf-2", "web"}, {"db-1", "infra"}} {
		for _, p := range []string{"load", "disk"} {
			for range 5 {
				out = append(out, entryAt(i, h.host, h.group, p))
				i++
			}
		}
	}
	out = append(out, entryAt(i, "db-1", "infra", "")) // a host DOWN event
	return out
}

func messages(es []model.LogEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Message
	}
	return out
}

// expect filters the fixture the slow, obvious way.
func expect(all []model.LogEntry, keep func(model.LogEntry) bool, limit, offset int) []string {
	var out []string
	for i := len(all) - 1; i >= 0; i-- {
		if keep(all[i]) {
			out = append(out, all[i].Message)
		}
	}
	if offset >= len(out) {
		return []string{}
	}
	out = out[offset:]
	return out[:min(limit, len(out))]
}

func TestAppendSearch(t *testing.T) {
	ctx := context.Background()
	var committed int
	s := OpenTestOptions(t, Options{OnCommit: func(n int) { committed += n }})
	all := fixture()
	// Append in two transactions, shuffled, to show order comes from the
	// date and not from insertion.
	rev := slices.Clone(all)
	slices.Reverse(rev)
	if err := s.Append(ctx, rev[:10]...); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, rev[10:]...); err != nil {
		t.Fatal(err)
	}
	if committed != len(all) {
		t.Errorf("OnCommit reported %d rows, want %d", committed, len(all))
	}

	// Every field round-trips, including the microseconds of Date.
	got, err := s.Search(ctx, Query{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := all[len(all)-1]; len(got) != 1 || got[0] != want {
		t.Fatalf("newest row = %+v, want %+v", got, want)
	}

	any := func(model.LogEntry) bool { return true }
	cases := []struct {
		name string
		q    Query
		keep func(model.LogEntry) bool
	}{
		{"all", Query{}, any},
		{"host", Query{Host: "leaf-2"}, func(e model.LogEntry) bool { return e.Host == "leaf-2" }},
		{"group", Query{Group: "web"}, func(e model.LogEntry) bool { return e.Group == "web" }},
		{"probe", Query{Probe: "disk"}, func(e model.LogEntry) bool { return e.Probe == "disk" }},
		{"host+probe", Query{Host: "db-1", Probe: "load"}, func(e model.LogEntry) bool { return e.Host == "db-1" && e.Probe == "load" }},
		{"group+probe", Query{Group: "web", Probe: "load"}, func(e model.LogEntry) bool { return e.Group == "web" && e.Probe == "load" }},
		{"host+group", Query{Host: "leaf-1", Group: "web"}, func(e model.LogEntry) bool { return e.Host == "leaf-1" }},
		{"host+wrong group", Query{Host: "leaf-1", Group: "infra"}, func(model.LogEntry) bool { return false }},
		{"all three", Query{Host: "leaf-1", Group: "web", Probe: "disk"}, func(e model.LogEntry) bool { return e.Host == "leaf-1" && e.Probe == "disk" }},
		{"page 2", Query{Limit: 4, Offset: 4}, any},
		{"host page 2", Query{Host: "leaf-1", Limit: 3, Offset: 3}, func(e model.LogEntry) bool { return e.Host == "leaf-1" }},
		{"offset past end", Query{Offset: 1000}, any},
		{"unknown host", Query{Host: "nope"}, func(model.LogEntry) bool { return false }},
		{"injection host", Query{Host: "x' OR '1'='1"}, func(model.LogEntry) bool { return false }},
		{"injection group", Query{Group: "web' OR 1=1 --"}, func(model.LogEntry) bool { return false }},
		{"injection probe", Query{Probe: "\"; DROP TABLE logs; --"}, func(model.LogEntry) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Search(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("Search returned nil, want an empty slice")
			}
			limit := c.q.Limit
			if limit == 0 {
				limit = DefaultLimit
			}
			want := expect(all, c.keep, limit, c.q.Offset)
			if !slices.Equal(messages(got), want) {
				t.Errorf("got %v\nwant %v", messages(got), want)
			}
		})
	}
	if got := countRows(t, s, "logs"); got != len(all) {
		t.Errorf("logs table has %d rows after the injection attempts, want %d", got, len(all))
	}

	for _, q := range []Query{{Limit: -1}, {Offset: -1}, {Host: "leaf-1", Limit: -5, Offset: -5}} {
		if _, err := s.Search(ctx, q); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("Search(%+v) err = %v, want ErrInvalidQuery", q, err)
		}
	}
}

func TestSearchLimitCapAndTies(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store) {
		// MaxLimit+50 rows, all in the same second: order falls back to id.
		es := make([]model.LogEntry, MaxLimit+50)
		for i := range es {
			es[i] = model.LogEntry{Timestamp: base.Unix(), Host: "h", Message: fmt.Sprint(i)}
		}
		if err := s.Append(ctx, es...); err != nil {
			t.Fatal(err)
		}
		got, err := s.Search(ctx, Query{Limit: MaxLimit * 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != MaxLimit {
			t.Fatalf("Limit above MaxLimit returned %d rows, want %d", len(got), MaxLimit)
		}
		if got[0].Message != fmt.Sprint(len(es)-1) || got[MaxLimit-1].Message != fmt.Sprint(len(es)-MaxLimit) {
			t.Errorf("same-date rows not newest id first: first %q last %q", got[0].Message, got[MaxLimit-1].Message)
		}
		got, err = s.Search(ctx, Query{})
		if err != nil || len(got) != DefaultLimit {
			t.Errorf("default page has %d rows (%v), want %d", len(got), err, DefaultLimit)
		}
		// Date text derived from Timestamp alone.
		if got[0].Date != model.FormatDate(base) || got[0].Timestamp != base.Unix() {
			t.Errorf("row time = %q/%d, want %q/%d", got[0].Date, got[0].Timestamp, model.FormatDate(base), base.Unix())
		}
	})
}

func TestEntryTime(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ts := time.Date(2026, 11, 25, 10, 34, 21, 443134000, time.UTC)
	cases := []struct {
		name string
		e    model.LogEntry
		want time.Time
	}{
		{"date and timestamp agree", model.LogEntry{Date: model.FormatDate(ts), Timestamp: ts.Unix()}, ts},
		{"date only", model.LogEntry{Date: model.FormatDate(ts)}, ts},
		{"timestamp only", model.LogEntry{Timestamp: ts.Unix()}, ts.Truncate(time.Second)},
		{"disagree: timestamp wins", model.LogEntry{Date: model.FormatDate(ts.Add(time.Hour)), Timestamp: ts.Unix()}, ts.Truncate(time.Second)},
		{"bad date", model.LogEntry{Date: "yesterday", Timestamp: ts.Unix()}, ts.Truncate(time.Second)},
		{"nothing", model.LogEntry{}, now},
	}
	for _, c := range cases {
		if got := entryTime(c.e, now); got != c.want.UnixNano() {
			t.Errorf("%s: %v, want %v", c.name, time.Unix(0, got).UTC(), c.want.UTC())
		}
	}
}

// TestQueryPlans checks that every filter the API offers reads a page off an
// index, without a full scan or a sort.
func TestQueryPlans(t *testing.T) {
	s := OpenTest(t)
	queries := map[string]string{
		"all":         "",
		"host":        "WHERE host = ?",
		"group":       "WHERE grp = ?",
		"probe":       "WHERE probe = ?",
		"host+probe":  "WHERE host = ? AND probe = ?",
		"group+probe": "WHERE grp = ? AND probe = ?",
	}
	for name, where := range queries {
		q := "EXPLAIN QUERY PLAN SELECT date, level, grp, host, probe, message FROM logs " + where + " ORDER BY date DESC, id DESC LIMIT 10 OFFSET 0"
		args := make([]any, strings.Count(where, "?"))
		for i := range args {
			args[i] = "x"
		}
		rows, err := s.r.Query(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, " | ")
		t.Logf("%s: %s", name, p)
		if strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "INDEX") {
			t.Errorf("%s: plan %q does not read an index in order", name, p)
		}
	}
}

func TestIndexes(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store) {
		g, h, p, err := s.Indexes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g == nil || h == nil || p == nil || len(g)+len(h)+len(p) != 0 {
			t.Errorf("empty store: Indexes = %q %q %q, want three empty non-nil slices", g, h, p)
		}
		if err := s.Append(ctx, fixture()...); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx, model.LogEntry{Timestamp: 1, Message: "no host, no group"}); err != nil {
			t.Fatal(err)
		}
		g, h, p, err = s.Indexes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"infra", "web"}; !slices.Equal(g, want) {
			t.Errorf("groups = %q, want %q", g, want)
		}
		if want := []string{"db-1", "leaf-1", "leaf-2"}; !slices.Equal(h, want) {
			t.Errorf("hosts = %q, want %q", h, want)
		}
		if want := []string{"disk", "load"}; !slices.Equal(p, want) {
			t.Errorf("probes = %q, want %q", p, want)
		}
	})
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store) {
		now := time.Now()
		var es []model.LogEntry
		// 2.5 chunks of old rows so several delete transactions run, then
		// recent rows, interleaved in insertion order.
		old := pruneChunk*5/2 + 7
		for i := range old {
			ts := now.Add(-31*24*time.Hour - time.Duration(i)*time.Second)
			es = append(es, model.LogEntry{Date: model.FormatDate(ts), Timestamp: ts.Unix(), Host: "old", Message: "old"})
			if i%100 == 0 {
				es = append(es, model.LogEntry{Date: model.FormatDate(now), Timestamp: now.Unix(), Host: "new", Message: "new"})
			}
		}
		recent := len(es) - old
		if err := s.Append(ctx, es...); err != nil {
			t.Fatal(err)
		}
		// Exactly at the cutoff stays: only strictly older rows go.
		edge := now.Add(-30 * 24 * time.Hour)
		if err := s.Append(ctx, model.LogEntry{Date: model.FormatDate(edge), Timestamp: edge.Unix(), Host: "edge"}); err != nil {
			t.Fatal(err)
		}
		cutoff, _ := time.Parse(model.DateLayout, model.FormatDate(edge))
		n, err := s.Prune(ctx, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(old) {
			t.Errorf("Prune deleted %d rows, want %d", n, old)
		}
		got, err := s.Search(ctx, Query{Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != recent+1 {
			t.Fatalf("%d rows left, want %d", len(got), recent+1)
		}
		for _, e := range got {
			if e.Host == "old" {
				t.Fatalf("old row survived: %+v", e)
			}
		}
		if n, err := s.Prune(ctx, cutoff); err != nil || n != 0 {
			t.Errorf("second Prune = %d, %v; want 0, nil", n, err)
		}
	})
}

// lineWaiter is an io.Writer for a logger that signals when a line
// containing want has been written, so a test can wait on what the code
// reports instead of sleeping.
type lineWaiter struct {
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func TestRunRetention(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := &lineWaiter{want: "pruned old log rows", seen: make(chan struct{})}
	logger := hclog.New(&hclog.LoggerOptions{Output: w, Level: hclog.Info})
	s := OpenTestOptions(t, Options{Retention: 24 * time.Hour, Logger: logger})
	old := time.Now().Add(-48 * time.Hour)
	fresh := time.Now()
	if err := s.Append(ctx,
		model.LogEntry{Timestamp: old.Unix(), Message: "old"},
		model.LogEntry{Timestamp: fresh.Unix(), Message: "fresh"},
	); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunRetention(ctx) // prunes once at start, then waits for the hourly tick
	}()
	select {
	case <-w.seen:
	case <-time.After(time.Minute):
		t.Fatal("RunRetention did not prune at start")
	}
	cancel()
	<-done
	got, err := s.Search(context.Background(), Query{})
	if err != nil || len(got) != 1 || got[0].Message != "fresh" {
		t.Errorf("after retention: %+v, %v", got, err)
	}
}

func TestClosed(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "wigo.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Append(context.Background(), model.LogEntry{Timestamp: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if err := s.RunWriter(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("RunWriter after Close: %v, want ErrClosed", err)
	}
}
