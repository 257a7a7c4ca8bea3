package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// Paging bounds of Search.
const (
	// DefaultLimit is the page size when Query.Limit is 0.
	DefaultLimit = 100
	// MaxLimit caps Query.Limit so one request cannot make the daemon
	// read and encode the whole table.
	MaxLimit = 1000
)

// pruneChunk is how many rows one Prune transaction deletes. Each chunk is
// its own short transaction so the batching writer gets the write lock
// between chunks instead of waiting for a month of rows to go.
const pruneChunk = 2000

// ftsFew is the number of rows matching a text search under which Search
// fetches them by id and sorts them, rather than reading the log newest
// first (see Search).
const ftsFew = 2000

// ftsWindow is the number of newest rows a text search matching many rows
// looks in first (see Search); a variable for the tests.
var ftsWindow = 20_000

// ErrInvalidQuery is wrapped by Search's error when the query itself is
// wrong (a negative limit or offset); the API answers it with 400.
var ErrInvalidQuery = errors.New("invalid log query")

// Query selects log rows. Empty strings match anything; every set field must
// match exactly.
type Query struct {
	Host  string
	Group string
	Probe string
	// Limit is the page size: 0 means DefaultLimit, above MaxLimit means
	// MaxLimit, negative is an error.
	Limit int
	// Offset skips that many rows of the newest-first order; negative is an
	// error.
	Offset int
	// Held keeps only the changes that were held back, and HeldBack those
	// held back for that reason (acknowledged, silenced, …).
	Held     bool
	HeldBack string
	// Levels keeps only the rows logged at one of these levels (model.Log*);
	// empty means any.
	Levels []int
	// Since and Until keep only the rows dated at or after Since and
	// before Until; zero means unbounded.
	Since, Until time.Time
	// Text keeps only the rows whose message, host or probe contain every
	// word of it, the last term of each word as a prefix, case folded
	// ("loadgen-0000 oom" finds "oom-killer" on loadgen-000017). A Text
	// with no letter or digit matches nothing.
	Text string
}

// Append stores entries in one transaction and returns once it is
// committed (and OnCommit has been called). It is the synchronous path;
// events from the bus go through the batching writer instead.
//
// An entry's time is taken from its Date text when that parses and agrees
// with Timestamp to the second (keeping the microseconds), otherwise from
// Timestamp; an entry with neither is stamped with the current time.
func (s *Store) Append(ctx context.Context, entries ...model.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := s.insertLogs(ctx, entries); err != nil {
		return fmt.Errorf("append %d log rows: %w", len(entries), err)
	}
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(len(entries))
	}
	return nil
}

func (s *Store) insertLogs(ctx context.Context, entries []model.LogEntry) error {
	if s.isClosed() {
		return ErrClosed
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx,
		"INSERT INTO logs (date, level, grp, host, probe, message, held) VALUES (?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	now := time.Now()
	var first int64
	for i, e := range entries {
		res, err := stmt.ExecContext(ctx, entryTime(e, now), e.Level, e.Group, e.Host, e.Probe, e.Message, e.HeldBack)
		if err != nil {
			return err
		}
		if i == 0 && !tx.d.postgres {
			if first, err = res.LastInsertId(); err != nil {
				return err
			}
		}
	}
	if err := indexLogs(ctx, tx, first); err != nil {
		return err
	}
	return tx.Commit()
}

// indexLogs adds the log rows of the transaction from id first on to the
// search index, in one statement: FTS4 writes a segment per statement, so
// indexing row by row would cost a segment (and its merges) per row.
// PostgreSQL indexes each row as it is inserted (logs.search).
func indexLogs(ctx context.Context, tx *txn, first int64) error {
	if tx.d.postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO logs_fts (docid, message, host, probe) SELECT id, message, host, probe FROM logs WHERE id >= ?", first); err != nil {
		return fmt.Errorf("index log rows: %w", err)
	}
	return nil
}

