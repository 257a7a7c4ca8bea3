package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// quietBlocks are two notify-http blocks: ops is quiet from 22:00 to 07:00
// in Paris below ERROR, day has no quiet hours.
func quietBlocks(opsURL, dayURL string) string {
	return `notify "ops" {
  plugin = "notify-http"
  url    = "` + opsURL + `"
  quiet_hours {
    from      = "22:00"
    to        = "07:00"
    time_zone = "Europe/Paris"
    min_level = 500
  }
}
notify "day" {
  plugin = "notify-http"
  url    = "` + dayURL + `"
}
`
}

// Quiet hours put off what is below their level for their notify block
// only, send what reaches it at once, and at their end deliver what they
// put off as one notification for the host; a kill -9 in the night, with
// changes put off, neither loses nor repeats one. Time runs on the
// daemon's clock; each step counts exactly what each receiver got.
func TestQuietHoursDelayThenDeliver(t *testing.T) {
	ops, opsSrv := newSink(t)
	day, daySrv := newSink(t)
	env := newEnv(t, quietBlocks(opsSrv.URL+"/ops", daySrv.URL+"/day"))
	// 23:00 in Paris: quiet until 07:00 there, 06:00 UTC.
	clk := useClock(t, &env, time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC))
	end := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	r := start(t, env)
	sent := func(nOps, nDay int, what string) {
		t.Helper()
		day.exactly(t, env.url, nDay, what+" (day)")
		ops.exactly(t, env.url, nOps, what+" (ops)")
	}
	logs := "host=e2e-host&probe=flip"
	waitFor(t, env.url, 10*time.Second, func(w *model.Wigo) bool { return probeStatus(w, "flip") == 100 })

	setProbe(t, env, 300)
	setProbe(t, env, 200)
	awaitLogRows(t, env.url, logs, "(delayed for ops until 2026-12-05 07:00 CET: quiet hours)", 2)
	sent(0, 2, "two changes below ERROR in the quiet hours")
	var held []model.LogEntry
	getJSON(t, env.url+"/api/held?reason=quiet_hours", &held)
	if len(held) != 2 || held[0].HeldBack != "quiet_hours" {
		t.Errorf("GET /api/held?reason=quiet_hours: %+v, want the two changes", held)
	}

	r.kill9()
	clk.add(t, time.Hour)
	r = start(t, env)
	waitFor(t, env.url, 15*time.Second, func(*model.Wigo) bool { return true })
	sent(0, 2, "the restart in the quiet hours")

	setProbe(t, env, 500)
	sent(1, 3, "an ERROR in the quiet hours")
	setProbe(t, env, 300)
	sent(2, 4, "the way back from ERROR")
	setProbe(t, env, 200)
	awaitLogRows(t, env.url, logs, "quiet hours)", 3)
	sent(2, 5, "a third change below ERROR")
	metricsHave(t, env.url, `wigo_notifications_held_back_total{reason="quiet_hours"} 1`)

	clk.set(t, end.Add(-time.Minute))
	sent(2, 5, "a minute before the end")
	clk.set(t, end.Add(time.Second))
	sent(3, 5, "the end of the quiet hours")
	ops.mu.Lock()
	n := ops.got[2]
	ops.mu.Unlock()
	if n.Kind != "delayed" || n.Delivery != "delayed" || n.Probe != "flip" || n.OldStatus != 100 || n.NewStatus != 200 ||
		!strings.Contains(n.Message, "3 changes on host e2e-host put off by the quiet hours of ops: flip OK→CRIT, flip CRIT→WARN, flip CRIT→WARN; now WARN (200)") {
		t.Errorf("the night's notification: %+v", n)
	}
	awaitLogRows(t, env.url, logs, "3 changes on host e2e-host", 1)

	r.kill9()
	r = start(t, env)
	defer r.stop(t)
	waitFor(t, env.url, 15*time.Second, func(*model.Wigo) bool { return true })
	setProbe(t, env, 300)
	sent(4, 6, "a restart after the delivery, then a change in the day")
	ops.mu.Lock()
	if n := ops.got[3]; n.Kind != "probe_changed" || n.Delivery != "first" {
		t.Errorf("in the day: %+v, want a probe_changed sent at once", n)
	}
	ops.mu.Unlock()
}

// -check refuses quiet hours it cannot read, with the file, line and
// column of the mistake.
func TestQuietHoursCheck(t *testing.T) {
	for _, c := range []struct{ from, to, zone, level, want string }{
		{"22h", "07:00", "UTC", "500", `wigo.hcl:22,17: Invalid quiet hours; from = "22h", to = "07:00": "22h" is not a time of day`},
		{"22:00", "07:00", "Paris", "500", `wigo.hcl:24,17: Unknown time zone; time_zone = "Paris" is not a time zone name`},
		{"22:00", "07:00", "UTC", "1200", `wigo.hcl:25,17: Invalid quiet_hours min_level`},
	} {
		env := newEnv(t, strings.NewReplacer(`"22:00"`, `"`+c.from+`"`, `"07:00"`, `"`+c.to+`"`,
			`"Europe/Paris"`, `"`+c.zone+`"`, "500", c.level).Replace(quietBlocks("http://127.0.0.1:1/ops", "http://127.0.0.1:1/day")))
		out, err := exec.Command(wigoBin, "-c", env.config, "-check").CombinedOutput()
		if err == nil || !strings.Contains(string(out), filepath.Base(env.config)) || !strings.Contains(string(out), c.want) {
			t.Errorf("-check with from %q, time_zone %q, min_level %s: %v\n%s\nwant %q", c.from, c.zone, c.level, err, out, c.want)
		}
	}
}
