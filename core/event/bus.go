package event

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Bus fans events out to subscribers. Publishing never waits on a lossy
// subscriber: when its buffer is full the event is dropped and counted. A
// lossless subscriber (the store) applies back-pressure instead, which is why
// it must drain quickly and batch its own work.
type Bus struct {
	mu   sync.RWMutex
	subs []*Subscription
	seq  atomic.Uint64
	// pub serialises Publish so every subscriber sees the same order.
	pub sync.Mutex
	now func() time.Time
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{now: time.Now} }

// SubscribeOptions shape one subscription.
type SubscribeOptions struct {
	// Buffer is the channel size; 0 means 1024.
	Buffer int
	// Kinds limits delivery to these kinds; empty means all.
	Kinds []Kind
	// Also, when set with Kinds, delivers besides them the events of other
	// kinds it accepts: a consumer takes the few it needs of a high-volume
	// kind without having all of it queued.
	Also func(*Event) bool
	// Lossless makes Publish wait for room instead of dropping.
	Lossless bool
}

// Subscription is one consumer's feed.
type Subscription struct {
	// C delivers events in publication order. It is closed by Close.
	C       <-chan Event
	c       chan Event
	kinds   []Kind
	also    func(*Event) bool
	lossy   bool
	dropped atomic.Uint64
	bus     *Bus
	once    sync.Once
	// done unblocks a lossless Publish waiting on a subscriber that is
	// closing.
	done chan struct{}
}

// Subscribe registers a new consumer.
func (b *Bus) Subscribe(opts SubscribeOptions) *Subscription {
	if opts.Buffer <= 0 {
		opts.Buffer = 1024
	}
	c := make(chan Event, opts.Buffer)
	s := &Subscription{C: c, c: c, kinds: slices.Clone(opts.Kinds), also: opts.Also, lossy: !opts.Lossless, bus: b, done: make(chan struct{})}
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s
}

// Dropped is how many events this lossy subscriber missed because its
// buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close unsubscribes and closes C. Safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		b := s.bus
		close(s.done)
		// Taking pub first guarantees no Publish is sending on s.c.
		b.pub.Lock()
		b.mu.Lock()
		b.subs = slices.DeleteFunc(b.subs, func(x *Subscription) bool { return x == s })
		b.mu.Unlock()
		close(s.c)
		b.pub.Unlock()
	})
}

func (s *Subscription) wants(e *Event) bool {
	return len(s.kinds) == 0 || slices.Contains(s.kinds, e.Kind) || (s.also != nil && s.also(e))
}

// Publish stamps each event with a sequence number (and the time, when
// unset) and hands it to every subscriber that wants its kind.
func (b *Bus) Publish(events ...Event) {
	if len(events) == 0 {
		return
	}
	b.pub.Lock()
	defer b.pub.Unlock()
	b.mu.RLock()
	subs := b.subs
	b.mu.RUnlock()
	for _, e := range events {
		e.Seq = b.seq.Add(1)
		if e.Time.IsZero() {
			e.Time = b.now()
		}
		for _, s := range subs {
			if !s.wants(&e) {
				continue
			}
			if !s.lossy {
				select {
				case s.c <- e:
				case <-s.done:
				}
				continue
			}
			select {
			case s.c <- e:
			default:
				s.dropped.Add(1)
			}
		}
	}
}

// Seq is the sequence number of the last published event.
func (b *Bus) Seq() uint64 { return b.seq.Load() }
