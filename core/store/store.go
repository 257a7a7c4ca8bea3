// Package store keeps Wigo's persistent state: the status-change log, the
// notification outbox, and the record of every host with the last status
// of each probe that a restart restores (hosts.go). Its home is one SQLite
// file (Open), the embedded default; a PostgreSQL database (OpenPostgres)
// holds the same schema for masters that share it. Tables are created by
// numbered, embedded migrations, one set per backend, so an upgraded binary
// brings an old database up to date by itself. The repository methods are
// written once; what the backends' SQL does not share is in dialect.go.
//
// On SQLite, writes go through a single connection (SQLite allows one
// writer at a time, so queueing in Go is cheaper than spinning on
// SQLITE_BUSY) and reads through a small pool of query-only connections,
// which in WAL mode never wait for the writer.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	// Registers the "sqlite3" database/sql driver (cgo).
	_ "github.com/mattn/go-sqlite3"
)

// Defaults applied by Open to zero-valued Options fields.
const (
	// DefaultRetention is how long log rows are kept: the design's 30 days.
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultPruneInterval is how often RunRetention deletes expired rows.
	DefaultPruneInterval = time.Hour
	// DefaultBatchSize is the most rows the batching writer puts in one
	// transaction. Large enough to amortise the fsync of each commit, small
	// enough that one commit never holds the write lock for long.
	DefaultBatchSize = 500
	// DefaultFlushInterval bounds how long a logged event waits in the
	// batching writer before it is committed when traffic is light.
	DefaultFlushInterval = 200 * time.Millisecond
	// DefaultBusyTimeout is how long a statement waits for another
	// process's lock on the file (wigocli, a backup) before failing.
	DefaultBusyTimeout = 5 * time.Second
)

// Options tune a Store. The zero value is valid: every zero field takes the
// default documented on it.
type Options struct {
	// Retention is how long log rows are kept by RunRetention. 0 means
	// DefaultRetention; a negative value keeps rows forever.
	Retention time.Duration
	// PruneInterval is the period of RunRetention. 0 means
	// DefaultPruneInterval.
	PruneInterval time.Duration
	// Logger receives the store's own messages. nil means a null logger.
	Logger hclog.Logger
	// BatchSize caps the rows per transaction of the batching writer.
	// 0 means DefaultBatchSize.
	BatchSize int
	// FlushInterval is the longest a received event waits in the batching
	// writer before being committed. 0 means DefaultFlushInterval.
	FlushInterval time.Duration
	// BusyTimeout is SQLite's busy_timeout. 0 means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// OnCommit, when set, is called with the number of log rows after every
	// commit that inserted some (Append and the batching writer alike),
	// synchronously, from the goroutine that committed. It is how a caller
	// learns that rows are durable; it must be quick and must not call back
	// into the Store's writer.
	OnCommit func(n int)
	// History says whether and how long the metrics of probe results are
	// kept (history.go). Its zero value keeps none.
	History HistoryOptions
	// Instance names this master among those sharing a PostgreSQL
	// database: the announcements of the acknowledgements and silences it
	// writes carry it, so that it ignores its own (shared.go), and its
	// heartbeat row is keyed by it (cluster.go). "" means a name made up
	// at Open.
	Instance string
}

func (o Options) withDefaults() Options {
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = DefaultPruneInterval
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	if o.Instance == "" {
		o.Instance = uuid.NewString()
	}
	o.History = o.History.withDefaults()
	return o
}

// Store is an open Wigo database. Its methods are safe for concurrent use.
type Store struct {
	path string // the SQLite file, or the PostgreSQL DSN without its password
	dsn  string // the PostgreSQL DSN, for the listening connection (shared.go)
	opts Options
	log  hclog.Logger
	d    *dialect

	// On SQLite, w is the only connection that writes (MaxOpenConns 1,
	// BEGIN IMMEDIATE) and r a pool of query-only connections. On
	// PostgreSQL both are the same pool: the server has no single writer.
	w *pool
	r *pool

	mu            sync.Mutex
	writer        *writerState // the latest batching writer run, if any
	writerRunning bool
	closed        bool
	// flushReq carries Flush requests to whichever writer is running.
	flushReq chan chan error
	// recorded remembers the host rows the batching writer committed, so
	// a probe change does not rewrite an unchanged host. Only the writer
	// (one at a time) touches it.
	recorded map[string]hostRow
	// series caches the ids of the metric series the batching writer
	// committed (history.go). Only the writer touches it; it drops it when
	// seriesGen moves (MaintainHistory deleted series) from seriesSeen.
	series     map[seriesKey]int64
	seriesGen  atomic.Uint64
	seriesSeen uint64
	// outbox, when set, gives the batching writer the outbox rows of its
	// events (SetOutbox).
	outbox Outbox

	closeOnce sync.Once
	closeErr  error
}

// ErrClosed is returned by operations on a Store after Close.
var ErrClosed = errors.New("store is closed")

