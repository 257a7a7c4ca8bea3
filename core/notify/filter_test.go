package notify

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/store"
)

func defaults() Filter {
	return Filter{Notifications: config.Default().Notifications} // min 250, probe+host on
}

func pev(kind event.Kind, old, new int) event.Event {
	return event.Event{Kind: kind, Host: "web-1", Group: "Front", Probe: "load", OldStatus: old, NewStatus: new}
}

func TestFilterOriginalSemantics(t *testing.T) {
	rescue := defaults()
	rescue.RescueOnly = true
	noProbe := defaults()
	noProbe.OnProbeChange = false
	noHost := defaults()
	noHost.OnHostChange = false

	tests := []struct {
		name string
		f    Filter
		e    event.Event
		want bool
	}{
		{"ok to crit", defaults(), pev(event.ProbeChanged, 100, 300), true},
		{"ok to warn below min", defaults(), pev(event.ProbeChanged, 100, 200), false},
		{"warn to ok below min", defaults(), pev(event.ProbeChanged, 200, 100), false},
		{"at min exactly", defaults(), pev(event.ProbeChanged, 100, 250), true},
		{"crit recovers to ok", defaults(), pev(event.ProbeChanged, 300, 100), true},
		{"crit recovers to warn", defaults(), pev(event.ProbeChanged, 300, 200), true},
		{"crit to error", defaults(), pev(event.ProbeChanged, 300, 500), true},
		{"error down to crit", defaults(), pev(event.ProbeChanged, 500, 300), true},
		{"probe changes off", noProbe, pev(event.ProbeChanged, 100, 500), false},
		{"rescue only: crit to ok", rescue, pev(event.ProbeChanged, 300, 100), true},
		{"rescue only: ok to crit", rescue, pev(event.ProbeChanged, 100, 300), false},
		{"rescue only: error to crit stays above", rescue, pev(event.ProbeChanged, 500, 300), false},
		{"appeared crit", defaults(), pev(event.ProbeAppeared, 0, 300), true},
		{"appeared ok", defaults(), pev(event.ProbeAppeared, 0, 100), false},
		{"appeared crit, rescue only", rescue, pev(event.ProbeAppeared, 0, 300), false},
		{"disappeared while crit", defaults(), pev(event.ProbeDisappeared, 300, 100), true},
		{"disappeared while ok", defaults(), pev(event.ProbeDisappeared, 100, 100), false},
		{"disappeared while crit, rescue only", rescue, pev(event.ProbeDisappeared, 300, 100), true},
		{"updated never", defaults(), pev(event.ProbeUpdated, 300, 300), false},
		{"host down", defaults(), event.Event{Kind: event.HostDown, Host: "db", NewStatus: 999}, true},
		{"host up", defaults(), event.Event{Kind: event.HostUp, Host: "db", OldStatus: 999, NewStatus: 100}, true},
		{"host down, host changes off", noHost, event.Event{Kind: event.HostDown, Host: "db"}, false},
		{"host down, rescue only", rescue, event.Event{Kind: event.HostDown, Host: "db"}, true},
		{"host appeared never", defaults(), event.Event{Kind: event.HostAppeared, Host: "db"}, false},
		{"host removed never", defaults(), event.Event{Kind: event.HostRemoved, Host: "db"}, false},
		{"client waiting", defaults(), event.Event{Kind: event.ClientWaiting, Host: "db", HostUUID: "u-1", NewStatus: 200}, true},
		{"client waiting, host changes off", noHost, event.Event{Kind: event.ClientWaiting, Host: "db"}, false},
		{"client waiting, rescue only", rescue, event.Event{Kind: event.ClientWaiting, Host: "db"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Accepts(tt.e); got != tt.want {
				t.Errorf("Accepts(%s %d→%d) = %v, want %v", tt.e.Kind, tt.e.OldStatus, tt.e.NewStatus, got, tt.want)
			}
		})
	}
}

