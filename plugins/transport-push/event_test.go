package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
)

// eventRecorder is an sdk.EventHost that records the events raised.
type eventRecorder struct {
	mu   sync.Mutex
	got  []string
	fail bool
	done chan struct{}
}

func (r *eventRecorder) Event(_ context.Context, kind, uuid, host, _ string) error {
	r.mu.Lock()
	r.got = append(r.got, kind+" "+uuid+" "+host)
	r.mu.Unlock()
	r.done <- struct{}{}
	if r.fail {
		return errors.New("core refuses")
	}
	return nil
}

// A client joining the waiting list raises one client_waiting event, not
// one per retry; a failing core does not stop registration.
func TestWaitingClientRaisesEvent(t *testing.T) {
	for _, fail := range []bool{false, true} {
		a := testAuthority(t, t.TempDir(), false, 3)
		r := &eventRecorder{fail: fail, done: make(chan struct{}, 8)}
		a.onWaiting = newWaitingNotices(hclog.NewNullLogger(), realClock{}, waitingNotifier(hclog.NewNullLogger(), r)).add
		for range 3 {
			if reg, _, err := a.register(claim{uuid: "u-1", hostname: "leaf", source: "test", key: testKeyOf("u-1")}); err != nil || reg != regWaiting {
				t.Fatalf("register = %v, %v", reg, err)
			}
		}
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Fatal("no event raised")
		}
		time.Sleep(100 * time.Millisecond)
		r.mu.Lock()
		got := r.got
		r.mu.Unlock()
		if len(got) != 1 || got[0] != sdk.EventClientWaiting+" u-1 leaf" {
			t.Fatalf("fail=%v: events = %q, want one client_waiting for u-1", fail, got)
		}
	}
}
