package decide

import (
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
)

// A restart within the grace that a parent back gave its children (the
// parent found up, children it held back still waiting) gives them a grace
// from the restart: the ones still waiting are due then, not never; behind
// a parent found DOWN they keep waiting for it.
func TestDependencyRestoredWithinGrace(t *testing.T) {
	for _, tc := range []struct {
		name string
		down []string
		due  int
	}{
		{"parent up", nil, 1},
		{"parent down", []string{"relay-1"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New()
			d.SetDependencies([]Dependency{{Name: "behind-relay", Hosts: []string{"child-*"}, Parents: []string{"relay-1"}}}, time.Minute)
			d.Restore(nil, nil, []event.Pending{
				{HostUUID: "c1", Host: "child-1", Notified: 100},
				{HostUUID: "w1", Host: "web-1", Notified: 100}, // another silence's, not the relay's child
			})
			d.RestoreDown(tc.down, t0)
			if due, _ := d.DependencyDue(t0.Add(59 * time.Second)); len(due) != 0 {
				t.Fatalf("due within the grace: %+v", due)
			}
			due, next := d.DependencyDue(t0.Add(time.Minute))
			if len(due) != tc.due || (tc.due == 1 && due[0].Host != "child-1") || !next.IsZero() {
				t.Errorf("due at the end of the grace: %+v (next %s), want %d of child-1", due, next, tc.due)
			}
		})
	}
}
