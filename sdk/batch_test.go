package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// batchHost records the batches it receives and refuses documents named
// "bad".
type batchHost struct {
	mu      sync.Mutex
	batches []int
	seen    map[string]int
}

func (h *batchHost) Ingest(context.Context, string, []byte) error { return errors.New("not used") }
func (h *batchHost) LocalState(context.Context) ([]byte, error)   { return nil, nil }
func (h *batchHost) Subscribe(context.Context) (<-chan []byte, error) {
	return nil, errors.New("not used")
}

func (h *batchHost) IngestBatch(_ context.Context, updates []Update) ([]error, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batches = append(h.batches, len(updates))
	errs := make([]error, len(updates))
	for i, u := range updates {
		h.seen[u.Source]++
		if string(u.Document) == "bad" {
			errs[i] = &RemoteError{Msg: "refused " + u.Source}
		}
	}
	return errs, nil
}

// TestBatcherGathersAndAnswersEach: updates sent at once by many
// goroutines reach the core in fewer calls than updates, and each sender
// gets its own update's answer.
func TestBatcherGathersAndAnswersEach(t *testing.T) {
	h := &batchHost{seen: map[string]int{}}
	b := NewBatcher(hclog.NewNullLogger(), h)
	defer b.Close()
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc := "ok"
			if i%7 == 0 {
				doc = "bad"
			}
			errs[i] = b.Ingest(context.Background(), Update{Source: fmt.Sprint(i), Document: []byte(doc)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var re *RemoteError
		if i%7 == 0 {
			if !errors.As(err, &re) || re.Msg != fmt.Sprintf("refused %d", i) {
				t.Fatalf("update %d: %v, want its own refusal", i, err)
			}
		} else if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.seen) != n {
		t.Fatalf("%d sources reached the core, want %d", len(h.seen), n)
	}
	if len(h.batches) >= n {
		t.Fatalf("%d calls for %d updates: nothing was batched", len(h.batches), n)
	}
}

// TestBatcherClosed: an update handed to a closed Batcher is refused, not
// lost in a queue nobody reads.
func TestBatcherClosed(t *testing.T) {
	b := NewBatcher(hclog.NewNullLogger(), &batchHost{seen: map[string]int{}})
	b.Close()
	if err := b.Ingest(context.Background(), Update{Source: "x", Document: []byte("ok")}); !errors.Is(err, ErrBatcherClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestBatcherWithLinger: updates sent 20 ms apart, each alone with the
// default linger of 5 ms, share calls when the batch lingers longer: one
// per worker at most.
func TestBatcherWithLinger(t *testing.T) {
	h := &batchHost{seen: map[string]int{}}
	b := NewBatcher(hclog.NewNullLogger(), h, WithLinger(time.Second))
	defer b.Close()
	const n = 5
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Ingest(context.Background(), Update{Source: fmt.Sprint(i), HostUUID: "u"}); err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.batches) > batchWorkers {
		t.Fatalf("batches %v: %d updates 20 ms apart took more calls than the %d workers", h.batches, n, batchWorkers)
	}
}
