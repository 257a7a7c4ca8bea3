package store

import (
	"github.com/wigo-project/wigo/core/store/pgtest"
	"path/filepath"
	"testing"
)

// OpenTest opens a throwaway database in t.TempDir() with default options,
// closed when the test ends, for tests of packages that need a real Store.
// It fails the test if the database cannot be opened.
func OpenTest(t testing.TB) *Store {
	t.Helper()
	return OpenTestOptions(t, Options{})
}

// OpenTestOptions is OpenTest with options (a short FlushInterval, an
// OnCommit hook). Stop any writer started on the Store before the test
// returns: cleanup closes the Store.
func OpenTestOptions(t testing.TB, opts Options) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wigo.db")
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("store.OpenTest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("store.OpenTest: %v", err)
		}
	})
	return s
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// forEachBackend runs f as two subtests, on a throwaway SQLite store and
// on a throwaway PostgreSQL one (a fresh database of the test server),
// so that one set of repository tests holds for both backends.
func forEachBackend(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	forEachBackendOptions(t, Options{}, f)
}

// forEachBackendOptions is forEachBackend with options.
func forEachBackendOptions(t *testing.T, opts Options, f func(t *testing.T, s *Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, OpenTestOptions(t, opts)) })
	t.Run("postgres", func(t *testing.T) { f(t, openTestPostgres(t, pgtest.DSN(t), opts)) })
}

// openTestPostgres opens dsn, closed when the test ends.
func openTestPostgres(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := OpenPostgres(dsn, opts)
	if err != nil {
		t.Fatalf("store.OpenPostgres: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("store.OpenPostgres: %v", err)
		}
	})
	return s
}

// forEachBackendPair runs f on each backend with two Store handles on one
// database, as two masters sharing it would have: two opens of one SQLite
// file, two pools on one PostgreSQL database.
func forEachBackendPair(t *testing.T, f func(t *testing.T, a, b *Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "wigo.db")
		a, b := openTestAt(t, path), openTestAt(t, path)
		f(t, a, b)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		f(t, openTestPostgres(t, dsn, Options{}), openTestPostgres(t, dsn, Options{}))
	})
}

func openTestAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("store.Open: %v", err)
		}
	})
	return s
}
