package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/store"
	"github.com/wigo-project/wigo/core/store/pgtest"
)

// BenchmarkPipelineThroughput measures events per second from bus.Publish to
// Send returning, through the SQLite outbox (synchronous=FULL, in
// b.TempDir()), and the p50/p99 latency of that path. "noop" isolates the
// pipeline; "http" posts each notification as the original's form to a
// local HTTP server, as notify-http does. The burst runs publish all events
// at once, so their latency is mostly queueing behind the backlog; the
// "serial" runs publish one event at a time and wait for its delivery, which
// is the latency of a single status change on a quiet system.
func BenchmarkPipelineThroughput(b *testing.B) {
	noop := func(context.Context, *Notification) error { return nil }
	b.Run("noop", func(b *testing.B) { benchPipeline(b, false, noop) })
	b.Run("noop-serial", func(b *testing.B) { benchPipeline(b, true, noop) })
	b.Run("http", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = DefaultWorkers
		post := func(ctx context.Context, n *Notification) error {
			body, err := json.Marshal(n)
			if err != nil {
				return err
			}
			form := url.Values{"Notification": {string(body)}}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(form.Encode()))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("status %s", resp.Status)
			}
			return nil
		}
		b.Run("burst", func(b *testing.B) { benchPipeline(b, false, post) })
		b.Run("serial", func(b *testing.B) { benchPipeline(b, true, post) })
	})
}

// BenchmarkPipelineBackends is the noop runs of PipelineThroughput on
// each backend in the same run: the SQLite file of the default, and a
// database of a local PostgreSQL 15 server (pgtest: fsync and
// synchronous_commit off, so the figure is the round trips and the row
// locking of ClaimOutbox, not a disk).
func BenchmarkPipelineBackends(b *testing.B) {
	noop := func(context.Context, *Notification) error { return nil }
	open := map[string]func(b *testing.B) *store.Store{
		"sqlite": sqliteStore,
		"postgres": func(b *testing.B) *store.Store {
			st, err := store.OpenPostgres(pgtest.DSN(b), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend+"/burst", func(b *testing.B) { benchPipelineOn(b, open[backend](b), false, noop) })
		b.Run(backend+"/serial", func(b *testing.B) { benchPipelineOn(b, open[backend](b), true, noop) })
	}
}

// sqliteStore is a store in the benchmark's temp directory.
func sqliteStore(b *testing.B) *store.Store {
	st, err := store.Open(filepath.Join(b.TempDir(), "wigo.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func benchPipeline(b *testing.B, serial bool, send func(context.Context, *Notification) error) {
	benchPipelineOn(b, sqliteStore(b), serial, send)
}

// benchPipelineOn runs the benchmark on st, which it closes.
func benchPipelineOn(b *testing.B, st *store.Store, serial bool, send func(context.Context, *Notification) error) {
	defer st.Close()
	n := b.N
	published := make([]atomic.Int64, n)
	latencies := make([]time.Duration, n)
	var delivered atomic.Int64
	all := make(chan struct{})
	progress := make(chan struct{}, 1)
	sender := SenderFunc(func(ctx context.Context, _ string, notif *Notification) error {
		if err := send(ctx, notif); err != nil {
			return err
		}
		i, err := strconv.Atoi(strings.TrimPrefix(notif.Probe, "p"))
		if err != nil {
			return err
		}
		latencies[i] = time.Duration(time.Now().UnixNano() - published[i].Load())
		if delivered.Add(1) == int64(n) {
			close(all)
		}
		select {
		case progress <- struct{}{}:
		default:
		}
		return nil
	})
	p, err := New(Options{Store: st, Sender: sender, Instances: []Instance{allOf("http")}})
	if err != nil {
		b.Fatal(err)
	}
	bus := event.NewBus()
	sub := bus.Subscribe(event.SubscribeOptions{Lossless: true, Kinds: Kinds})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.Run(ctx, sub) })

	b.ResetTimer()
	t0 := time.Now()
	for i := range n {
		published[i].Store(time.Now().UnixNano())
		bus.Publish(change(fmt.Sprintf("host-%d", i%64), fmt.Sprintf("p%d", i)))
		for serial && delivered.Load() <= int64(i) {
			<-progress
		}
	}
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d delivered", delivered.Load(), n)
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	cancel()
	wg.Wait()
	sub.Close()

	slices.Sort(latencies)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(latencies[n/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[min(n-1, n*99/100)].Microseconds())/1000, "p99-ms")
}
