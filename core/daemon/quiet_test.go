package daemon

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/store"
)

// A daemon stopped in the night and started after the quiet hours ended
// delivers what they put off as soon as it starts, once; the change itself
// went to nobody else (the only notify block is the quiet one).
func TestQuietHoursEndWhileStopped(t *testing.T) {
	dir := t.TempDir()
	// 23:00 in Paris; the quiet hours end at 07:00 there, 06:00 UTC.
	clk := &fakeClock{t: time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC), waits: make(chan time.Time, 100)}
	block := `notify "pager" {
  plugin    = "notify-http"
  url       = "http://127.0.0.1:9/"
  min_level = 200
  quiet_hours {
    from      = "22:00"
    to        = "07:00"
    time_zone = "Europe/Paris"
  }
}`
	cd := startClockDaemon(t, dir, clk, block)
	if err := cd.d.State().Ingest("10.0.0.2:4000", remoteDoc("a1", "web-2", 100, clk.Now())); err != nil {
		t.Fatal(err)
	}
	cd.next(t, event.ProbeAppeared)
	if err := cd.d.State().Ingest("10.0.0.2:4000", remoteDoc("a1", "web-2", 300, clk.Now())); err != nil {
		t.Fatal(err)
	}
	e := cd.next(t, event.ProbeChanged)
	if len(e.Decision.Delayed) != 1 || e.Decision.Delayed[0].Instance != "pager" ||
		!e.Decision.Delayed[0].Until.Equal(time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("the change in the night: %+v, want put off for pager until 06:00 UTC", e.Decision)
	}
	cd.stop()

	clk.Add(9 * time.Hour)
	cd = startClockDaemon(t, dir, clk, block)
	d := cd.next(t, event.Delayed)
	if len(d.Delays) != 1 || d.Delays[0].NewStatus != 300 || len(d.Decision.To) != 1 || d.Decision.To[0] != "pager" ||
		d.Host != "web-2" || d.Probe != "load" || d.NewStatus != 300 || d.OldStatus != 100 {
		t.Fatalf("at start: %s/%s %d->%d %+v %+v, want web-2/load's change to pager", d.Host, d.Probe, d.OldStatus, d.NewStatus, d.Delays, d.Decision)
	}
	// Delivered with its notification queued: a third start has nothing
	// left to deliver.
	cd.stop()
	db, err := store.Open(filepath.Join(dir, "wigo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if delays, err := db.Delays(t.Context()); err != nil || len(delays) != 0 {
		t.Errorf("delays left after the delivery: %+v %v", delays, err)
	}
	if rows, _, err := db.ListOutbox(t.Context(), store.OutboxQuery{}); err != nil || len(rows) != 1 || rows[0].Instance != "pager" {
		t.Errorf("outbox after the delivery: %+v %v, want the delayed notification for pager", rows, err)
	}
}
