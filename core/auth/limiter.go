package auth

import (
	"sync"
	"time"
)

// Failed logins allowed per address within a window before it is blocked
// until the window ends.
const (
	maxFailures   = 10
	failureWindow = time.Minute
	// maxTracked bounds the addresses remembered; past it the expired
	// ones are dropped, and if none is, all are (a flood from that many
	// addresses is not stopped by this anyway).
	maxTracked = 10000
)

type limiter struct {
	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	n     int
	since time.Time
}

func newLimiter() *limiter { return &limiter{m: map[string]*failures{}} }

// blocked returns how long key is still blocked, 0 when it is not.
func (l *limiter) blocked(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[key]
	if f == nil || f.n < maxFailures {
		return 0
	}
	if end := f.since.Add(failureWindow); now.Before(end) {
		return end.Sub(now)
	}
	delete(l.m, key)
	return 0
}

// fail counts a failure of key; it reports whether key is now blocked.
func (l *limiter) fail(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[key]
	if f == nil || now.Sub(f.since) >= failureWindow {
		if len(l.m) >= maxTracked {
			for k, v := range l.m {
				if now.Sub(v.since) >= failureWindow {
					delete(l.m, k)
				}
			}
			if len(l.m) >= maxTracked {
				clear(l.m)
			}
		}
		f = &failures{since: now}
		l.m[key] = f
	}
	f.n++
	return f.n == maxFailures
}
