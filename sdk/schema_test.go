package sdk

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestSchemaRoundTrip(t *testing.T) {
	for name, tc := range map[string]struct {
		in   Schema
		want Schema
	}{
		"empty": {},
		"attributes": {
			in: Schema{Attributes: []Attribute{
				{Name: "url", Type: TypeString, Required: true, Description: "d"},
				{Name: "n", Type: TypeNumber, Default: 3},
				{Name: "h", Type: TypeMapString, Default: map[string]string{"a": "b"}},
			}},
			want: Schema{Attributes: []Attribute{
				{Name: "url", Type: TypeString, Required: true, Description: "d"},
				{Name: "n", Type: TypeNumber, Default: json.RawMessage(`3`)},
				{Name: "h", Type: TypeMapString, Default: json.RawMessage(`{"a":"b"}`)},
			}},
		},
		"nested": {
			in: Schema{Blocks: []Block{{TypeName: "target", Label: "name", Body: Schema{
				Attributes: []Attribute{{Name: "urls", Type: TypeListString}}}}}},
			want: Schema{Blocks: []Block{{TypeName: "target", Label: "name", Body: Schema{
				Attributes: []Attribute{{Name: "urls", Type: TypeListString}}}}}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := schemaToProto(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := schemaFromProto(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestSchemaRefusesUnencodableDefault(t *testing.T) {
	if _, err := schemaToProto(Schema{Attributes: []Attribute{{Name: "x", Type: TypeString, Default: func() {}}}}); err == nil {
		t.Fatal("want an error")
	}
}

func TestLevelName(t *testing.T) {
	for status, want := range map[int]string{100: "OK", 101: "INFO", 199: "INFO", 200: "WARN", 299: "WARN",
		300: "CRIT", 499: "CRIT", 500: "ERROR", 998: "ERROR", 999: "DOWN"} {
		if got := LevelName(status); got != want {
			t.Errorf("LevelName(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestConfigDecodeRefusesUnknownKeys(t *testing.T) {
	var v struct {
		URL string `json:"url"`
	}
	if err := NewConfig("x", []byte(`{"url":"u","other":1}`)).Decode(&v); err == nil {
		t.Fatal("want an error for a key the struct lacks")
	}
	if err := NewConfig("x", []byte(`{"url":"u"}`)).Decode(&v); err != nil || v.URL != "u" {
		t.Fatalf("Decode = %v, %+v", err, v)
	}
}