// Open opens (creating it when missing) the database at path, applies any
// migration it lacks and returns it ready for use.
//
// The file is created with mode 0600 and, when needed, its parent directory
// with 0700: the log names every host and probe, which is nobody else's
// business. An existing file's mode is left alone (the operator may have
// chosen it) but a warning is logged when it is readable by others.
//
// A database written by a newer Wigo (one with migrations this binary does
// not know) is refused with an error wrapping ErrSchemaTooNew rather than
// used half-understood.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	log := opts.Logger.Named("store")
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	if err := prepareFile(path, log); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	// Durability: WAL with synchronous=FULL fsyncs the WAL on every commit,
	// so a committed row survives not only a SIGKILL of the process (which
	// NORMAL would already guarantee: committed frames are in the OS page
	// cache) but also a power loss or kernel crash. The notification outbox
	// promises at-least-once delivery from this same file, so the stronger
	// setting is the right default; the batching writer makes the cost one
	// fsync per batch, not per row.
	common := fmt.Sprintf("_synchronous=FULL&_busy_timeout=%d&_foreign_keys=1",
		opts.BusyTimeout.Milliseconds())
	// _txlock=immediate: a write transaction takes the write lock at BEGIN,
	// so it can never fail half-way with a lock-upgrade deadlock that the
	// busy handler cannot resolve.
	w, err := sql.Open("sqlite3", fileURI(path)+"?"+common+"&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := newStore(path, opts, log, &dialect{})
	s.w = &pool{DB: w, d: s.d}
	fail := func(err error) (*Store, error) {
		_ = w.Close()
		if s.r != nil {
			_ = s.r.Close()
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	ctx := context.Background()
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fail(err)
	}
	if !strings.EqualFold(mode, "wal") {
		// Happens on filesystems without shared memory support; the
		// rollback journal with synchronous=FULL is still durable, only
		// readers now wait for writers.
		log.Warn("database is not in WAL mode", "path", path, "journal_mode", mode)
	}
	if err := s.migrate(ctx); err != nil {
		return fail(err)
	}

	r, err := sql.Open("sqlite3", fileURI(path)+"?"+common+"&_query_only=1")
	if err != nil {
		return fail(err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = &pool{DB: r, d: s.d}
	if err := r.PingContext(ctx); err != nil {
		return fail(err)
	}
	log.Debug("database open", "path", path, "journal_mode", mode, "schema_version", SchemaVersion())
	return s, nil
}

func newStore(path string, opts Options, log hclog.Logger, d *dialect) *Store {
	return &Store{path: path, opts: opts, log: log, d: d, flushReq: make(chan chan error),
		recorded: map[string]hostRow{}, series: map[seriesKey]int64{}}
}

// prepareFile creates path's directory (0700) and an empty file (0600) when
// they do not exist, before SQLite gets a chance to create them with its
// default mode. SQLite gives the -wal and -shm files the mode of the
// database file, so they inherit the 0600.
func prepareFile(path string, log hclog.Logger) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, fs.ErrExist):
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("not a regular file (%s)", fi.Mode())
		}
		if fi.Mode().Perm()&0o077 != 0 {
			log.Warn("database file is accessible to other users", "path", path, "mode", fi.Mode().Perm().String())
		}
		return nil
	default:
		return fmt.Errorf("create file: %w", err)
	}
}

// fileURI turns a filesystem path into an SQLite "file:" URI. The URI form
// is needed for the driver to pass our parameters along, and it means the
// characters URIs reserve must be percent-encoded or a path containing '?'
// or '#' would be cut short.
func fileURI(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")
	return "file:" + r.Replace(path)
}

// Path is the file the Store was opened on, or on PostgreSQL its DSN
// without the password.
func (s *Store) Path() string { return s.path }

// Backend names the database the Store is on: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name() }

// IntegrityCheck runs PRAGMA integrity_check and returns an error listing
// what SQLite found when the answer is anything but "ok". PostgreSQL
// checks its own pages as it reads them: there it only checks that the
// server answers.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.d.postgres {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("integrity check %s: %w", s.path, err)
		}
		return nil
	}
	rows, err := s.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check %s: %w", s.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check %s: %w", s.path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check %s: %w", s.path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check %s: %s", s.path, strings.Join(problems, "; "))
	}
	return nil
}

// Close checkpoints the WAL into the main file (so the file alone is a
// complete copy for backups) and closes every connection. Stop the batching
// writer (cancel its context and wait for it to return) before calling
// Close, or its last rows will fail to commit. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		var errs []error
		if s.d.postgres {
			// One pool for both.
			if err := s.w.Close(); err != nil {
				s.closeErr = fmt.Errorf("close %s: %w", s.path, err)
			}
			return
		}
		if s.r != nil {
			if err := s.r.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		// TRUNCATE also resets the WAL file to zero bytes. A failure here
		// is harmless (the next open replays the WAL) but worth reporting.
		if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			s.log.Warn("checkpoint on close failed", "path", s.path, "error", err)
		}
		if err := s.w.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
