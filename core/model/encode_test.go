package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// marshalLikeEncoder is what json.Encoder writes for v.
func marshalLikeEncoder(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return buf.Bytes()
}

func streamed(t testing.TB, doc *Wigo) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteDocument(&buf, doc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// trickyDoc exercises every branch of the encoder: nils, empties, nesting,
// strings and numbers encoding/json escapes or formats specially.
func trickyDoc() *Wigo {
	weird := "quote\" back\\ <tag> & amp \x00\x01\x1f \b\f\n\r\t del\x7f é 日本 \u2028\u2029 bad\xff\xfe end \xe2\x80"
	return &Wigo{
		Uuid: "u-1", Version: weird, IsAlive: true, GlobalStatus: 999, GlobalMessage: "DOWN",
		LocalHost: &Host{Name: "h<1>", Group: weird, Status: -5, Probes: map[string]*ProbeResult{
			"b": {Name: "b", Value: json.RawMessage(" { \"a\" : [ 1 , 2 ] , \"h\": \"<&>\u2028\" } "),
				Detail: json.RawMessage(`{"pid":null,"restarts":3}`),
				Metrics: []Metric{
					{Tags: map[string]string{"z": "1", "a": weird, weird: "k"}, Value: 0.39},
					{Tags: map[string]string{}, Value: -0.0},
					{Tags: nil, Value: 1e-7},
					{Value: 1e21}, {Value: 123456789.123}, {Value: 5e-324}, {Value: math.MaxFloat64},
					{Value: -1e-6}, {Value: 1e20}, {Value: 3}, {Value: -2.5e-10},
				}, Status: 300, ExitCode: -1, Timestamp: -1795602860, ProbeDate: weird, Message: weird},
			"a":   {Name: "a", Metrics: []Metric{}, Value: json.RawMessage(`"x"`), Detail: json.RawMessage("null")},
			weird: {Name: weird, Detail: json.RawMessage("[1,\n2]")},
			"nil": nil,
		}},
		RemoteWigos: map[string]*Wigo{
			"z": {Uuid: "z", LocalHost: &Host{Name: "z"}, RemoteWigos: map[string]*Wigo{
				"deep": {Uuid: "deep", LastUpdate: math.MaxInt64, RemoteWigos: map[string]*Wigo{}},
			}},
			"a":                        {Uuid: "a", ClaimedBy: "10.0.0.66:4000"},
			"unanswered:10.0.0.9:4000": {Uuid: "unanswered:10.0.0.9:4000", GlobalMessage: "DOWN", NotHeardSince: "2026-12-04T21:00:00Z", NeverAnswered: true},
			"nil":                      nil,
		},
		Hostname: weird, LastUpdate: math.MinInt64, ClaimedBy: weird,
	}
}

// TestDocEncoderMatchesEncodingJSON holds the streaming encoder to
// encoding/json's exact bytes, through both entry points, on a document
// full of edge cases and on a large random one (core/api's
// TestDocumentMatchesRecordings adds the recorded documents).
func TestDocEncoderMatchesEncodingJSON(t *testing.T) {
	docs := map[string]*Wigo{"tricky": trickyDoc(), "random": randomDoc(rand.New(rand.NewPCG(1, 2)), 3), "nil": nil, "empty": {}}
	for name, doc := range docs {
		want, got := marshalLikeEncoder(t, doc), streamed(t, doc)
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: differs from encoding/json at byte %d:\n got …%s\nwant …%s", name, i,
				got[max(0, i-60):min(len(got), i+60)], want[max(0, i-60):min(len(want), i+60)])
		}
		// AppendDocument: json.Marshal's bytes, after what b held.
		marshalled, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendDocument([]byte("prefix:"), doc); string(got) != "prefix:"+string(marshalled) {
			t.Errorf("%s: AppendDocument differs from json.Marshal (%d bytes, want %d)", name, len(got), len(marshalled)+7)
		}
	}
}

// TestDocEncoderKnowsEveryField fails when a model type gains a field: the
// streaming encoder must learn it (the byte comparison above catches it too,
// unless the field is omitempty and left empty).
func TestDocEncoderKnowsEveryField(t *testing.T) {
	for typ, n := range map[reflect.Type]int{
		reflect.TypeFor[Wigo]():        12,
		reflect.TypeFor[Host]():        4,
		reflect.TypeFor[ProbeResult](): 10,
		reflect.TypeFor[Metric]():      2,
	} {
		if typ.NumField() != n {
			t.Errorf("%s has %d fields, docEncoder writes %d: update encode.go", typ, typ.NumField(), n)
		}
	}
}

