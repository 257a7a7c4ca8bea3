package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// FuzzBuild: whatever a probe or a remote put in an event (any text, any
// status, any Detail the parser let through), the notification builds and
// encodes, and decodes back to the same sentence: the outbox never holds a
// payload a receiver cannot read, and Enqueue never fails on encoding.
func FuzzBuild(f *testing.F) {
	f.Add("web-1", "db", "load", "load 3.2 > 2", 100, 300, []byte(`{"load1":3.2}`), uint8(0))
	f.Add("h\u2028", "", "p\x00", "\xff\xfe", 999, -1, []byte(`[[[[]]]]`), uint8(3))
	f.Add("", "g", "", strings.Repeat("m", 70000), 5000, 0, []byte(`"x"`), uint8(5))
	kinds := []event.Kind{event.ProbeChanged, event.ProbeAppeared, event.ProbeDisappeared, event.HostDown, event.HostUp, event.ClientWaiting}
	f.Fuzz(func(t *testing.T, host, group, probe, msg string, oldStatus, newStatus int, detail []byte, kind uint8) {
		if !json.Valid(detail) {
			detail = nil // the probe parser refuses invalid JSON
		}
		res := &model.ProbeResult{Name: probe, Message: msg, Status: newStatus, Detail: detail}
		e := event.Event{Kind: kinds[int(kind)%len(kinds)], Time: time.Unix(1795602871, 0), Host: host, Group: group,
			Probe: probe, OldStatus: oldStatus, NewStatus: newStatus, New: res, Old: res, Message: msg, Remote: true}
		e.ProbesInError = []string{probe}
		n, ok := Build(e, "00000000-0000-0000-0000-000000000001")
		if !ok {
			return
		}
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("the notification does not encode: %v", err)
		}
		var back Notification
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("the payload does not decode: %v\n%s", err, b)
		}
		// Valid text arrives as it is; invalid bytes arrive replaced, so the
		// receiver always gets valid UTF-8.
		if !utf8.ValidString(back.Message) || !utf8.ValidString(back.Summary) ||
			(utf8.ValidString(n.Message) && back.Message != n.Message) || (utf8.ValidString(host) && back.Hostname != host) {
			t.Fatalf("the payload changed its sentence: %q → %q", n.Message, back.Message)
		}
	})
}