func TestFilterRouting(t *testing.T) {
	f := defaults()
	f.Groups = []string{"front*"}
	f.Hosts = []string{"DB-*.paris", "exact"}
	ev := func(host, group string) event.Event {
		e := pev(event.ProbeChanged, 100, 300)
		e.Host, e.Group = host, group
		return e
	}
	for _, tt := range []struct {
		host, group string
		want        bool
	}{
		{"web-1", "Front", true},     // group, case-insensitive
		{"web-1", "FrontEnd", true},  // group wildcard
		{"db-3.paris", "Back", true}, // host wildcard, OR'ed with groups
		{"exact", "", true},
		{"exact2", "Back", false},
		{"db-3.lyon", "Back", false},
	} {
		if got := f.Accepts(ev(tt.host, tt.group)); got != tt.want {
			t.Errorf("host %q group %q: %v, want %v", tt.host, tt.group, got, tt.want)
		}
	}
}

func TestDecodeRouting(t *testing.T) {
	src := `
groups       = ["front", "back*"]
hosts        = ["db-*"]
fallback_for = "http"
url          = "http://x"
`
	f, diags := hclsyntax.ParseConfig([]byte(src), "wigo.hcl", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	r, remain, diags := DecodeRouting(f.Body)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !slices.Equal(r.Groups, []string{"front", "back*"}) || !slices.Equal(r.Hosts, []string{"db-*"}) || r.FallbackFor != "http" {
		t.Errorf("routing = %+v", r)
	}
	// What is left is the plugin's: only url.
	attrs, diags := remain.JustAttributes()
	if diags.HasErrors() || len(attrs) != 1 || attrs["url"] == nil {
		t.Errorf("remaining attributes = %v, %v", attrs, diags)
	}

	f, _ = hclsyntax.ParseConfig([]byte("hosts = 3\n"), "bad.hcl", hcl.Pos{Line: 1, Column: 1})
	_, _, diags = DecodeRouting(f.Body)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "bad.hcl:1") {
		t.Errorf("bad hosts: diagnostics %v should point at bad.hcl:1", diags)
	}

	inst, _, diags := InstanceFromBlock(config.PluginBlock{Kind: "notify", Label: "mail", Body: hcl.EmptyBody(),
		Filter: &config.Notifications{MinLevel: 300}})
	if diags.HasErrors() || inst.Name != "mail" || inst.Filter.MinLevel != 300 {
		t.Errorf("instance = %+v, %v", inst, diags)
	}
}

func TestCheckInstances(t *testing.T) {
	ok := []Instance{{Name: "http"}, {Name: "mail", FallbackFor: "http"}}
	if err := CheckInstances(ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]Instance{
		{{Name: "a"}, {Name: "a"}},
		{{Name: "mail", FallbackFor: "nope"}},
		{{Name: "mail", FallbackFor: "mail"}},
		{{Name: "a"}, {Name: "b", FallbackFor: "a"}, {Name: "c", FallbackFor: "b"}},
		{{Name: ""}},
	} {
		if err := CheckInstances(bad); err == nil {
			t.Errorf("CheckInstances(%+v) = nil, want an error", bad)
		}
	}
}

