package store

import (
	"context"
	"testing"
	"time"
)

// Each master's heartbeat is seen by the others on the database, with the
// database's time of its latest beat; a master silent for a day is
// forgotten.
func TestHeartbeatsSeenByTheOtherMaster(t *testing.T) {
	forEachBackendPair(t, func(t *testing.T, a, b *Store) {
		ctx := context.Background()
		started := time.Unix(1_800_000_000, 0)
		if _, _, err := a.Heartbeat(ctx, Master{Instance: "ua", Hostname: "master-a", URL: "http://a:4000", Version: "1.2", Started: started}); err != nil {
			t.Fatal(err)
		}
		rows, now, err := b.Heartbeat(ctx, Master{Instance: "ub", Hostname: "master-b", Started: started})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Instance != "ua" || rows[1].Instance != "ub" {
			t.Fatalf("rows %+v", rows)
		}
		ra := rows[0]
		if ra.Hostname != "master-a" || ra.URL != "http://a:4000" || ra.Version != "1.2" || !ra.Started.Equal(started) {
			t.Errorf("master-a's row %+v", ra)
		}
		if lag := now.Sub(ra.Beat); lag < 0 || lag > 5*time.Second || !rows[1].Beat.Equal(now) {
			t.Errorf("a beat %v, b beat %v, now %v", ra.Beat, rows[1].Beat, now)
		}
		if _, err := a.w.Exec("UPDATE masters SET beat_at = ? WHERE instance = 'ua'", now.Add(-25*time.Hour).UnixNano()); err != nil {
			t.Fatal(err)
		}
		if rows, _, err = b.Heartbeat(ctx, Master{Instance: "ub", Hostname: "master-b", Started: started}); err != nil || len(rows) != 1 {
			t.Errorf("after a day of silence: %+v, %v", rows, err)
		}
	})
}
