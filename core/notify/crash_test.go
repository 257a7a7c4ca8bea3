package notify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/store"
)

// crashDBEnv, when set, makes TestCrashChild the child process of
// TestSIGKILLWithPendingOutbox, working on the database it names.
const crashDBEnv = "WIGO_NOTIFY_CRASH_DB"

// TestCrashChild is not a test on its own: run by
// TestSIGKILLWithPendingOutbox in a child process, it publishes events into
// a pipeline whose receiver is down and prints "ACK <event id>" after each
// outbox commit, until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("helper process for TestSIGKILLWithPendingOutbox")
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	// Half of the hosts' receiver answers, half is down with a long backoff,
	// so at the kill some rows are delivered and many are pending.
	sender := SenderFunc(func(ctx context.Context, _ string, n *Notification) error {
		if strings.HasSuffix(n.Hostname, "down") {
			return errors.New("receiver down")
		}
		return nil
	})
	p, err := New(Options{Store: st, Sender: sender, Instances: []Instance{allOf("http")}, BackoffBase: time.Hour,
		OnEnqueued: func(ids []string) {
			for _, id := range ids {
				// Stdout is unbuffered: the line is in the pipe before the
				// next commit, so whatever the parent reads was committed.
				fmt.Println("ACK", id)
			}
		}})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	bus := event.NewBus()
	sub := bus.Subscribe(event.SubscribeOptions{Lossless: true, Kinds: Kinds})
	go func() { _ = p.Run(context.Background(), sub) }()
	for i := 0; ; i++ {
		host := "up"
		if i%2 == 0 {
			host = "down"
		}
		bus.Publish(change(fmt.Sprintf("h%d-%s", i%3, host), fmt.Sprintf("p%d", i)))
		if i%10 == 9 {
			time.Sleep(time.Millisecond) // let batches form; the parent kills us anyway
		}
	}
}

// TestSIGKILLWithPendingOutbox kills a process with a non-empty outbox and
// checks that a new pipeline on the same file delivers every notification
// the dead process had acknowledged as committed.
func TestSIGKILLWithPendingOutbox(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "wigo.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	lines := bufio.NewScanner(out)
	killed := false
	for lines.Scan() {
		line := lines.Text()
		if id, ok := strings.CutPrefix(line, "ACK "); ok {
			acked[id] = true
		} else if strings.HasPrefix(line, "ERR") {
			t.Fatalf("child: %s", line)
		}
		if len(acked) >= 200 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
			// Keep reading: lines already in the pipe were committed too.
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before the kill: %v", err)
	}

	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before := counts(t, st)
	if before[store.OutboxPending] == 0 {
		t.Fatalf("outbox after the kill = %v: nothing pending, the test proves nothing", before)
	}
	rec := newRecorder(nil)
	start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http")}})
	eventually(t, "outbox drained", func() bool { return counts(t, st)[store.OutboxPending] == 0 })

	rows, total, err := st.ListOutbox(context.Background(), store.OutboxQuery{States: []store.OutboxState{store.OutboxDelivered}, Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	delivered := map[string]bool{}
	for _, r := range rows {
		delivered[r.EventID] = true
	}
	for off := len(rows); off < total; off += store.MaxLimit {
		more, _, err := st.ListOutbox(context.Background(), store.OutboxQuery{States: []store.OutboxState{store.OutboxDelivered}, Limit: store.MaxLimit, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range more {
			delivered[r.EventID] = true
		}
	}
	missing := 0
	for id := range acked {
		if !delivered[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged notifications never delivered", missing, len(acked))
	}
	t.Logf("child acknowledged %d, %d were pending at the kill, %d delivered after restart",
		len(acked), before[store.OutboxPending], len(rec.snapshot()))
}
