package main

import (
	"context"
	"sync"

	"github.com/wigo-project/wigo/sdk"
)

var _ sdk.BatchNotifier = (*notifier)(nil)

// batchPosts bounds the POSTs of one batch in flight at once, so a batch
// does not open more connections to the receiver than a browser would.
const batchPosts = 16

// NotifyBatch implements sdk.BatchNotifier: each notification is still one
// POST, as Notify sends it, but the batch's go out concurrently. A batch
// holds at most one notification per host (the core's promise), so no
// host's order changes.
func (n *notifier) NotifyBatch(ctx context.Context, notes []*sdk.Notification) []error {
	errs := make([]error, len(notes))
	slots := make(chan struct{}, batchPosts)
	var wg sync.WaitGroup
	for i, note := range notes {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			errs[i] = n.Notify(ctx, note)
		}()
	}
	wg.Wait()
	return errs
}
