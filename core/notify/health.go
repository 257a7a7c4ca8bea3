package notify

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wigo-project/wigo/core/store"
)

// Delivery states of a notifier instance, from its recent attempts and its
// dead letters. A plugin that runs is not a notifier that delivers: a
// receiver answering 500 on every call leaves the plugin "running" and
// this state "failing".
const (
	// DeliveryHealthy: the last attempt succeeded (or none was made) and
	// no dead letter waits.
	DeliveryHealthy = "healthy"
	// DeliveryDegraded: the last attempt failed once, or dead letters wait
	// for an operator's retry.
	DeliveryDegraded = "degraded"
	// DeliveryFailing: at least FailingAfter attempts in a row failed.
	DeliveryFailing = "failing"
)

// FailingAfter is how many failed attempts in a row make an instance
// failing: a first attempt and one retry, so a receiver that refuses
// everything shows within one retry, while one lost request only
// degrades it.
const FailingAfter = 2

// InstanceHealth is how an instance's deliveries go, for /api/plugins, the
// Plugins view and /metrics. Times are zero for never; the counters count
// since the daemon started, the outbox counts are the rows there now.
type InstanceHealth struct {
	Instance            string    `json:"instance"`
	State               string    `json:"state"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	LastFailure         time.Time `json:"last_failure,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	Pending             int       `json:"pending"`
	Held                int       `json:"held"`
	Dead                int       `json:"dead"`
	Delivered           uint64    `json:"delivered"`
	Failed              uint64    `json:"failed"`
	DeadLettered        uint64    `json:"dead_lettered"`
}

// deliveries keeps each instance's recent delivery outcomes. record (the
// dispatcher) writes, Health reads.
type deliveries struct {
	mu sync.Mutex
	by map[string]*InstanceHealth
}

func (d *deliveries) get(instance string) *InstanceHealth {
	h := d.by[instance]
	if h == nil {
		h = &InstanceHealth{Instance: instance}
		d.by[instance] = h
	}
	return h
}

// succeeded notes a delivered notification.
func (d *deliveries) succeeded(instance string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.get(instance)
	h.LastSuccess, h.ConsecutiveFailures = at, 0
	h.Delivered++
}

// failed notes a failed attempt, dead-lettered or to be retried.
func (d *deliveries) failed(instance string, at time.Time, err error, dead bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.get(instance)
	h.LastFailure, h.LastError = at, err.Error()
	h.ConsecutiveFailures++
	h.Failed++
	if dead {
		h.DeadLettered++
	}
}

// Health returns every configured instance's delivery health (and that of
// any instance that still has rows in the outbox), sorted by name.
func (p *Pipeline) Health() []InstanceHealth {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := p.st.CountOutboxByInstance(ctx)
	if err != nil {
		p.log.Warn("cannot count outbox rows per notifier", "error", err)
	}
	p.instMu.Lock()
	instances := p.instances
	p.instMu.Unlock()
	p.health.mu.Lock()
	for _, in := range instances {
		p.health.get(in.Name)
	}
	for name := range counts {
		p.health.get(name)
	}
	out := make([]InstanceHealth, 0, len(p.health.by))
	for _, h := range p.health.by {
		out = append(out, *h)
	}
	p.health.mu.Unlock()
	for i := range out {
		h := &out[i]
		c := counts[h.Instance]
		h.Pending, h.Held, h.Dead = c[store.OutboxPending], c[store.OutboxHeld], c[store.OutboxDead]
		switch {
		case h.ConsecutiveFailures >= FailingAfter:
			h.State = DeliveryFailing
		case h.ConsecutiveFailures > 0 || h.Dead > 0:
			h.State = DeliveryDegraded
		default:
			h.State = DeliveryHealthy
		}
	}
	slices.SortFunc(out, func(a, b InstanceHealth) int { return strings.Compare(a.Instance, b.Instance) })
	return out
}
