package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"time"

	// Registers the "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// postgresConnectTimeout bounds the first contact with the server at Open:
// a master that cannot reach its database says so instead of hanging.
const postgresConnectTimeout = 15 * time.Second

// OpenPostgres opens the PostgreSQL database dsn (a postgres:// URL or a
// key=value string, as libpq takes them), applies any migration it lacks
// and returns it ready for use. Several Stores, in one process or on
// several machines, may share one database: migrations are serialised by
// an advisory lock, and each notification is queued and delivered once
// (outbox.go).
//
// The password in dsn never appears in an error or a log line: they name
// the database by RedactDSN(dsn).
func OpenPostgres(dsn string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	log := opts.Logger.Named("store")
	shown := RedactDSN(dsn)
	fail := func(err error) error {
		return &redactedError{msg: fmt.Sprintf("open %s: %s", shown, redactError(err, dsn)), err: err}
	}
	if dsn == "" {
		return nil, errors.New("open database: empty PostgreSQL DSN")
	}
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fail(err)
	}
	// Enough for the writer, the dispatcher and the API's readers at once;
	// the server's own limit (max_connections) is shared by every master.
	n := max(4, runtime.GOMAXPROCS(0)) + 4
	conn.SetMaxOpenConns(n)
	conn.SetMaxIdleConns(n)
	conn.SetConnMaxIdleTime(5 * time.Minute)

	s := newStore(shown, opts, log, &dialect{postgres: true})
	s.dsn = dsn
	s.w = &pool{DB: conn, d: s.d}
	s.r = s.w
	ctx, cancel := context.WithTimeout(context.Background(), postgresConnectTimeout)
	defer cancel()
	if err := conn.PingContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fail(err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = conn.Close()
		return nil, fail(err)
	}
	log.Debug("database open", "backend", "postgres", "dsn", shown, "schema_version", s.schemaVersion())
	return s, nil
}

var dsnPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// RedactDSN is dsn with its password, if any, replaced by xxxxx: what
// messages and logs may show of a connection string.
func RedactDSN(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// An unparsable URL may still hold a password: show the scheme only.
			scheme, _, _ := strings.Cut(dsn, "://")
			return scheme + "://(unparsable)"
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return dsnPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// redactedError is an error whose text had the password taken out; it
// still wraps the original, so errors.Is sees ErrSchemaTooNew through it.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactError is err's text with dsn's password taken out, should the
// driver have quoted it.
func redactError(err error, dsn string) string {
	msg := err.Error()
	for _, pw := range dsnPasswords(dsn) {
		if pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// dsnPasswords are the passwords dsn holds, in the forms an error might
// quote them.
func dsnPasswords(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
		if pw := u.Query().Get("password"); pw != "" {
			out = append(out, pw)
		}
	}
	for _, m := range dsnPassword.FindAllStringSubmatch(dsn, -1) {
		out = append(out, strings.Trim(m[2], "'"))
	}
	return out
}