func TestBuildKeepsOriginalShape(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	old := &model.ProbeResult{Name: "load", Status: 100, Message: "fine"}
	nw := &model.ProbeResult{Name: "load", Status: 300, Message: "load is 12"}
	e := event.Event{Kind: event.ProbeChanged, Time: at, Host: "web-1", Group: "Front", Probe: "load",
		OldStatus: 100, NewStatus: 300, Old: old, New: nw}
	e.ProbesInError = []string{"disk", "load"}
	n, ok := Build(e, "ev-1")
	if !ok {
		t.Fatal("probe change not built")
	}
	if n.Message != "Probe load status changed from 100 to 300 on host web-1" {
		t.Errorf("Message = %q", n.Message)
	}
	wantSummary := "Probe load on host web-1 : \n\n\tOld Status : 100\n\tNew Status : 300\n\nMessage :\n\n\tload is 12\n\n"
	if n.Summary != wantSummary {
		t.Errorf("Summary = %q, want %q", n.Summary, wantSummary)
	}
	if n.Date != model.FormatDate(at) || n.Type != "Probe" || n.OldLevel != "OK" || n.NewLevel != "CRIT" ||
		!slices.Equal(n.HostProbesInError, []string{"disk", "load"}) {
		t.Errorf("notification = %+v", n)
	}
	raw, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	want := []string{"Type", "Hostname", "Group", "Message", "Date", "Summary", "Status", "Probe", "OldProbe", "NewProbe",
		"HostProbesInError", "EventId", "Kind", "OldStatus", "NewStatus", "OldLevel", "NewLevel", "Delivery"}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	})
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("JSON keys = %v, want %v", got, want)
	}

	down, ok := Build(event.Event{Kind: event.HostDown, Time: at, Host: "db", NewStatus: 999, Message: "nothing heard for 60s"}, "ev-2")
	if !ok || down.Type != "Wigo" || down.Message != "Host db is DOWN" || down.NewLevel != "DOWN" || down.HostProbesInError == nil {
		t.Errorf("host down = %+v", down)
	}
	if _, ok := Build(event.Event{Kind: event.ProbeUpdated}, "x"); ok {
		t.Error("probe_updated must not be built")
	}
}

// An acknowledgement reaches the notifiers that heard of the problem: not
// one whose min_level the acknowledged status is under.
func TestAcknowledgementNotifiedWhereTheProblemWas(t *testing.T) {
	f := defaults()
	f.MinLevel = 300
	ack := func(probe string, status int) event.Event {
		return event.Event{Kind: event.Acknowledged, Host: "web-1", Probe: probe, NewStatus: status, OldStatus: status,
			Message: "web-1/disk acknowledged by alice: on it"}
	}
	if !f.Accepts(ack("disk", 300)) || f.Accepts(ack("disk", 200)) {
		t.Error("a probe's acknowledgement: want it sent at min_level, not under")
	}
	if !f.Accepts(ack("", 999)) {
		t.Error("the acknowledgement of a DOWN host is not sent")
	}
	n, ok := Build(ack("disk", 300), "ev-ack")
	if !ok || n.Kind != "acknowledged" || n.Type != TypeProbe || n.Message != "web-1/disk acknowledged by alice: on it" {
		t.Errorf("built %+v, %v", n, ok)
	}
}

