package plugin

import (
	"encoding/json"
	"testing"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/notify"
	"github.com/wigo-project/wigo/sdk"
)

// TestNotificationContract checks that the pipeline's notification and the
// SDK's are one JSON document: what the outbox stores, a plugin decodes
// into sdk.Notification and notify-http re-encodes must come out byte for
// byte, or receivers would see keys move or vanish.
func TestNotificationContract(t *testing.T) {
	for name, n := range map[string]*notify.Notification{
		"probe": {
			Type: notify.TypeProbe, Hostname: "web1", Group: "web", Message: "m", Date: "2026-01-02T03:04:05.000000 (UTC)",
			Summary: "s\n", Status: 300, Probe: "load",
			OldProbe: &model.ProbeResult{Name: "load", Status: 100, Value: json.RawMessage(`1.5`), Detail: json.RawMessage(`{"a":[1,"x"]}`)},
			NewProbe: &model.ProbeResult{Name: "load", Version: "1", Status: 300, Message: "high", ProbeDate: "d", Timestamp: 17,
				Metrics: []model.Metric{{Tags: map[string]string{"cpu": "0"}, Value: 2.25}}, ExitCode: 0},
			HostProbesInError: []string{"load"}, EventId: "e1", Kind: "probe_changed",
			OldStatus: 100, NewStatus: 300, OldLevel: "OK", NewLevel: "CRIT", Delivery: notify.DeliveryFirst,
		},
		"host": {Type: notify.TypeWigo, Hostname: "db", Message: "Host db is DOWN", HostProbesInError: []string{},
			EventId: "e2", Kind: "host_down", OldStatus: 100, NewStatus: 999, OldLevel: "OK", NewLevel: "DOWN"},
		"delayed": {Type: notify.TypeWigo, Hostname: "db", Message: "2 changes on host db put off by the quiet hours of ops",
			Summary: "s\n", Status: 200, HostProbesInError: []string{}, EventId: "e3", Kind: "delayed", OldStatus: 100, NewStatus: 200,
			OldLevel: "OK", NewLevel: "WARN", Delivery: notify.DeliveryDelayed},
	} {
		t.Run(name, func(t *testing.T) {
			stored, err := json.Marshal(n)
			if err != nil {
				t.Fatal(err)
			}
			var s sdk.Notification
			if err := json.Unmarshal(stored, &s); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(&s)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(stored) {
				t.Fatalf("pipeline: %s\nsdk:      %s", stored, again)
			}
		})
	}
}