// insertEvents stores a batch from the writer in one transaction: the log
// row of each logged event, each event's change to the record of hosts and
// the notifications of the batch (Outbox), so a log row, the state it
// describes and its notification are durable together; points, the
// metric history waiting in the writer, ride in the same transaction.
func (s *Store) insertEvents(ctx context.Context, events []event.Event, outbox []OutboxEntry, points ...point) error {
	if s.isClosed() {
		return ErrClosed
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var logStmt *sql.Stmt
	var firstLog int64 // id of the batch's first log row, 0 for none
	hosts := hostTx{tx: tx, recorded: s.recorded}
	defer hosts.close()
	now := time.Now()
	for _, e := range events {
		if e.Logged() {
			if logStmt == nil {
				if logStmt, err = tx.PrepareContext(ctx,
					"INSERT INTO logs (date, level, grp, host, probe, message, held, kind, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"); err != nil {
					return err
				}
				defer logStmt.Close()
			}
			// The state renders the row once when it publishes (event.Log).
			var l model.LogEntry
			if e.Log != nil {
				l = *e.Log
			} else {
				l = e.LogEntry()
			}
			res, err := logStmt.ExecContext(ctx, entryTime(l, now), l.Level, l.Group, l.Host, l.Probe, l.Message, l.HeldBack, string(e.Kind), e.NewStatus)
			if err != nil {
				return err
			}
			if firstLog == 0 && !tx.d.postgres {
				if firstLog, err = res.LastInsertId(); err != nil {
					return err
				}
			}
		}
		if recordsHost(e) {
			if err := hosts.apply(ctx, e); err != nil {
				return err
			}
		}
		if recordsAck(e) {
			if err := applyAck(ctx, tx, e); err != nil {
				return err
			}
		}
		if recordsSilence(e) {
			if err := applySilence(ctx, tx, e); err != nil {
				return err
			}
		}
		if err := s.announce(ctx, tx, e); err != nil {
			return err
		}
		if recordsSoft(e) {
			if err := applySoft(ctx, tx, e); err != nil {
				return err
			}
		}
		if recordsDelay(e) {
			if err := applyDelay(ctx, tx, e); err != nil {
				return err
			}
		}
		if recordsProblem(e) {
			if err := applyProblem(ctx, tx, e); err != nil {
				return err
			}
		}
	}
	if firstLog != 0 {
		if err := indexLogs(ctx, tx, firstLog); err != nil {
			return err
		}
	}
	if err := hosts.finish(ctx); err != nil {
		return err
	}
	if len(outbox) > 0 {
		if _, err := insertOutbox(ctx, tx, now, outbox); err != nil {
			return fmt.Errorf("queue %d notifications: %w", len(outbox), err)
		}
	}
	fresh := map[seriesKey]int64{}
	if err := s.insertPoints(ctx, tx, points, fresh); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	hosts.commit()
	for k, id := range fresh {
		s.series[k] = id
	}
	return nil
}

// entryTime is the instant an entry is stored under, in unix nanoseconds.
// See Append for the rules.
func entryTime(e model.LogEntry, now time.Time) int64 {
	if e.Date != "" {
		if t, err := time.Parse(model.DateLayout, e.Date); err == nil && (e.Timestamp == 0 || t.Unix() == e.Timestamp) {
			return t.UnixNano()
		}
	}
	if e.Timestamp != 0 {
		return time.Unix(e.Timestamp, 0).UnixNano()
	}
	return now.UnixNano()
}

// Search returns the rows matching q, newest first (by date, then by id for
// rows of the same instant). It never returns a nil slice, so the API
// encodes an empty result as [] rather than null. Every value is bound as a
// parameter; the SQL text only ever varies by which fixed conditions are
// present.
func (s *Store) Search(ctx context.Context, q Query) ([]model.LogEntry, error) {
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: limit %d is negative", ErrInvalidQuery, q.Limit)
	}
	if q.Offset < 0 {
		return nil, fmt.Errorf("%w: offset %d is negative", ErrInvalidQuery, q.Offset)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)

	var conds []string
	var args []any
	where := func(cond string, v ...any) {
		conds = append(conds, cond)
		args = append(args, v...)
	}
	for _, f := range []struct{ cond, v string }{{"host = ?", q.Host}, {"grp = ?", q.Group}, {"probe = ?", q.Probe}, {"held = ?", q.HeldBack}} {
		if f.v != "" {
			where(f.cond, f.v)
		}
	}
	if q.Held && q.HeldBack == "" {
		where("held <> ''")
	}
	if len(q.Levels) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(q.Levels)), ", ")
		levels := make([]any, len(q.Levels))
		for i, l := range q.Levels {
			levels[i] = l
		}
		where("level IN ("+marks+")", levels...)
	}
	if !q.Since.IsZero() {
		where("date >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where("date < ?", q.Until.UnixNano())
	}
	// page runs the query with one more condition (none when cond is "").
	page := func(cond string, v ...any) (logPage, error) {
		c, a := conds, args
		if cond != "" {
			c, a = append(slices.Clip(c), cond), append(slices.Clip(a), v...)
		}
		return s.searchPage(ctx, c, a, q.Limit, q.Offset)
	}
	if q.Text == "" {
		p, err := page("")
		return p.rows, err
	}
	if s.d.postgres {
		// The planner knows how many rows match (GIN statistics) and picks
		// between the index and the date order itself.
		query := tsQuery(q.Text)
		if query == "" {
			return []model.LogEntry{}, nil
		}
		p, err := page("search @@ to_tsquery('simple', wigo_fold(?))", query)
		return p.rows, err
	}
	match := ftsMatch(q.Text)
	if match == "" {
		return []model.LogEntry{}, nil
	}
	// The plan depends on how many rows match, which SQLite cannot know:
	// a few are best fetched by id and sorted (0.2 ms at 100,000 rows);
	// many by reading the date index newest first and keeping the ids that
	// match (id IN … would fetch and sort all of them: 70 ms for a word on
	// every row; the unary + keeps SQLite from using the id for lookups).
	// Counting up to ftsFew costs little.
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT docid FROM logs_fts WHERE logs_fts MATCH ? LIMIT ?)", match, ftsFew).Scan(&n); err != nil {
		return nil, fmt.Errorf("search logs: %w", err)
	}
	switch {
	case n == 0:
		return []model.LogEntry{}, nil
	case n < ftsFew:
		p, err := page("id IN (SELECT docid FROM logs_fts WHERE logs_fts MATCH ?)", match)
		return p.rows, err
	}
	// Many: even the matching ids alone are costly to collect from a big
	// log (a million rows: 200 ms), and the page is usually among the
	// newest rows. So the newest ftsWindow ids are searched first, then
	// eight times as many, and so on. A window's page is the answer when
	// it is full and no row older than the window (by id) is dated after
	// its last row: ids follow the writes, dates the events, and the two
	// orders agree but for rows written late; if one is found, the whole
	// log is searched.
	var maxID int64
	if err := s.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM logs").Scan(&maxID); err != nil {
		return nil, fmt.Errorf("search logs: %w", err)
	}
	for width := int64(ftsWindow); maxID-width > 0; width *= 8 {
		lo := maxID - width
		p, err := page("+id IN (SELECT docid FROM logs_fts WHERE logs_fts MATCH ? AND docid > ?)", match, lo)
		if err != nil {
			return nil, err
		}
		if len(p.rows) < q.Limit {
			continue
		}
		var later int
		err = s.r.QueryRowContext(ctx, "SELECT 1 FROM logs WHERE date > ? AND id <= ? LIMIT 1", p.lastDate, lo).Scan(&later)
		if errors.Is(err, sql.ErrNoRows) {
			return p.rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("search logs: %w", err)
		}
		break
	}
	p, err := page("+id IN (SELECT docid FROM logs_fts WHERE logs_fts MATCH ?)", match)
	return p.rows, err
}