// A renotify is for the instances the core named (Decision.To), and among
// them for those whose filter takes the problem at its level.
func TestRenotifyGoesToTheInstancesNamed(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "wigo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	high := allOf("mail")
	high.Filter.MinLevel = 500
	p, err := New(Options{Store: st, Sender: newRecorder(nil), Instances: []Instance{allOf("pager"), allOf("chat"), high}})
	if err != nil {
		t.Fatal(err)
	}
	e := event.Event{Kind: event.Renotify, Host: "web-1", Group: "g", Probe: "disk", OldStatus: 300, NewStatus: 300,
		Message: "Probe disk on host web-1 is CRIT (300) and still unresolved", Decision: event.Decision{To: []string{"pager", "mail"}}}
	entries, err := p.Prepare([]event.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Instance != "pager" {
		t.Fatalf("renotify queued for %+v, want pager only (chat not named, mail above its level)", entries)
	}
	n, ok := Build(e, "ev-1")
	if !ok || n.Kind != "renotify" || n.Message != e.Message {
		t.Errorf("built %+v", n)
	}
}

func TestRenotifyEveryBounds(t *testing.T) {
	for src, want := range map[string]string{
		"renotify_every = 3600\n": "",
		"renotify_every = 0\n":    "",
		"renotify_every = 10\n":   "renotify_every = 10: give seconds between 60 and a year",
	} {
		f, diags := hclsyntax.ParseConfig([]byte(src), "notify.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		r, _, diags := DecodeRouting(f.Body)
		got := ""
		if diags.HasErrors() {
			got = diags.Error()
		}
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%q: %q, want %q", src, got, want)
		}
		if want != "" && r.RenotifyEvery != 0 {
			t.Errorf("%q: a refused interval was kept", src)
		}
	}
}

// An escalation goes to the instance the core named, whatever that
// instance's own filter, and to no other.
func TestEscalationIsAddressed(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "wigo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pager := allOf("pager")
	pager.Filter.MinLevel = 999
	mail := allOf("mail")
	mail.EscalateAfter, mail.EscalateTo = time.Hour, "pager"
	if err := CheckInstances([]Instance{mail, pager}); err != nil {
		t.Fatal(err)
	}
	bad := allOf("x")
	bad.EscalateTo = "nobody"
	if err := CheckInstances([]Instance{bad}); err == nil || !strings.Contains(err.Error(), `escalate_to names "nobody"`) {
		t.Errorf("escalate_to to an unknown block: %v", err)
	}
	p, err := New(Options{Store: st, Sender: newRecorder(nil), Instances: []Instance{mail, pager}})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := p.Prepare([]event.Event{{Kind: event.Escalation, Host: "web-1", Group: "g", Probe: "disk", NewStatus: 300,
		OldStatus: 300, Message: "escalated", Decision: event.Decision{To: []string{"pager"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Instance != "pager" {
		t.Fatalf("escalation queued for %+v, want pager only", entries)
	}
}

// A quiet_hours block is read with its defaults, and each mistake is
// reported at the attribute that is wrong, with its line and column.
func TestQuietHoursBlock(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"quiet_hours {\n  from = \"22:00\"\n  to = \"07:00\"\n}\n", ""},
		{"quiet_hours {\n  from = \"22:00\"\n  to = \"07:00\"\n  time_zone = \"Europe/Paris\"\n  min_level = 300\n}\n", ""},
		{"quiet_hours {\n  from = \"10pm\"\n  to = \"07:00\"\n}\n", `notify.hcl:2,10-16: Invalid quiet hours; from = "10pm", to = "07:00": "10pm" is not a time of day`},
		{"quiet_hours {\n  from = \"22:00\"\n  to = \"7:0\"\n}\n", `notify.hcl:3,8-13: Invalid quiet hours`},
		{"quiet_hours {\n  from = \"22:00\"\n  to = \"22:00\"\n}\n", `notify.hcl:3,8-15: Invalid quiet hours; from = "22:00", to = "22:00": 22:00-22:00 starts and ends at the same time`},
		{"quiet_hours {\n  from = \"22:00\"\n  to = \"07:00\"\n  time_zone = \"Mars/Olympus\"\n}\n", `notify.hcl:4,15-29: Unknown time zone; time_zone = "Mars/Olympus" is not a time zone name`},
		{"quiet_hours {\n  from = \"22:00\"\n  to = \"07:00\"\n  min_level = 1000\n}\n", `notify.hcl:4,15-19: Invalid quiet_hours min_level; min_level = 1000: give a status between 100 and 999`},
		{"quiet_hours {\n  from = \"22:00\"\n}\n", `notify.hcl:1,13-13: Missing required argument; The argument "to" is required`},
		{"quiet_hours {\n  from = \"22:00\"\n  to = \"07:00\"\n  until = \"08:00\"\n}\n", `notify.hcl:4,3-8: Unsupported argument`},
		{"quiet_hours {\n  from = \"22:00\"\n  to = \"07:00\"\n}\nquiet_hours {\n  from = \"12:00\"\n  to = \"13:00\"\n}\n", `notify.hcl:5,1-12: Duplicate quiet_hours block`},
	} {
		f, diags := hclsyntax.ParseConfig([]byte(c.src), "notify.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		r, _, diags := DecodeRouting(f.Body)
		got := ""
		if diags.HasErrors() {
			got = diags.Error()
		}
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%q:\n got %q\nwant %q", c.src, got, c.want)
			continue
		}
		if c.want == "" {
			if r.QuietHours == nil || r.QuietHours.From != "22:00" {
				t.Errorf("%q: quiet hours %+v", c.src, r.QuietHours)
			}
			continue
		}
	}
	f, _ := hclsyntax.ParseConfig([]byte("quiet_hours {\n  from = \"22:00\"\n  to = \"07:00\"\n}\n"), "notify.hcl", hcl.InitialPos)
	r, _, _ := DecodeRouting(f.Body)
	if q := r.QuietHours; q.TimeZone != "UTC" || q.MinLevel != DefaultQuietMinLevel {
		t.Errorf("defaults: %+v, want UTC and min_level %d", q, DefaultQuietMinLevel)
	}
	if _, end, open := r.QuietHours.Window.At(time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)); !open || !end.Equal(time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("23:00 UTC: open %v until %s, want until 07:00", open, end)
	}
}

// A change the core put off for an instance is not queued for it (the
// others get it now), and the delayed event that delivers it later goes
// to that instance alone (and its fallback, held as ever), whatever its
// filter, as kind and delivery "delayed".
func TestDelayedIsAddressed(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "wigo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ops, mail, sms := allOf("ops"), allOf("mail"), allOf("sms")
	sms.FallbackFor = "ops"
	quietSMS := sms
	quietSMS.QuietHours = &QuietHours{}
	if err := CheckInstances([]Instance{ops, quietSMS}); err == nil || !strings.Contains(err.Error(), "keeps the quiet hours") {
		t.Errorf("quiet hours on a fallback: %v", err)
	}
	p, err := New(Options{Store: st, Sender: newRecorder(nil), Instances: []Instance{mail, ops, sms}})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	change := event.Event{Kind: event.ProbeChanged, Host: "web-1", Probe: "disk", OldStatus: 100, NewStatus: 300, Message: "disk",
		Decision: event.Decision{Delayed: []event.Delay{{Instance: "ops", Until: until}}}}
	entries, err := p.Prepare([]event.Event{change})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Instance != "mail" {
		t.Fatalf("put-off change queued for %+v, want mail only (sms follows ops)", entries)
	}
	var n Notification
	if err := json.Unmarshal(entries[0].Payload, &n); err != nil || n.Delivery != DeliveryFirst {
		t.Errorf("the change's delivery: %q (%v), want first", n.Delivery, err)
	}
	delayed := event.Event{Kind: event.Delayed, Host: "web-1", Probe: "disk", OldStatus: 100, NewStatus: 100,
		Message: "2 changes", Delays: []event.Delay{{Instance: "ops", Until: until, Host: "web-1", Probe: "disk", Kind: event.ProbeChanged,
			OldStatus: 100, NewStatus: 300, Message: "disk went CRIT"}, {Instance: "ops", Until: until, Host: "web-1", Probe: "disk",
			Kind: event.ProbeChanged, OldStatus: 300, NewStatus: 100, Message: "disk back to OK"}},
		Decision: event.Decision{To: []string{"ops"}}}
	if entries, err = p.Prepare([]event.Event{delayed}); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Instance != "ops" || entries[1].Instance != "sms" || entries[1].FallbackFor != "ops" {
		t.Fatalf("delayed event queued for %+v, want ops, and sms as its fallback", entries)
	}
	if err := json.Unmarshal(entries[0].Payload, &n); err != nil {
		t.Fatal(err)
	}
	if n.Kind != "delayed" || n.Delivery != DeliveryDelayed || n.Type != TypeProbe ||
		!strings.Contains(n.Summary, "disk went CRIT") || !strings.Contains(n.Summary, "disk back to OK") || !strings.Contains(n.Summary, "Now : 100 (OK)") {
		t.Errorf("delayed notification: %+v", n)
	}
}

// A block with escalations_only is woken second: it hears nothing of its
// own, only the escalations addressed to it; -check refuses one that no
// block escalates to, or that would escalate or renotify itself.
func TestEscalationsOnly(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "wigo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, _ := hclsyntax.ParseConfig([]byte("escalations_only = true\n"), "wigo.hcl", hcl.Pos{Line: 1, Column: 1})
	inst, _, diags := InstanceFromBlock(config.PluginBlock{Kind: "notify", Label: "pager", Body: f.Body,
		Filter: &config.Notifications{MinLevel: 100, OnProbeChange: true, OnHostChange: true}})
	if diags.HasErrors() || !inst.Filter.EscalationsOnly {
		t.Fatalf("escalations_only = true decoded as %+v, %v", inst.Filter, diags)
	}
	pager := inst
	mail := allOf("mail")
	mail.EscalateAfter, mail.EscalateTo = time.Hour, "pager"
	if err := CheckInstances([]Instance{mail, pager}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]Instance{
		{allOf("mail"), pager},
		{mail, func() Instance { p := pager; p.RenotifyEvery = time.Hour; return p }()},
		{mail, func() Instance { p := pager; p.EscalateAfter, p.EscalateTo = time.Hour, "mail"; return p }()},
	} {
		if err := CheckInstances(bad); err == nil || !strings.Contains(err.Error(), `notify "pager": escalations_only`) {
			t.Errorf("CheckInstances(%+v) = %v, want an error about pager's escalations_only", bad, err)
		}
	}
	p, err := New(Options{Store: st, Sender: newRecorder(nil), Instances: []Instance{mail, pager}})
	if err != nil {
		t.Fatal(err)
	}
	problem := event.Event{Kind: event.ProbeChanged, Host: "web-1", Group: "g", Probe: "disk", OldStatus: 100, NewStatus: 500, Message: "full"}
	down := event.Event{Kind: event.HostDown, Host: "web-2", Group: "g", OldStatus: 100, NewStatus: 999, Message: "down"}
	escalated := problem
	escalated.Kind, escalated.OldStatus, escalated.Decision = event.Escalation, 500, event.Decision{To: []string{"pager"}}
	entries, err := p.Prepare([]event.Event{problem, down, escalated})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Instance)
	}
	if !slices.Equal(got, []string{"mail", "mail", "pager"}) {
		t.Errorf("queued for %v, want mail (the problem), mail (the DOWN), pager (the escalation only)", got)
	}
}

// With the dashboard's public address, each notification links to its
// host's page there; without, the payload has no link.
func TestDashboardURL(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "wigo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct{ base, want string }{
		{"https://wigo.example.org/ops/", "https://wigo.example.org/ops/#/host/web%201"},
		{"", ""},
	} {
		p, err := New(Options{Store: st, Sender: newRecorder(nil), Instances: []Instance{allOf("mail")}, DashboardURL: c.base})
		if err != nil {
			t.Fatal(err)
		}
		entries, err := p.Prepare([]event.Event{change("web 1", "disk")})
		if err != nil || len(entries) != 1 {
			t.Fatalf("prepare: %v %v", entries, err)
		}
		var n struct{ DashboardUrl *string }
		if err := json.Unmarshal(entries[0].Payload, &n); err != nil {
			t.Fatal(err)
		}
		switch {
		case c.want == "" && n.DashboardUrl != nil:
			t.Errorf("without public_url: DashboardUrl %q, want none", *n.DashboardUrl)
		case c.want != "" && (n.DashboardUrl == nil || *n.DashboardUrl != c.want):
			t.Errorf("DashboardUrl %v, want %q", n.DashboardUrl, c.want)
		}
	}
}
