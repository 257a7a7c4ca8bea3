// Package pgtest runs a real PostgreSQL server for tests: one server per
// test binary, started on first use in a temporary directory and listening
// on 127.0.0.1 only, and a fresh database for each test. It imports
// testing, so only tests import it.
//
// A package that uses it calls Main from its TestMain, which stops the
// server when the tests end; the server is also told to shut down if the
// test binary dies without getting there (a timeout panic, a kill), so no
// postgres outlives the tests (and the next test binary removes the
// directory a killed one left).
//
// Down and Up restart the server on the same port and data, for tests of
// what its clients do while the database is away.
//
// PostgreSQL refuses to run as root, so when the tests run as root the
// server (and initdb) run as the unprivileged user nobody, on a directory
// given to it; otherwise they run as the current user.
//
// When no PostgreSQL binaries are installed, a test asking for a database
// is skipped, or fails when CI=true: a CI run must not pass by skipping.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	// Registers the "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// superuser is the role initdb creates; the server trusts local TCP
// connections from 127.0.0.1 only, so it needs no password.
const superuser = "wigo"

// startTimeout bounds initdb plus the server's start.
const startTimeout = 60 * time.Second

type server struct {
	dir  string // removed when the server stops
	port int
	bin  string              // the directory of the PostgreSQL binaries
	cred *syscall.Credential // who runs them, nil for the current user
	cmd  *exec.Cmd           // nil while the server is not running
	done chan struct{}       // closed when cmd has exited
	err  error               // why the server could not start
	// missing is set when the binaries are not installed.
	missing bool
}

var (
	once sync.Once
	srv  *server
	// mu serialises Down and Up.
	mu      sync.Mutex
	dbCount atomic.Int64
)

// Main runs the tests of m and then stops the server, if one was started,
// and exits with the tests' status. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop shuts the server down (fast shutdown) and removes its directory.
// Main calls it; it is safe to call when no server was started.
func Stop() {
	if srv == nil || srv.dir == "" {
		return
	}
	srv.halt(syscall.SIGINT)
	_ = os.RemoveAll(srv.dir)
	srv.dir = ""
}

// halt stops the server with sig (SIGINT: fast shutdown, which ends the
// sessions; SIGQUIT: immediate, as a crash) and waits for it, killing it
// after 30 s.
func (s *server) halt(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Down stops the test server as an operator's restart of the database
// does (fast shutdown: every session is cut, what was committed is kept),
// keeping its data directory and port for Up. Clients see connections
// refused until Up. It fails the test when no server runs. (Not an
// immediate shutdown: with synchronous_commit off, as the test server
// runs, that could lose the last commits, which a real server would not.)
func Down(t testing.TB) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if srv == nil || srv.cmd == nil {
		t.Fatal("pgtest: Down without a running server")
	}
	srv.halt(syscall.SIGINT)
}

// Up starts the server Down stopped, on the same port and data (its crash
// recovery replays what was committed), and returns once it answers.
func Up(t testing.TB) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if srv == nil || srv.dir == "" || srv.cmd != nil {
		t.Fatal("pgtest: Up without a server stopped by Down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := srv.run(ctx); err != nil {
		t.Fatalf("pgtest: restart: %v", err)
	}
}

// DSN creates a fresh, empty database on the test server and returns its
// connection string (postgres://…); the database is dropped when the test
// ends. It skips the test when PostgreSQL is not installed, or fails it
// when CI=true.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(start)
	switch {
	case srv.missing:
		msg := "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or $PATH): apt-get install postgresql"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	case srv.err != nil:
		t.Fatalf("pgtest: %v", srv.err)
	}
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), dbCount.Add(1))
	admin, err := sql.Open("pgx", srv.dsn("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", srv.dsn("postgres"))
		if err != nil {
			t.Errorf("pgtest: %v", err)
			return
		}
		defer admin.Close()
		// FORCE: a connection the test leaked must not keep the database.
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	return srv.dsn(name)
}

// Installed reports whether PostgreSQL binaries were found.
func Installed() bool { return bindir() != "" }

func (s *server) dsn(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, db)
}

// bindir is the directory of the newest installed PostgreSQL's binaries
// (Debian keeps each major version in /usr/lib/postgresql/N/bin), or the
// one of initdb on $PATH; "" when there is none.
func bindir() string {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	if len(found) > 0 {
		return filepath.Dir(found[len(found)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// version is the major version in a /usr/lib/postgresql/N/bin/initdb path.
func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

func start() {
	srv = &server{}
	bin := bindir()
	if bin == "" {
		srv.missing = true
		return
	}
	srv.err = srv.start(bin)
}

func (s *server) start(bin string) error {
	sweep()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return err
	}
	s.dir = dir
	cred, err := credential(dir)
	if err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", superuser,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.port = port
	s.bin, s.cred = bin, cred
	return s.run(ctx)
}

// run starts the server on its data directory and port and waits until it
// answers.
func (s *server) run(ctx context.Context) error {
	dir := s.dir
	logf, err := os.OpenFile(filepath.Join(dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	// fsync off: a test database needs no durability, and it is the
	// difference between seconds and minutes for the suite. The unix
	// socket goes in the directory, out of everyone's way.
	s.cmd = exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(s.port),
		"-c", "unix_socket_directories="+dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	// SIGQUIT on the death of the test binary: an immediate shutdown that
	// takes the server's own children with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Dir = dir
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	s.done = done
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	// Ready when it accepts a query; a server that exited will not be.
	for {
		err := ping(ctx, s.dsn("postgres"))
		if err == nil {
			return nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return fmt.Errorf("postgres exited at start:\n%s", log)
		case <-ctx.Done():
			s.halt(syscall.SIGQUIT)
			return fmt.Errorf("postgres not ready after %s: %w", startTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dirPrefix starts the name of a server's directory, followed by the
// test binary's pid.
const dirPrefix = "wigo-pgtest-"

// sweep removes the directories of servers whose test binary is gone
// without removing its own (killed: the server died with it, its
// directory stayed).
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(filepath.Base(d), dirPrefix), "-", 2)[0])
		if err != nil || pid <= 0 {
			continue
		}
		// Signal 0 checks that the process exists.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

func ping(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return db.PingContext(pctx)
}

// credential is who runs the server: nobody when the tests run as root
// (PostgreSQL refuses root), given dir; nil (the current user) otherwise.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the user nobody to run postgres: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user nobody: %w", err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	_, p, _ := strings.Cut(l.Addr().String(), ":")
	return strconv.Atoi(p)
}
