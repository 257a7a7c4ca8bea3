package store

import (
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
