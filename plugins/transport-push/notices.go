package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// clock is the time the server's rate limits run on; tests replace it.
type clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func())
}

type realClock struct{}

func (realClock) Now() time.Time                      { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// waitingNoticeEvery is the least time between two client_waiting
// notifications: a flood of made-up clients is one notification a minute
// with a count, not one per client (each a log row and a message to every
// notifier, with a name the sender chose).
const waitingNoticeEvery = time.Minute

// waitingNotice is what one notification says: count new clients joined
// the waiting list, the last of them uuid/hostname.
type waitingNotice struct {
	count          int
	uuid, hostname string
}

// message is the notification's sentence.
func (n waitingNotice) message() string {
	if n.count == 1 {
		return fmt.Sprintf("New push client %s (%s) is waiting for approval", n.hostname, n.uuid)
	}
	return fmt.Sprintf("%d new push clients are waiting for approval (the latest: %s (%s))", n.count, n.hostname, n.uuid)
}

// waitingNotices rate-limits and aggregates the notifications of new
// waiting clients: the first after a quiet minute goes out at once, the
// ones after it are counted and go out as one when the minute is over.
type waitingNotices struct {
	log   hclog.Logger
	clock clock
	send  func(waitingNotice)

	mu       sync.Mutex
	last     time.Time // when the last notification went out
	queued   waitingNotice
	flushing bool // a flush is scheduled
}

func newWaitingNotices(log hclog.Logger, c clock, send func(waitingNotice)) *waitingNotices {
	return &waitingNotices{log: log, clock: c, send: send}
}

// add records a new waiting client from remote.
func (w *waitingNotices) add(uuid, hostname, remote string) {
	w.mu.Lock()
	now := w.clock.Now()
	if !w.flushing && (w.last.IsZero() || now.Sub(w.last) >= waitingNoticeEvery) {
		w.last = now
		w.mu.Unlock()
		w.log.Info("new push client waiting for approval", "uuid", uuid, "hostname", hostname, "remote", remote)
		w.send(waitingNotice{count: 1, uuid: uuid, hostname: hostname})
		return
	}
	w.queued = waitingNotice{count: w.queued.count + 1, uuid: uuid, hostname: hostname}
	schedule, due := !w.flushing, w.last.Add(waitingNoticeEvery).Sub(now)
	w.flushing = true
	w.mu.Unlock()
	w.log.Debug("new push client waiting for approval", "uuid", uuid, "hostname", hostname, "remote", remote)
	if schedule {
		w.clock.AfterFunc(due, w.flush)
	}
}

// flush sends what was counted since the last notification.
func (w *waitingNotices) flush() {
	w.mu.Lock()
	n := w.queued
	w.queued, w.flushing, w.last = waitingNotice{}, false, w.clock.Now()
	w.mu.Unlock()
	if n.count == 0 {
		return
	}
	w.log.Info("new push clients waiting for approval", "count", n.count, "latest_uuid", n.uuid, "latest_hostname", n.hostname)
	w.send(n)
}
