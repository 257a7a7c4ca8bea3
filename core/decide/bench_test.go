package decide

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/schedule"
)

// BenchmarkDecide is the decisions' cost per event on a master of 20,000
// hosts with 1,000 silences in force, 200 acknowledgements and 100
// dependency rules (five parents DOWN), flap detection and renotify on: every op
// decides one probe change of a random host. "literal" is the usual mix
// (900 silences of one named host, 100 with wildcards); "wild" makes all
// 1,000 wildcard silences, the worst case, which each event scans;
// "quiet" is "literal" with two notify blocks quiet from 22:00 to 07:00
// (the events start at 22:00 and run a second apart, so most nights'
// changes below the level are put off).
func BenchmarkDecide(b *testing.B) {
	const hosts = 20000
	for _, mix := range []struct {
		name    string
		literal int
	}{{"literal", 900}, {"wild", 0}, {"none", -1}, {"churn", 900}, {"quiet", 900}} {
		b.Run(mix.name, func(b *testing.B) {
			d := New()
			t0 := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
			rng := rand.New(rand.NewPCG(1, 2))
			var setup []event.Event
			if mix.literal >= 0 {
				for i := range 1000 {
					s := event.Silence{ID: fmt.Sprint(i), Start: t0, End: t0.Add(1000 * time.Hour), Author: "bench"}
					if i < mix.literal {
						s.Host = fmt.Sprintf("host-%05d", rng.IntN(hosts))
					} else {
						// Wildcards that match few hosts, as real ones do.
						s.Host = fmt.Sprintf("host-%03d*", rng.IntN(200))
						s.Probe = "disk*"
					}
					setup = append(setup, event.Event{Kind: event.SilenceSet, Silence: &s})
				}
			}
			for range 200 {
				h := fmt.Sprintf("host-%05d", rng.IntN(hosts))
				setup = append(setup, event.Event{Kind: event.Acknowledged, HostUUID: h, Host: h,
					Ack: &event.Ack{HostUUID: h, Host: h, Probe: "load", Status: 300, Author: "bench", Time: t0}})
			}
			// 100 dependency rules, five of whose parents are DOWN.
			var deps []Dependency
			for i := range 100 {
				deps = append(deps, Dependency{Name: fmt.Sprint("dep", i), Hosts: []string{fmt.Sprintf("host-%03d*", i)},
					Parents: []string{fmt.Sprintf("relay-%02d", i)}})
			}
			d.SetDependencies(deps, time.Minute)
			if mix.name == "quiet" {
				w, err := schedule.Daily("22:00", "07:00", time.UTC)
				if err != nil {
					b.Fatal(err)
				}
				d.SetQuietHours(map[string]Quiet{"ops": {Window: w, MinLevel: 500}, "chat": {Window: w, MinLevel: 300}})
			}
			for i := range 5 {
				setup = append(setup, event.Event{Kind: event.HostDown, Time: t0, Host: fmt.Sprintf("relay-%02d", i*20), NewStatus: 999})
			}
			d.Decide(setup)
			events := make([]event.Event, 4096)
			for i := range events {
				h := fmt.Sprintf("host-%05d", rng.IntN(hosts))
				events[i] = event.Event{Kind: event.ProbeChanged, Time: t0.Add(time.Minute), HostUUID: h, Host: h,
					Group: "web", Probe: "disk_usage", OldStatus: 100, NewStatus: 300}
			}
			batch := make([]event.Event, 1)
			extra := event.Silence{ID: "extra", Host: "elsewhere", Start: t0, End: t0.Add(1000 * time.Hour), Author: "bench"}
			set := []event.Event{{Kind: event.SilenceSet, Silence: &extra}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if mix.name == "churn" {
					set[0].Decision = event.Decision{}
					d.Decide(set)
				}
				// A change a second, so each host changes every 4,096 s:
				// no flapping, as on an ordinary day.
				batch[0] = events[i%len(events)]
				batch[0].Time = t0.Add(time.Duration(i) * time.Second)
				batch[0].Decision = event.Decision{}
				d.Decide(batch)
			}
		})
	}
}
