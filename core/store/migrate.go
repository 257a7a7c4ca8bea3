package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema history of each backend, in
// migrations/sqlite and migrations/postgres. A file is named NNNN_what.sql;
// numbers start at 1 and have no gaps. A released file is never edited: a
// change to the schema is a new file (one per backend), so every existing
// database reaches the same schema by the same steps. PostgreSQL's history
// starts with the whole schema of SQLite's first 15 steps in one file
// (0001), then one file per change, like SQLite's.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew means the database was last opened by a newer Wigo that
// applied migrations this binary does not know. Using it could misread or
// damage data, so Open refuses; run the newer binary, or restore a backup.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// migrations and pgMigrations are the parsed, checked lists of SQLite and
// PostgreSQL, in version order. A malformed set is a programming error
// caught by every test run, hence the panic.
var (
	migrations   = mustLoadMigrations(migrationFiles, "migrations/sqlite")
	pgMigrations = mustLoadMigrations(migrationFiles, "migrations/postgres")
)

func mustLoadMigrations(fsys fs.FS, dir string) []migration {
	ms, err := loadMigrations(fsys, dir)
	if err != nil {
		panic(err)
	}
	return ms
}

func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %q: name is not NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migration %q: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: m[2], sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d (numbers start at 1, no gaps or duplicates)", m.version, m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest SQLite migration this binary knows.
func SchemaVersion() int { return len(migrations) }

// schemaVersion is the newest migration this binary knows for s's backend.
func (s *Store) schemaVersion() int { return len(s.migrations()) }

func (s *Store) migrations() []migration {
	if s.d.postgres {
		return pgMigrations
	}
	return migrations
}

// migrationLock is the key of the PostgreSQL advisory lock held while a
// Store migrates the database, so that masters starting together queue
// and the second finds the work done (SQLite's IMMEDIATE transactions do
// the same for a file). Any constant will do; this one spells "wigo".
const migrationLock = 0x7769676f

// migrate applies, in order, every migration the database has not recorded,
// each in its own transaction together with its row in schema_migrations, so
// a crash leaves the file at a whole step. The writer connection begins
// IMMEDIATE transactions: two processes opening the same new file at once
// queue on the write lock and the second finds the work done.
func (s *Store) migrate(ctx context.Context) error {
	bootstrap := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`
	if s.d.postgres {
		bootstrap = strings.Replace(strings.TrimSuffix(bootstrap, " STRICT"), "applied_at INTEGER", "applied_at BIGINT ", 1)
		conn, err := s.w.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
			return fmt.Errorf("migrate: take the migration lock: %w", err)
		}
		defer func() { _, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock) }()
	}
	if _, err := s.w.ExecContext(ctx, bootstrap); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var newest int
	if err := s.w.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&newest); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if newest > s.schemaVersion() {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d", ErrSchemaTooNew, newest, s.schemaVersion())
	}
	for _, m := range s.migrations() {
		if err := s.applyMigration(ctx, m); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, m migration) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var one int
	err = tx.QueryRowContext(ctx, "SELECT 1 FROM schema_migrations WHERE version = ?", m.version).Scan(&one)
	if err == nil {
		return nil // already applied, possibly by another process just now
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, time.Now().Unix()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.log.Info("applied database migration", "version", m.version, "name", m.name)
	return nil
}
