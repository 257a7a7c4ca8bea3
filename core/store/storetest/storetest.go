// Package storetest opens throwaway stores for tests of packages that need a
// real SQLite database. It imports testing, so only tests import it.
package storetest

import (
	"path/filepath"
	"testing"

	"github.com/wigo-project/wigo/core/store"
)

// Open opens a throwaway database in t.TempDir() with default options,
// closed when the test ends, for tests of packages that need a real Store.
// It fails the test if the database cannot be opened.
func Open(t testing.TB) *store.Store {
	t.Helper()
	return OpenOptions(t, store.Options{})
}

// OpenOptions is Open with options (a short FlushInterval, an
// OnCommit hook). Stop any writer started on the Store before the test
// returns: cleanup closes the Store.
func OpenOptions(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wigo.db")
	s, err := store.Open(path, opts)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	return s
}
