//go:build fakeclock

package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/daemon"
)

// clockOptions, in the tests' build (-tags fakeclock), makes the daemon
// read its time from the file named by $WIGO_CLOCK_FILE when set, so that a
// test can move a real daemon's clock by hours (silences, maintenance
// windows, renotify) and a daemon started again after kill -9 goes on from
// the same time. The file holds two RFC 3339 times, "T W": the clock read T
// when the system clock read W, and runs at the system clock's pace from
// there. A release build has no such file (clock.go).
func clockOptions(log hclog.Logger) ([]daemon.Option, error) {
	path := os.Getenv("WIGO_CLOCK_FILE")
	if path == "" {
		return nil, nil
	}
	c := &fileClock{path: path}
	if err := c.read(); err != nil {
		return nil, err
	}
	log.Warn("the clock is read from a file", "path", path, "now", c.Now())
	go c.watch(log)
	return []daemon.Option{daemon.WithClock(c)}, nil
}

type fileClock struct {
	path    string
	mu      sync.Mutex
	offset  time.Duration // clock minus system clock
	raw     string
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	c  chan time.Time
}

func (c *fileClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// At fires when the clock reaches t: by the system clock's pace, or at
// once when the file moves the clock past t.
func (c *fileClock) At(t time.Time) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.waiters = append(c.waiters, clockWaiter{at: t, c: ch})
	c.mu.Unlock()
	c.fire()
	return ch
}

// fire sends to every waiter whose time has come.
func (c *fileClock) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().Add(c.offset)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if now.Before(w.at) {
			kept = append(kept, w)
			continue
		}
		w.c <- now
	}
	c.waiters = kept
}

func (c *fileClock) read() error {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Errorf("clock file: %w", err)
	}
	raw := strings.TrimSpace(string(b))
	c.mu.Lock()
	same := raw == c.raw
	c.mu.Unlock()
	if same {
		return nil
	}
	f := strings.Fields(raw)
	if len(f) != 2 {
		return fmt.Errorf("clock file %s: want \"T W\", two RFC 3339 times, got %q", c.path, raw)
	}
	t, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil {
		return fmt.Errorf("clock file %s: %w", c.path, err)
	}
	w, err := time.Parse(time.RFC3339Nano, f[1])
	if err != nil {
		return fmt.Errorf("clock file %s: %w", c.path, err)
	}
	c.mu.Lock()
	c.raw, c.offset = raw, t.Sub(w)
	c.mu.Unlock()
	return nil
}

// watch rereads the file every 10 ms and fires the waiters whose time has
// come; a test's clock is coarse enough for that.
func (c *fileClock) watch(log hclog.Logger) {
	for range time.Tick(10 * time.Millisecond) {
		if err := c.read(); err != nil {
			log.Error("clock file", "error", err)
		}
		c.fire()
	}
}
