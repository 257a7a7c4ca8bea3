package main

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzPrepare: a remote's answer, whatever its bytes, is accepted as a Wigo
// document (valid JSON with a Uuid, trimmed to depth) or refused with an
// error, never a panic; what is accepted is valid JSON.
func FuzzPrepare(f *testing.F) {
	if b, err := os.ReadFile("../../../shared/fixtures/original-api/api.json"); err == nil {
		f.Add(b, 1)
		f.Add(b, 0)
	}
	for _, s := range []string{
		`{"Uuid":"a","RemoteWigos":{"b":{"Uuid":"b","RemoteWigos":{"c":{"Uuid":"c"}}}}}`,
		`{"Uuid":1}`, `{"Uuid":"a","Uuid":"b"}`, `{"RemoteWigos":null,"Uuid":"x"}`, `[`, `{"Uuid":"a"} trailing`,
	} {
		f.Add([]byte(s), 2)
	}
	f.Fuzz(func(t *testing.T, doc []byte, depth int) {
		_, out, err := prepare(doc, depth%8)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("accepted answer is not valid JSON: %.200q", out)
		}
	})
}
