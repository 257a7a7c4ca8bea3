package state

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
)

// Probe events carry their host's status and probes in error once the
// change is applied — for the local host, a remote one and a host restored
// from the store (whose probes in error sent no event since the restart) —
// so that notifications name every probe in error without any consumer
// keeping its own copy of the statuses.
func TestProbeEventsDescribeTheirHost(t *testing.T) {
	s, sub, _ := newState(t)
	s.ProbeResult(result("disk", 300, "disk 99%", 1))
	s.ProbeResult(result("load", 200, "load 9", 1))
	s.ProbeRemoved("disk")
	remote := &model.Wigo{Uuid: "r-1", Hostname: "web-1", IsAlive: true, LocalHost: &model.Host{Name: "web-1",
		Probes: map[string]*model.ProbeResult{"cpu": result("cpu", 100, "", 1), "mem": result("mem", 500, "", 1)}}}
	if err := s.Ingest("web-1:4000", remote); err != nil {
		t.Fatal(err)
	}
	s.Restore([]*Host{{UUID: "r-2", Name: "db-1", Remote: true, Alive: true, Source: "db-1:4000",
		Probes: map[string]*model.ProbeResult{"repl": result("repl", 300, "", 1), "mysql": result("mysql", 100, "", 1)}}})
	restored := &model.Wigo{Uuid: "r-2", Hostname: "db-1", IsAlive: true, LocalHost: &model.Host{Name: "db-1",
		Probes: map[string]*model.ProbeResult{"repl": result("repl", 300, "", 2), "mysql": result("mysql", 200, "slow", 2)}}}
	if err := s.Ingest("db-1:4000", restored); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range drain(sub) {
		switch e.Kind {
		case event.ProbeChanged, event.ProbeAppeared, event.ProbeDisappeared:
			got = append(got, e.Host+"/"+e.Probe+"="+strings.Join(e.ProbesInError, ",")+"@"+strconv.Itoa(e.HostStatus))
		}
	}
	want := []string{
		"master-1/disk=disk@300",
		"master-1/load=disk,load@300",
		"master-1/disk=load@200",
		"web-1/cpu=mem@500", "web-1/mem=mem@500",
		"db-1/mysql=mysql,repl@300",
	}
	// A report's probes come in map order.
	slices.Sort(got)
	slices.Sort(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("probe events describe their host as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
