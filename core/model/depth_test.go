package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCapDepth(t *testing.T) {
	const deep = 5000
	raw := json.RawMessage(`{"disks":[{"a":"[{","b":` + strings.Repeat("[", deep) + strings.Repeat("]", deep) + `}]}`)
	capped, changed := CapDepth(raw)
	if !changed || !json.Valid(capped) {
		t.Fatalf("changed %v, valid %v: %.200s", changed, json.Valid(capped), capped)
	}
	if d := depth(capped); d != MaxDetailDepth {
		t.Errorf("depth after the cap = %d, want %d", d, MaxDetailDepth)
	}
	if !strings.Contains(string(capped), `"a":"[{"`) || !strings.Contains(string(capped), `"…"`) {
		t.Errorf("the shallow part or the marker is missing: %.300s", capped)
	}

	// Within the cap: the very same bytes, nothing re-encoded.
	ok := json.RawMessage(`{"mounts": [{"fs": "ext4", "pct": 41}], "note": "[[[["}`)
	if got, changed := CapDepth(ok); changed || string(got) != string(ok) {
		t.Errorf("a shallow Detail was changed: %s", got)
	}
	// Broken and deep: replaced whole rather than passed on.
	if got, changed := CapDepth(json.RawMessage(strings.Repeat("[", 100) + "x")); !changed || string(got) != `"…"` {
		t.Errorf("broken deep input: %s %v", got, changed)
	}
}
