package model

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxDetailDepth caps how deeply a probe's Detail or Value may nest, the
// same for local probes and for results received from other instances.
// Deeper parts are replaced by the string "…". A probe's output is its
// author's choice, and a document 5,000 levels deep breaks recursive code
// downstream (a browser's JSON.stringify, for one); no real Detail needs
// more than a few levels.
const MaxDetailDepth = 32

// Elided replaces what lies deeper than MaxDetailDepth.
const Elided = "…"

// CapDepth returns raw with every array or object nested deeper than
// MaxDetailDepth replaced by "…", and whether it changed anything. Input
// within the cap (all real input) is returned as is after one scan of its
// bytes. Invalid JSON deeper than the cap is replaced by "…" entirely.
func CapDepth(raw json.RawMessage) (json.RawMessage, bool) {
	if depth(raw) <= MaxDetailDepth {
		return raw, false
	}
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out)
	for {
		if k := dec.PeekKind(); (k == '[' || k == '{') && dec.StackDepth() >= MaxDetailDepth {
			if err := dec.SkipValue(); err != nil {
				break
			}
			if err := enc.WriteToken(jsontext.String(Elided)); err != nil {
				break
			}
			continue
		}
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return bytes.TrimSpace(out.Bytes()), true
		}
		if err != nil || enc.WriteToken(tok) != nil {
			break
		}
	}
	elided, _ := json.Marshal(Elided)
	return elided, true
}

// depth is the deepest nesting of arrays and objects in raw, counted on its
// bytes (strings skipped), stopping as soon as it exceeds the cap.
func depth(raw []byte) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if d++; d > deepest {
				if deepest = d; deepest > MaxDetailDepth {
					return deepest
				}
			}
		case ']', '}':
			d--
		}
	}
	return deepest
}
