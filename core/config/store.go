package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// KindStore is the block type of the store "postgres" block.
const KindStore = "store"

// StorePostgres is the one backend a store block names today: the
// embedded SQLite file (database) is the default and needs no block.
const StorePostgres = "postgres"

// Store is the store block: the database the daemon keeps its log, outbox
// and restart state in, when it is not the SQLite file database names.
// The zero value is SQLite.
type Store struct {
	// Backend is "" (SQLite, at Config.Database) or StorePostgres.
	Backend string
	// DSN is the PostgreSQL connection string, or "" when DSNFile holds it.
	DSN string
	// DSNFile is a file holding the connection string (so that its
	// password can live in a file only the daemon reads), read at start.
	DSNFile string
}

var storeFields = []field[Store]{
	{name: "dsn", decode: func(s *Store, a *hcl.Attribute, ctx fieldCtx) (bool, hcl.Diagnostics) {
		var v string
		set, diags := decodeAttr(a, &v)
		if !set {
			return false, diags
		}
		if err := checkDSN(v); err != nil {
			return false, append(diags, invalid(a, "Invalid dsn", fmt.Sprintf("%s: %v.", ctx.name, err)))
		}
		s.DSN = v
		return true, diags
	}},
	pathField("dsn_file", func(s *Store) *string { return &s.DSNFile }),
}

var storeSchema = schemaOf(storeFields)

// checkDSN accepts what the PostgreSQL driver takes: a postgres:// or
// postgresql:// URL, or key=value pairs. Its errors never quote the DSN,
// which may hold a password.
func checkDSN(dsn string) error {
	switch {
	case strings.TrimSpace(dsn) == "":
		return fmt.Errorf("empty connection string")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return fmt.Errorf("not a valid postgres:// URL")
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return fmt.Errorf("the URL names no server (postgres://user@host:port/database)")
		}
		return nil
	case strings.Contains(dsn, "="):
		return nil
	}
	return fmt.Errorf("want a postgres://user@host:port/database URL or key=value pairs (host=… dbname=…)")
}

// DSNText is the connection string: DSN, or the content of DSNFile
// without its surrounding white space.
func (s Store) DSNText() (string, error) {
	if s.DSNFile == "" {
		return s.DSN, nil
	}
	b, err := os.ReadFile(s.DSNFile)
	if err != nil {
		return "", fmt.Errorf("store %q: dsn_file: %w", s.Backend, err)
	}
	dsn := strings.TrimSpace(string(b))
	if err := checkDSN(dsn); err != nil {
		return "", fmt.Errorf("store %q: dsn_file %s: %w", s.Backend, s.DSNFile, err)
	}
	return dsn, nil
}

// store decodes a store block. A later file's block replaces an earlier
// one's (a drop-in moves the daemon to another database); two in one file
// are an error.
func (l *loader) store(b *hcl.Block, base string, singles map[string]*hcl.Block) {
	if len(b.Labels) != 1 || len(b.LabelRanges) != 1 {
		return // hcl has already reported the missing or extra label
	}
	if prev := singles[KindStore]; prev != nil {
		l.add(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Duplicate store block",
			Detail:   fmt.Sprintf("A store block is already defined at %s in this file; the daemon has one database.", pos(prev.DefRange)),
			Subject:  b.DefRange.Ptr(),
		}})
		return
	}
	singles[KindStore] = b
	if b.Labels[0] != StorePostgres {
		l.add(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown store backend",
			Detail: fmt.Sprintf("store %q: the backend is \"postgres\"; the embedded SQLite file is the default and is set by database, without a store block.",
				b.Labels[0]),
			Subject: b.LabelRanges[0].Ptr(),
		}})
		return
	}
	c, d := b.Body.Content(storeSchema)
	l.add(d)
	s := Store{Backend: StorePostgres}
	apply(l, &s, storeFields, c.Attributes, base, "store.")
	dsn, file := c.Attributes["dsn"], c.Attributes["dsn_file"]
	switch {
	case dsn != nil && file != nil:
		l.add(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Both dsn and dsn_file",
			Detail:   "store \"postgres\": give the connection string once, in dsn or in the file dsn_file names.",
			Subject:  file.Range.Ptr(),
		}})
		return
	case dsn == nil && file == nil:
		l.add(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing dsn",
			Detail:   "store \"postgres\" needs dsn = \"postgres://user@host:port/database\", or dsn_file naming a file that holds it.",
			Subject:  b.DefRange.Ptr(),
		}})
		return
	}
	if s.DSN == "" && s.DSNFile == "" {
		return // the value was refused, and said so
	}
	l.cfg.Store = s
}
