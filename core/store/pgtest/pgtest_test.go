package pgtest_test

import (
	"database/sql"
	"testing"

	"github.com/wigo-project/wigo/core/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Two tests get two databases of the same server: a table made in one is
// not in the other.
func TestEachTestHasItsOwnDatabase(t *testing.T) {
	a, b := open(t, pgtest.DSN(t)), open(t, pgtest.DSN(t))
	if _, err := a.Exec("CREATE TABLE t (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count = %d, %v; want 1", n, err)
	}
	if _, err := b.Exec("SELECT 1 FROM t"); err == nil {
		t.Fatal("the second database has the first one's table")
	}
	var addr string
	if err := b.QueryRow("SELECT host(inet_server_addr())").Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Fatalf("server address = %q, %v; want 127.0.0.1", addr, err)
	}
}

func open(t *testing.T, dsn string) *sql.DB {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Down and Up restart the server on the same port with its data: a pool
// opened before sees connections refused while it is down and works again
// after, with what was committed before.
func TestDownUpKeepsDataAndPort(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := open(t, dsn)
	if _, err := db.Exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	pgtest.Down(t)
	if err := db.Ping(); err == nil {
		t.Fatal("the server answers while down")
	}
	pgtest.Up(t)
	var v int
	if err := db.QueryRow("SELECT v FROM t").Scan(&v); err != nil || v != 7 {
		t.Fatalf("after the restart: v = %d, %v; want 7 through the same pool", v, err)
	}
}
