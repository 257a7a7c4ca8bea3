package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// dialect is what differs between the two backends' SQL, kept here so the
// repository methods are written once. The statements are written for
// SQLite (? placeholders); on PostgreSQL bind numbers them ($1, $2, …) once
// per distinct statement and remembers the result, and the PostgreSQL
// schema provides the two-argument min and max SQLite has built in
// (migrations/postgres/0001_schema.sql). The rest, where a statement
// cannot be shared (ids of inserted rows, the text search, PRAGMAs), is a
// test of postgres at the one place it matters.
type dialect struct {
	postgres bool
	// bound caches the numbered form of each statement (PostgreSQL).
	bound sync.Map
	// boundN counts bound's entries: statements built with a variable
	// number of placeholders (IN lists) stop being cached past boundMax.
	mu     sync.Mutex
	boundN int
}

// boundMax bounds the cache of numbered statements.
const boundMax = 4096

// name is the backend's name, for messages.
func (d *dialect) name() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// bind returns query as the backend takes it: unchanged on SQLite (no
// cost on the embedded default), with numbered placeholders on
// PostgreSQL.
func (d *dialect) bind(query string) string {
	if !d.postgres {
		return query
	}
	if v, ok := d.bound.Load(query); ok {
		return v.(string)
	}
	b := numberPlaceholders(query)
	d.mu.Lock()
	if d.boundN < boundMax {
		d.boundN++
		d.bound.Store(query, b)
	}
	d.mu.Unlock()
	return b
}

// numberPlaceholders turns each ? outside a quoted string or identifier
// into $1, $2, … in order.
func numberPlaceholders(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte // the quote we are inside of, 0 for none
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pool is a connection pool that binds each statement for its dialect.
type pool struct {
	*sql.DB
	d *dialect
}

// ExecContext is sql.DB's, with query bound for the dialect.
func (c *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.DB.ExecContext(ctx, c.d.bind(query), args...)
}

// QueryContext is sql.DB's, with query bound for the dialect.
func (c *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.DB.QueryContext(ctx, c.d.bind(query), args...)
}

// QueryRowContext is sql.DB's, with query bound for the dialect.
func (c *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.DB.QueryRowContext(ctx, c.d.bind(query), args...)
}

// BeginTx begins a transaction whose statements are bound for the dialect.
func (c *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*txn, error) {
	t, err := c.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txn{Tx: t, d: c.d}, nil
}

// txn is a transaction that binds each statement for its dialect.
type txn struct {
	*sql.Tx
	d *dialect
}

// ExecContext is sql.Tx's, with query bound for the dialect.
func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.d.bind(query), args...)
}

// QueryContext is sql.Tx's, with query bound for the dialect.
func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.d.bind(query), args...)
}

// QueryRowContext is sql.Tx's, with query bound for the dialect.
func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.d.bind(query), args...)
}

// PrepareContext is sql.Tx's, with query bound for the dialect: a
// prepared statement is bound once, however often it runs.
func (t *txn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.d.bind(query))
}

// Exec is ExecContext without a context; every statement of the pool is
// bound, whichever method runs it.
func (c *pool) Exec(query string, args ...any) (sql.Result, error) {
	return c.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext without a context.
func (c *pool) Query(query string, args ...any) (*sql.Rows, error) {
	return c.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext without a context.
func (c *pool) QueryRow(query string, args ...any) *sql.Row {
	return c.QueryRowContext(context.Background(), query, args...)
}
