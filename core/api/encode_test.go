package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// TestDocumentMatchesRecordings: the document GET /api streams
// (model.WriteDocument) is encoding/json's, on the fixture state, after a
// remote goes DOWN and on a recorded document; and the fixture document is
// what the original's encoding/json made of it, byte for byte.
func TestDocumentMatchesRecordings(t *testing.T) {
	st, clk := newFixtureState(t)
	docs := map[string]*model.Wigo{"fixture": st.Document()}
	clk.Advance(time.Hour)
	st.CheckAlive()
	docs["down"] = st.Document()
	var fromFile model.Wigo
	if err := json.Unmarshal(fixtureBytes(t, "api_with_down_remote.json"), &fromFile); err != nil {
		t.Fatal(err)
	}
	docs["api_with_down_remote.json"] = &fromFile
	streamed := func(doc *model.Wigo) []byte {
		var buf bytes.Buffer
		if err := model.WriteDocument(&buf, doc); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for name, doc := range docs {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(doc); err != nil {
			t.Fatal(err)
		}
		if got := streamed(doc); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: streamed document differs from encoding/json:\n got %s\nwant %s", name, got, want.Bytes())
		}
	}
	// Same bytes as the recording once our LastUpdate is the original's 0.
	doc := docs["fixture"]
	doc.LastUpdate = 0
	if got, want := bytes.TrimSpace(streamed(doc)), bytes.TrimSpace(fixtureBytes(t, "api.json")); !bytes.Equal(got, want) {
		t.Errorf("fixture document:\n got %s\nwant %s", got, want)
	}
}
