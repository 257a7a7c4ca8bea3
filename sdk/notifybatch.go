package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// BatchNotifier is optionally implemented by a Notifier that delivers many
// notifications in one call; such a plugin declares CapBatchNotify by
// itself, and the host then sends it batches (a notifier without it gets
// one Notify call at a time). A batch holds at most one notification per
// host: a host's next notification comes only after this one's result, so
// the plugin may deliver the batch's notifications concurrently without
// changing any host's order.
type BatchNotifier interface {
	// NotifyBatch delivers ns and returns one error per notification, in
	// order (nil: delivered); a shorter slice counts as nil for the rest.
	// Each error is treated as Notify's would be.
	NotifyBatch(ctx context.Context, ns []*Notification) []error
}

func (s *notifierServer) NotifyBatch(ctx context.Context, req *pb.NotifyBatchRequest) (*pb.NotifyBatchResponse, error) {
	raw := req.GetNotificationsJson()
	resp := &pb.NotifyBatchResponse{Results: make([]*pb.NotifyResponse, len(raw))}
	ns := make([]*Notification, 0, len(raw))
	at := make([]int, 0, len(raw)) // index in raw of each decoded notification
	for i, b := range raw {
		resp.Results[i] = &pb.NotifyResponse{}
		var n Notification
		if err := json.Unmarshal(b, &n); err != nil {
			resp.Results[i].Error = fmt.Sprintf("decode notification: %v", err)
			continue
		}
		ns, at = append(ns, &n), append(at, i)
	}
	var errs []error
	if bn, ok := s.impl.(BatchNotifier); ok {
		errs = bn.NotifyBatch(ctx, ns)
	} else {
		for _, n := range ns {
			errs = append(errs, s.impl.Notify(ctx, n))
		}
	}
	for j, i := range at {
		if j < len(errs) {
			resp.Results[i].Error = errString(errs[j])
		}
	}
	return resp, nil
}

// NotifyBatchJSON sends notifications already encoded as JSON in one call
// to a plugin declaring CapBatchNotify. It returns one error per
// notification (a *RemoteError, or nil when delivered), or an error for the
// call as a whole when the plugin could not be reached.
func (c *NotifierClient) NotifyBatchJSON(ctx context.Context, notifications [][]byte) ([]error, error) {
	resp, err := c.c.NotifyBatch(ctx, &pb.NotifyBatchRequest{NotificationsJson: notifications})
	if err != nil {
		return nil, fmt.Errorf("notify batch: %w", err)
	}
	if len(resp.GetResults()) != len(notifications) {
		return nil, fmt.Errorf("notify batch: %d results for %d notifications", len(resp.GetResults()), len(notifications))
	}
	errs := make([]error, len(notifications))
	for i, r := range resp.GetResults() {
		errs[i] = remoteErr(r.GetError())
	}
	return errs, nil
}
