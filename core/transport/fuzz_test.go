package transport

import (
	"os"
	"testing"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/state"
)

// FuzzDecodeAndIngest: a pulled or pushed document, whatever its bytes, is
// decoded and ingested or refused with an error; neither step panics (the
// Host's recover would hide a panic as an error, so the steps are called
// directly), and what was ingested renders as a document again.
func FuzzDecodeAndIngest(f *testing.F) {
	for _, p := range []string{"../../../shared/fixtures/original-api/api.json", "../../../shared/fixtures/original-api/api_with_down_remote.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"Uuid":"a","LocalHost":{"Name":"h","Probes":{"p":{"Status":100}}},"RemoteWigos":{"b":{"Uuid":"b","Hostname":"x","IsAlive":true}}}`,
		`{"Uuid":"self","RemoteWigos":{"self":{"Uuid":"self"}}}`,
		`{"Uuid":"","Hostname":"\u0000"}`, `{"Uuid":"a","LocalHost":{"Probes":{"":{"Status":5000,"Detail":[[[[[]]]]]}}}}`,
		`null`, `{"RemoteWigos":{"x":null}}`, "\x1f\x8b", `{"Uuid":"a","LastUpdate":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st := state.New(state.Options{UUID: "self", Bus: event.NewBus()})
		doc, err := Decode(b, DefaultMaxDocument)
		if err != nil {
			return
		}
		_ = st.Ingest("fuzz", doc)
		if st.Document() == nil {
			t.Fatal("no document after ingest")
		}
		_, _ = st.HostDocument("h")
		_ = st.Groups()
	})
}
