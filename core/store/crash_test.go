package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// helperEnv carries the database path to the child process; its presence
// is what turns TestHelperWriter from a skip into the child.
const helperEnv = "WIGO_STORE_HELPER_DB"

// killAfter is how many acknowledged rows the parent waits for before
// killing the child. The child never stops on its own, so it is always
// killed in the middle of its work.
const killAfter = 3000

func helperMessage(i int) string { return "row-" + strconv.Itoa(i) }

// TestHelperWriter is not a test: run by TestCrashDurability as a child
// process, it publishes an endless stream of events through a real bus into
// the batching writer, and after every commit prints "ack N", N being the
// total number of rows committed so far. Row i (from 0) carries the message
// row-i, and being written in order it gets id i+1.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("child process of TestCrashDurability")
	}
	// If the parent dies, stdin reaches EOF: exit rather than write forever.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	acked := 0
	s, err := Open(path, Options{
		BatchSize:     50,
		FlushInterval: 10 * time.Millisecond,
		// Printed only after the commit returned: every number the parent
		// reads is a promise that those rows are on disk.
		OnCommit: func(n int) {
			acked += n
			fmt.Fprintf(os.Stdout, "ack %d\n", acked)
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	bus := event.NewBus()
	sub := bus.Subscribe(event.SubscribeOptions{Lossless: true, Buffer: 256})
	go func() {
		err := s.Consume(context.Background(), sub)
		fmt.Fprintln(os.Stderr, "writer returned:", err)
		os.Exit(2)
	}()
	start := time.Now()
	for i := 0; ; i++ {
		bus.Publish(event.Event{
			Kind: event.ProbeChanged, Time: start.Add(time.Duration(i) * time.Microsecond),
			Host: "crash-host", Group: "crash", Probe: "p" + strconv.Itoa(i%7),
			OldStatus: 100, NewStatus: 300, Message: helperMessage(i),
		})
		// Interleave events the writer must skip.
		if i%3 == 0 {
			bus.Publish(event.Event{Kind: event.ProbeUpdated, Host: "crash-host", Message: "not logged"})
		}
	}
}

// TestCrashDurability kills a writer process with SIGKILL while it is
// writing and checks that every row it had acknowledged as committed is in
// the database afterwards, intact.
func TestCrashDurability(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	if os.Getenv(helperEnv) != "" {
		t.Skip("inside the child")
	}
	path := filepath.Join(t.TempDir(), "wigo.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe() // held open for the child's lifetime
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A watchdog, not synchronisation: a child that hangs before writing
	// anything must not hang the test run.
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	acked := 0
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		v, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			continue // test framework chatter
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < acked {
			t.Fatalf("bad ack line %q after %d", line, acked)
		}
		// Lines already printed when the kill lands still count: each was
		// written after its commit returned.
		acked = n
		if !killed && acked >= killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d acknowledged rows without being killed: %v\nstderr:\n%s", acked, err, stderr.String())
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("child: %v", err)
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("child killed with %d rows acknowledged", acked)

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM logs").Scan(&total); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows in the database after the crash", total)
	if total < acked {
		t.Fatalf("%d rows after the crash, but %d were acknowledged", total, acked)
	}
	// Every acknowledged row, by id and content.
	rows, err := s.r.QueryContext(ctx, "SELECT id, message, host, grp, probe, level FROM logs WHERE id <= ? ORDER BY id", acked)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := int64(1)
	for rows.Next() {
		var id int64
		var msg, host, grp, probe string
		var level int
		if err := rows.Scan(&id, &msg, &host, &grp, &probe, &level); err != nil {
			t.Fatal(err)
		}
		i := int(id - 1)
		if id != want || msg != helperMessage(i) || host != "crash-host" || grp != "crash" || probe != "p"+strconv.Itoa(i%7) || level != 6 {
			t.Fatalf("row id %d (want id %d) = %q %q %q %q %d", id, want, msg, host, grp, probe, level)
		}
		want++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if int(want-1) != acked {
		t.Fatalf("found %d of the %d acknowledged rows", want-1, acked)
	}
	// The reopened store is fully usable.
	if got, err := s.Search(ctx, Query{Host: "crash-host", Limit: 1}); err != nil || len(got) != 1 {
		t.Fatalf("Search after crash: %v, %v", got, err)
	}
}
