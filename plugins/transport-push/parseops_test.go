package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

// opsCases are deltas a client writes and deltas only an attacker would;
// parseOps must read each exactly as encoding/json does.
var opsCases = []string{
	`[]`,
	` [ ] `,
	`[{"p":["LocalHost","Probes","cpu"],"v":{"Name":"cpu","Status":300,"Metrics":[{"Tags":{"a":"b"},"Value":1.5}]}}]`,
	`[{"p":["LocalHost","Probes","gone"],"d":true},{"p":["GlobalStatus"],"v":300}]`,
	`[ {"p" : [ "a" , "b" ] , "v" : "x,y}" , "d" : false } ]`,
	`[{"p":["a"],"v":null}]`,
	`[{"v":1,"p":["a"],"v":2}]`,
	`[{"P":["a"],"V":1}]`,
	`[{"p":["caf\u00e9"],"v":1}]`,
	"[{\"p\":[\"caf\xc3\xa9\"],\"v\":1}]",
	"[{\"p\":[\"bad\xff\"],\"v\":1}]",
	`[{"p":null,"v":1}]`,
	`[{"p":["a"],"d":null}]`,
	`[{"p":["a",1],"v":1}]`,
	`[null]`,
	`null`,
	`{"p":["a"]}`,
	`[{"p":["a"],"v":1}] x`,
	`[{"p":["a"],"v":1}`,
	`[{"p":["a"],"v":}]`,
	`[{"p":["a"],"extra":{"deep":[1,2,{"x":"}"}]},"v":true}]`,
	``,
}

func sameAsEncodingJSON(t *testing.T, in []byte) {
	var want []op
	wantErr := json.Unmarshal(in, &want)
	got, gotErr := parseOps(in)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: error %v, encoding/json %v", in, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", in, got, want)
	}
}

func TestParseOpsMatchesEncodingJSON(t *testing.T) {
	for _, c := range opsCases {
		sameAsEncodingJSON(t, []byte(c))
	}
	// The fast path is taken for what clients send.
	if _, ok := scanOps([]byte(opsCases[2])); !ok {
		t.Fatal("a client's delta went to the slow path")
	}
}

func FuzzParseOps(f *testing.F) {
	for _, c := range opsCases {
		f.Add([]byte(c))
	}
	f.Fuzz(sameAsEncodingJSON)
}

// clientDelta is what a 20-probe client sends each interval.
func clientDelta() []byte {
	ops := make([]op, 20)
	for i := range ops {
		name := "probe" + string(rune('a'+i))
		v, _ := json.Marshal(map[string]any{"Name": name, "Version": "0.1", "Status": 100, "Message": name + " says 100",
			"Timestamp": 1795602860, "ProbeDate": "2026-11-25T13:00:00Z", "Value": 1,
			"Metrics": []any{map[string]any{"Tags": map[string]string{"k": "v"}, "Value": 0.25}}})
		ops[i] = op{Path: []string{"LocalHost", "Probes", name}, Value: v}
	}
	b, _ := json.Marshal(ops)
	return b
}

// BenchmarkParseOps compares the delta decode with encoding/json's.
func BenchmarkParseOps(b *testing.B) {
	in := clientDelta()
	b.Run("parseOps", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := parseOps(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			var ops []op
			if err := json.Unmarshal(in, &ops); err != nil {
				b.Fatal(err)
			}
		}
	})
}
