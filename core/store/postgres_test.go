package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

// Two masters starting at once on an empty database: both open it, the
// schema is applied once, and a database from a newer binary is refused.
func TestPostgresMigratesOnceForTwoOpeners(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 2)
	errs := make([]error, 2)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = OpenPostgres(dsn, Options{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	s := stores[0]
	if got := countRows(t, s, "schema_migrations"); got != len(pgMigrations) {
		t.Errorf("schema_migrations has %d rows, want %d", got, len(pgMigrations))
	}
	if s.Backend() != "postgres" {
		t.Errorf("Backend() = %q", s.Backend())
	}
	if _, err := s.w.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)", len(pgMigrations)+1); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPostgres(dsn, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// A server that does not answer is an error naming the database without
// its password.
func TestPostgresOpenErrorHidesThePassword(t *testing.T) {
	_, err := OpenPostgres("postgres://wigo:s3cr%21t@127.0.0.1:1/wigo?connect_timeout=2", Options{})
	if err == nil {
		t.Fatal("opened a database on port 1")
	}
	if strings.Contains(err.Error(), "s3cr") {
		t.Errorf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error does not name the server: %v", err)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://wigo:pw@db:5432/wigo?sslmode=require": "postgres://wigo:xxxxx@db:5432/wigo?sslmode=require",
		"postgres://wigo@db/wigo":                         "postgres://wigo@db/wigo",
		"postgresql://db/wigo?password=pw&user=u":         "postgresql://db/wigo?password=xxxxx&user=u",
		"host=db user=wigo password=pw dbname=wigo":       "host=db user=wigo password=xxxxx dbname=wigo",
		"host=db password='p w' dbname=wigo":              "host=db password=xxxxx dbname=wigo",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNumberPlaceholders(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1": "SELECT 1",
		"UPDATE t SET a = ? WHERE b = ? AND c = 'x?'": "UPDATE t SET a = $1 WHERE b = $2 AND c = 'x?'",
		`SELECT "q?" FROM t WHERE a IN (?, ?, ?)`:     `SELECT "q?" FROM t WHERE a IN ($1, $2, $3)`,
		"SELECT 'it''s ?', ?":                         "SELECT 'it''s ?', $1",
	} {
		if got := numberPlaceholders(in); got != want {
			t.Errorf("numberPlaceholders(%q) = %q, want %q", in, got, want)
		}
	}
	// SQLite's statements are used as written.
	d := &dialect{}
	if q := "SELECT ?"; d.bind(q) != q {
		t.Errorf("SQLite bind changed %q", q)
	}
}

// The batching writer on PostgreSQL holds the events it receives while
// the server restarts and commits them once it is back: its commit is
// retried, not dropped, through connections the pool opens again.
func TestWriterRidesOutPostgresRestart(t *testing.T) {
	s := openTestPostgres(t, pgtest.DSN(t), Options{FlushInterval: 10 * time.Millisecond})
	ch := make(chan event.Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunWriter(ctx, ch) }()
	ch <- probeChanged(1)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pgtest.Down(t)
	ch <- probeChanged(2)
	ch <- probeChanged(3)
	// The writer tries its commit on the server that is down.
	time.Sleep(300 * time.Millisecond) // the outage's length: fault injection, not synchronisation
	pgtest.Up(t)
	fctx, fcancel := context.WithTimeout(ctx, 30*time.Second)
	defer fcancel()
	if err := s.Flush(fctx); err != nil {
		t.Fatalf("Flush after the restart: %v", err)
	}
	got, err := s.Search(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"change 3", "change 2", "change 1"}; !slices.Equal(messages(got), want) {
		t.Errorf("rows %q, want %q: each once, none lost", messages(got), want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunWriter: %v", err)
	}
}
