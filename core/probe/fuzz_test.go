package probe

import (
	"encoding/json"
	"testing"

	"github.com/wigo-project/wigo/core/model"
)

// FuzzParseOutput: whatever a probe prints, parsing answers a result or an
// error, never a panic; an accepted result carries a Status, and its
// Detail and Value are valid JSON within the core's depth cap.
func FuzzParseOutput(f *testing.F) {
	for _, s := range []string{
		`{"Version":"1.0","Status":200,"Message":"disk / 91% used","Detail":{"/":{"used_pct":91}},"Metrics":[{"Tags":{"mount":"/"},"Value":91}]}`,
		`{"status":"100","message":"ok","value":"0.52"}`,
		`{"Status":300,"Detail":"[[[[{\"a\":1}]]]]","Value":[1,2,{"x":null}]}`,
		`{"Status":1e400}`, `{"Status":-1}`, `{"Status":100,"Metrics":[{"Value":"NaN"}]}`,
		`[]`, `{"Status":100}{"Status":200}`, "\xff\xfe", ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		r, err := parseOutput(out)
		if err != nil {
			if r != nil {
				t.Fatal("a result and an error")
			}
			return
		}
		for what, raw := range map[string]json.RawMessage{"Detail": r.Detail, "Value": r.Value} {
			if raw == nil {
				continue
			}
			if !json.Valid(raw) {
				t.Fatalf("%s is not valid JSON: %q", what, raw)
			}
			if capped, changed := model.CapDepth(raw); changed {
				t.Fatalf("%s deeper than the cap was kept: %.200q → %.200q", what, raw, capped)
			}
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("the accepted result does not encode: %v", err)
		}
	})
}