// logPage is one page of Search, with the date (unix ns) of its last row.
type logPage struct {
	rows     []model.LogEntry
	lastDate int64
}

// searchPage runs Search's query: conds ANDed, newest first, paged.
func (s *Store) searchPage(ctx context.Context, conds []string, args []any, limit, offset int) (logPage, error) {
	var sb strings.Builder
	sb.WriteString("SELECT date, level, grp, host, probe, message, held FROM logs")
	if len(conds) > 0 {
		sb.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	sb.WriteString(" ORDER BY date DESC, id DESC LIMIT ? OFFSET ?")
	rows, err := s.r.QueryContext(ctx, sb.String(), append(slices.Clip(args), limit, offset)...)
	if err != nil {
		return logPage{}, fmt.Errorf("search logs: %w", err)
	}
	defer rows.Close()
	p := logPage{rows: make([]model.LogEntry, 0, min(limit, 64))}
	for rows.Next() {
		var e model.LogEntry
		if err := rows.Scan(&p.lastDate, &e.Level, &e.Group, &e.Host, &e.Probe, &e.Message, &e.HeldBack); err != nil {
			return logPage{}, fmt.Errorf("search logs: %w", err)
		}
		t := time.Unix(0, p.lastDate)
		e.Date = model.FormatDate(t)
		e.Timestamp = t.Unix()
		p.rows = append(p.rows, e)
	}
	if err := rows.Err(); err != nil {
		return logPage{}, fmt.Errorf("search logs: %w", err)
	}
	return p, nil
}

// ftsMatch turns free text into an FTS4 query: each whitespace-separated
// word becomes a phrase of its terms (letters and digits, as the unicode61
// tokenizer cuts them), its last term a prefix; the phrases are ANDed.
// Nothing of the user's text reaches the query syntax but those terms, so
// quotes, stars, NEAR or a leading minus are plain text. "" when no word
// has a term.
func ftsMatch(text string) string {
	var phrases []string
	for _, terms := range searchTerms(text) {
		phrases = append(phrases, `"`+strings.Join(terms, " ")+`*"`)
	}
	return strings.Join(phrases, " ")
}

// tsQuery is ftsMatch for PostgreSQL: the same phrases as a tsquery, each
// word's terms followed one by the next (<->), its last term a prefix
// (:*), the words ANDed. Terms are letters and digits only, so none of
// the user's text reaches the tsquery syntax.
func tsQuery(text string) string {
	var phrases []string
	for _, terms := range searchTerms(text) {
		for i, t := range terms {
			terms[i] = strings.ToLower(t)
		}
		phrases = append(phrases, "("+strings.Join(terms, " <-> ")+":*)")
	}
	return strings.Join(phrases, " & ")
}

// searchTerms splits text into words at white space and each word into
// its terms (runs of letters and digits), leaving out the words with none.
func searchTerms(text string) [][]string {
	var words [][]string
	for _, word := range strings.Fields(text) {
		terms := strings.FieldsFunc(word, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		if len(terms) > 0 {
			words = append(words, terms)
		}
	}
	return words
}

// Indexes lists the distinct groups, hosts and probes present in the log,
// each sorted and without the empty string (host events have no probe), for
// the filter menus of /api/logs/indexes. Slices are never nil.
func (s *Store) Indexes(ctx context.Context) (groups, hosts, probes []string, err error) {
	list := func(col string) ([]string, error) {
		// col is one of three constants below, never user input.
		rows, err := s.r.QueryContext(ctx, "SELECT DISTINCT "+col+" FROM logs WHERE "+col+" <> '' ORDER BY "+col)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []string{}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
	if groups, err = list("grp"); err != nil {
		return nil, nil, nil, fmt.Errorf("log indexes: groups: %w", err)
	}
	if hosts, err = list("host"); err != nil {
		return nil, nil, nil, fmt.Errorf("log indexes: hosts: %w", err)
	}
	if probes, err = list("probe"); err != nil {
		return nil, nil, nil, fmt.Errorf("log indexes: probes: %w", err)
	}
	return groups, hosts, probes, nil
}

// Prune deletes log rows dated strictly before before and returns how many
// went. It works in chunks of short transactions so the batching writer is
// never held off for long; on error the rows already deleted stay deleted
// and their count is returned with the error.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	cutoff := before.UnixNano()
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("prune logs: %w", err)
		}
		if s.isClosed() {
			return total, fmt.Errorf("prune logs: %w", ErrClosed)
		}
		res, err := s.w.ExecContext(ctx,
			"DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE date < ? ORDER BY date LIMIT ?)",
			cutoff, pruneChunk)
		if err != nil {
			return total, fmt.Errorf("prune logs: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune logs: %w", err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// RunRetention deletes log rows older than Options.Retention once now and
// then every Options.PruneInterval, until ctx is done. With a negative
// Retention it does nothing but wait. Failures are logged and retried at
// the next tick: a late prune costs disk space, not correctness.
func (s *Store) RunRetention(ctx context.Context) {
	if s.opts.Retention < 0 {
		<-ctx.Done()
		return
	}
	prune := func() {
		cutoff := time.Now().Add(-s.opts.Retention)
		n, err := s.Prune(ctx, cutoff)
		switch {
		case err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed):
			s.log.Error("log retention failed", "before", cutoff.UTC(), "deleted", n, "error", err)
		case n > 0:
			s.log.Info("pruned old log rows", "before", cutoff.UTC(), "deleted", n)
		}
	}
	prune()
	t := time.NewTicker(s.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			prune()
		}
	}
}

// Changes returns the status changes (probe_changed, host_down, host_up)
// logged since since, oldest first, as events with their host name, group,
// probe, time and the status they went to (NewStatus, 0 for rows logged
// before it was recorded): what flap detection replays on start. Their
// HostUUID is empty; the caller resolves it.
func (s *Store) Changes(ctx context.Context, since time.Time) ([]event.Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT date, kind, grp, host, probe, status FROM logs
		WHERE kind IN ('probe_changed', 'host_down', 'host_up') AND date >= ? ORDER BY date, id`, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("read recent changes: %w", err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var e event.Event
		var ns int64
		var kind string
		if err := rows.Scan(&ns, &kind, &e.Group, &e.Host, &e.Probe, &e.NewStatus); err != nil {
			return nil, fmt.Errorf("read recent changes: %w", err)
		}
		e.Time, e.Kind = time.Unix(0, ns), event.Kind(kind)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read recent changes: %w", err)
	}
	return out, nil
}