// TestDocEncoderDeliberateDifferences: values encoding/json would refuse
// (failing the whole answer) become null in an otherwise valid document.
func TestDocEncoderDeliberateDifferences(t *testing.T) {
	doc := &Wigo{LocalHost: &Host{Probes: map[string]*ProbeResult{"p": {
		Value:   json.RawMessage(`{"broken":`),
		Detail:  json.RawMessage(`nope <&>`),
		Metrics: []Metric{{Value: math.NaN()}, {Value: math.Inf(-1)}},
	}}}}
	out := streamed(t, doc)
	var back struct {
		LocalHost struct{ Probes map[string]map[string]any }
	}
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("invalid JSON %s: %v", out, err)
	}
	p := back.LocalHost.Probes["p"]
	if p["Value"] != nil || p["Detail"] != nil {
		t.Errorf("invalid raw values: %v %v, want null", p["Value"], p["Detail"])
	}
	for _, m := range p["Metrics"].([]any) {
		if v := m.(map[string]any)["Value"]; v != nil {
			t.Errorf("non-finite metric = %v, want null", v)
		}
	}
}

// TestDocEncoderStreams: a large document leaves in pieces of about 32 KB,
// never as one buffer.
func TestDocEncoderStreams(t *testing.T) {
	doc := randomDoc(rand.New(rand.NewPCG(3, 4)), 1)
	for i := range 300 {
		doc.RemoteWigos[fmt.Sprintf("r%03d", i)] = randomDoc(rand.New(rand.NewPCG(uint64(i), 5)), 0)
	}
	var w countingWriter
	if err := WriteDocument(&w, doc); err != nil {
		t.Fatal(err)
	}
	if w.writes < 10 || w.largest > 64<<10 {
		t.Errorf("%d bytes in %d writes, largest %d: not streamed", w.total, w.writes, w.largest)
	}
	if !bytes.Equal(w.buf.Bytes(), marshalLikeEncoder(t, doc)) {
		t.Error("streamed document differs from encoding/json")
	}
}

type countingWriter struct {
	buf                    bytes.Buffer
	writes, largest, total int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	c.largest = max(c.largest, len(p))
	c.total += len(p)
	return c.buf.Write(p)
}

// randomDoc builds a document with random names, messages, metrics and
// details, remotes nested depth levels deep.
func randomDoc(r *rand.Rand, depth int) *Wigo {
	str := func() string {
		alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "<", ">", "&", "\n", "\x01", "é", "\u2028", "\xff", "日", "/"}
		var b []byte
		for range r.IntN(12) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		return string(b)
	}
	doc := &Wigo{Uuid: str(), Version: str(), IsAlive: r.IntN(2) == 0, GlobalStatus: r.IntN(1000),
		GlobalMessage: str(), Hostname: str(), LastUpdate: r.Int64(), RemoteWigos: map[string]*Wigo{},
		NotHeardSince: str(),
		LocalHost:     &Host{Name: str(), Group: str(), Status: r.IntN(1000), Probes: map[string]*ProbeResult{}}}
	for range r.IntN(20) {
		p := &ProbeResult{Name: str(), Version: str(), Message: str(), ProbeDate: str(), Timestamp: r.Int64(),
			Status: r.IntN(1000), ExitCode: r.IntN(256)}
		for range r.IntN(4) {
			m := Metric{Value: r.NormFloat64() * math.Pow(10, float64(r.IntN(60)-30)), Tags: map[string]string{}}
			for range r.IntN(3) {
				m.Tags[str()] = str()
			}
			p.Metrics = append(p.Metrics, m)
		}
		if r.IntN(2) == 0 {
			d, _ := json.Marshal(map[string]any{str(): str(), "n": r.Float64(), "l": []any{nil, true, str()}})
			if r.IntN(2) == 0 {
				var ind bytes.Buffer
				_ = json.Indent(&ind, d, "", "  ")
				d = ind.Bytes()
			}
			p.Detail = d
		}
		doc.LocalHost.Probes[p.Name] = p
	}
	if depth > 0 {
		for range 1 + r.IntN(3) {
			doc.RemoteWigos[str()] = randomDoc(r, depth-1)
		}
	}
	return doc
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\", "<>&", "\x00\x1f\x7f", "\b\f\n\r\t", "é日本", "\u2028\u2029",
		"\xff", "\xe2\x80", "a\xc3", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.39, 1e-6, 9.99e-7, 1e21, 9.99e20, 5e-324, math.MaxFloat64, 123456789.123} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		want, _ := json.Marshal(v)
		if got := appendFloat(nil, v); !bytes.Equal(got, want) {
			t.Errorf("appendFloat(%v) = %s, encoding/json %s", v, got, want)
		}
	})
}
