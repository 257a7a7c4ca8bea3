package transport

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/sdk"
)

// Event publishes a ClientWaiting event on the state's bus, and refuses
// other kinds and bad names without publishing anything.
func TestEventPublishesClientWaiting(t *testing.T) {
	h, st, _ := newHost(t)
	sub := st.Bus().Subscribe(event.SubscribeOptions{Lossless: true})
	defer sub.Close()
	ctx := context.Background()

	for name, args := range map[string][4]string{
		"bad kind":        {"host_down", "u-1", "web-1", ""},
		"empty uuid":      {sdk.EventClientWaiting, "", "web-1", ""},
		"long host":       {sdk.EventClientWaiting, "u-1", strings.Repeat("h", 256), ""},
		"control in host": {sdk.EventClientWaiting, "u-1", "web\n-1", ""},
	} {
		if err := h.Event(ctx, args[0], args[1], args[2], args[3]); err == nil {
			t.Errorf("%s: Event accepted", name)
		}
	}
	if err := h.Event(ctx, sdk.EventClientWaiting, "u-1", "web-1", "new push client waiting for approval"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-sub.C:
		want := event.Event{Kind: event.ClientWaiting, HostUUID: "u-1", Host: "web-1",
			Message: "new push client waiting for approval", Remote: true, NewStatus: model.StatusWarn}
		e.Seq, e.Time = 0, time.Time{}
		if !reflect.DeepEqual(e, want) {
			t.Fatalf("event = %+v, want %+v", e, want)
		}
		if !e.Logged() {
			t.Error("ClientWaiting is not Logged")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event published")
	}
	select {
	case e := <-sub.C:
		t.Fatalf("extra event %+v", e)
	default:
	}
}
