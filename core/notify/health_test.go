package notify

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/store/storetest"
)

// An instance whose receiver refuses every call is failing after its first
// retry, with the receiver's error, while another instance stays healthy;
// when the receiver answers again it is healthy, its last success set; a
// dead letter left waiting keeps an instance degraded.
func TestHealthFollowsDeliveries(t *testing.T) {
	st := storetest.Open(t)
	var refuse atomic.Bool
	refuse.Store(true)
	rec := newRecorder(func(_ context.Context, instance string, _ *Notification, _ int) error {
		if instance == "http" && refuse.Load() {
			return errors.New("POST http://hook/: 500 Internal Server Error")
		}
		return nil
	})
	p, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http"), allOf("mail")},
		BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	health := func(name string) InstanceHealth {
		for _, h := range p.Health() {
			if h.Instance == name {
				return h
			}
		}
		t.Fatalf("no health for %s in %+v", name, p.Health())
		return InstanceHealth{}
	}
	if h := health("http"); h.State != DeliveryHealthy || !h.LastSuccess.IsZero() || h.ConsecutiveFailures != 0 {
		t.Errorf("before any event: %+v, want healthy, never delivered", h)
	}
	bus.Publish(change("web-1", "load"))
	eventually(t, "two failed attempts", func() bool { return health("http").ConsecutiveFailures >= FailingAfter })
	h := health("http")
	if h.State != DeliveryFailing || !strings.Contains(h.LastError, "500 Internal Server Error") || h.LastFailure.IsZero() ||
		!h.LastSuccess.IsZero() || h.Pending != 1 || h.Dead != 0 {
		t.Errorf("refusing receiver: %+v, want failing with its error, 1 pending", h)
	}
	eventually(t, "mail delivered", func() bool { return health("mail").Delivered == 1 })
	if m := health("mail"); m.State != DeliveryHealthy || m.LastSuccess.IsZero() || m.Failed != 0 {
		t.Errorf("mail: %+v, want healthy", m)
	}

	refuse.Store(false)
	eventually(t, "http delivered and marked", func() bool { h := health("http"); return h.Delivered == 1 && h.Pending == 0 })
	if h := health("http"); h.State != DeliveryHealthy || h.ConsecutiveFailures != 0 || h.LastSuccess.Before(h.LastFailure) || h.Pending != 0 {
		t.Errorf("receiver back: %+v, want healthy, last success after the last failure", h)
	}
}

// A dead letter waiting for a retry leaves its instance degraded, even
// after a later delivery succeeded.
func TestHealthDegradedByDeadLetters(t *testing.T) {
	st := storetest.Open(t)
	var refuse atomic.Bool
	refuse.Store(true)
	rec := newRecorder(func(context.Context, string, *Notification, int) error {
		if refuse.Load() {
			return errors.New("503")
		}
		return nil
	})
	p, bus, _ := start(t, Options{Store: st, Sender: rec, Instances: []Instance{allOf("http")}, MaxAttempts: 1})
	bus.Publish(change("web-1", "load"))
	eventually(t, "a dead letter", func() bool { return len(p.Health()) == 1 && p.Health()[0].Dead == 1 })
	refuse.Store(false)
	bus.Publish(change("web-2", "load"))
	eventually(t, "a delivery", func() bool { return p.Health()[0].Delivered == 1 })
	if h := p.Health()[0]; h.State != DeliveryDegraded || h.ConsecutiveFailures != 0 || h.DeadLettered != 1 {
		t.Errorf("%+v, want degraded by its dead letter", h)
	}
}
