package model

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// docEncoder writes a *Wigo as JSON, streaming: it appends into a small
// buffer that is written out every flushAt bytes, so serving GET /api costs
// constant memory however many hosts there are. encoding/json, by contrast,
// builds the whole document in memory (8.7 MB at 1,000 hosts × 20 probes,
// 175 MB at 20,000) and spends most of its time reflecting over maps. It is
// the one encoder of the document: GET /api, the websocket snapshot and the
// transports' local state all use it, so they send the same bytes.
//
// Its output is byte-for-byte what encoding/json produces for the same value
// (field order, sorted map keys, HTML-safe string escaping, float format,
// compacted raw values); TestDocEncoderMatchesEncodingJSON,
// FuzzAppendString and FuzzAppendFloat hold it to that, and
// TestDocEncoderKnowsEveryField fails when a field is added to a type here
// without being added to the encoder. Two deliberate differences, where
// encoding/json would fail the whole answer: an invalid Value or Detail is
// written as null, and a NaN or infinite metric as null.
type docEncoder struct {
	out     io.Writer
	buf     []byte
	err     error
	raw     bytes.Buffer // scratch for compacting raw values
	probes  []string     // scratch for probe names; reused per host
	tags    []string     // scratch for tag names; reused per metric
	flushAt int
}

var docEncoderPool = sync.Pool{New: func() any {
	return &docEncoder{buf: make([]byte, 0, 64<<10), flushAt: 32 << 10}
}}

// WriteDocument writes doc and a trailing newline (as json.Encoder does)
// to w, in pieces of about 32 KB.
func WriteDocument(w io.Writer, doc *Wigo) error {
	e := docEncoderPool.Get().(*docEncoder)
	e.out, e.err, e.buf = w, nil, e.buf[:0]
	e.wigo(doc)
	e.buf = append(e.buf, '\n')
	e.flush()
	err := e.err
	e.out = nil
	docEncoderPool.Put(e)
	return err
}

// AppendDocument appends doc to b as json.Marshal would write it (no
// trailing newline), for a caller that frames the document in a message
// of its own. It cannot fail.
func AppendDocument(b []byte, doc *Wigo) []byte {
	e := docEncoderPool.Get().(*docEncoder)
	own := e.buf
	// Without a writer nothing is flushed: the document grows in b.
	e.out, e.err, e.buf = nil, nil, b
	e.wigo(doc)
	b = e.buf
	e.buf = own[:0]
	docEncoderPool.Put(e)
	return b
}

func (e *docEncoder) flush() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.out.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

func (e *docEncoder) maybeFlush() {
	if e.out != nil && len(e.buf) >= e.flushAt {
		e.flush()
	}
}

func (e *docEncoder) wigo(w *Wigo) {
	if w == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	b := append(e.buf, `{"Uuid":`...)
	b = appendString(b, w.Uuid)
	b = append(b, `,"Version":`...)
	b = appendString(b, w.Version)
	b = append(b, `,"IsAlive":`...)
	b = strconv.AppendBool(b, w.IsAlive)
	b = append(b, `,"GlobalStatus":`...)
	b = strconv.AppendInt(b, int64(w.GlobalStatus), 10)
	b = append(b, `,"GlobalMessage":`...)
	b = appendString(b, w.GlobalMessage)
	b = append(b, `,"LocalHost":`...)
	e.buf = b
	e.host(w.LocalHost)
	e.buf = append(e.buf, `,"RemoteWigos":`...)
	if w.RemoteWigos == nil {
		e.buf = append(e.buf, "null"...)
	} else {
		// Not a reused scratch: this level recurses.
		ids := sortedMapKeys(w.RemoteWigos, nil)
		e.buf = append(e.buf, '{')
		for i, id := range ids {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = appendString(e.buf, id)
			e.buf = append(e.buf, ':')
			e.wigo(w.RemoteWigos[id])
		}
		e.buf = append(e.buf, '}')
	}
	b = append(e.buf, `,"Hostname":`...)
	b = appendString(b, w.Hostname)
	b = append(b, `,"LastUpdate":`...)
	b = strconv.AppendInt(b, w.LastUpdate, 10)
	if w.ClaimedBy != "" {
		b = append(b, `,"ClaimedBy":`...)
		b = appendString(b, w.ClaimedBy)
	}
	if w.NotHeardSince != "" {
		b = append(b, `,"NotHeardSince":`...)
		b = appendString(b, w.NotHeardSince)
	}
	if w.NeverAnswered {
		b = append(b, `,"NeverAnswered":true`...)
	}
	e.buf = append(b, '}')
	e.maybeFlush()
}

func (e *docEncoder) host(h *Host) {
	if h == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	b := append(e.buf, `{"Name":`...)
	b = appendString(b, h.Name)
	b = append(b, `,"Group":`...)
	b = appendString(b, h.Group)
	b = append(b, `,"Status":`...)
	b = strconv.AppendInt(b, int64(h.Status), 10)
	b = append(b, `,"Probes":`...)
	if h.Probes == nil {
		e.buf = append(b, "null}"...)
		return
	}
	e.buf = append(b, '{')
	e.probes = sortedMapKeys(h.Probes, e.probes)
	for i, name := range e.probes {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, name)
		e.buf = append(e.buf, ':')
		e.probe(h.Probes[name])
		e.maybeFlush()
	}
	e.buf = append(e.buf, "}}"...)
}

func (e *docEncoder) probe(p *ProbeResult) {
	if p == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	b := append(e.buf, `{"Name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"Version":`...)
	b = appendString(b, p.Version)
	b = append(b, `,"Value":`...)
	b = e.appendRaw(b, p.Value)
	b = append(b, `,"Message":`...)
	b = appendString(b, p.Message)
	b = append(b, `,"ProbeDate":`...)
	b = appendString(b, p.ProbeDate)
	b = append(b, `,"Timestamp":`...)
	b = strconv.AppendInt(b, p.Timestamp, 10)
	b = append(b, `,"Metrics":`...)
	if p.Metrics == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range p.Metrics {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Tags":`...)
			if m.Tags == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '{')
				e.tags = sortedMapKeys(m.Tags, e.tags)
				for j, k := range e.tags {
					if j > 0 {
						b = append(b, ',')
					}
					b = appendString(b, k)
					b = append(b, ':')
					b = appendString(b, m.Tags[k])
				}
				b = append(b, '}')
			}
			b = append(b, `,"Value":`...)
			b = appendFloat(b, m.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Detail":`...)
	b = e.appendRaw(b, p.Detail)
	b = append(b, `,"Status":`...)
	b = strconv.AppendInt(b, int64(p.Status), 10)
	b = append(b, `,"ExitCode":`...)
	b = strconv.AppendInt(b, int64(p.ExitCode), 10)
	e.buf = append(b, '}')
}

// appendRaw appends a raw JSON value as encoding/json does (compacted, with
// <, > and & escaped in strings); nil, empty or invalid as null.
func (e *docEncoder) appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	if !needsRewrite(raw) {
		if json.Valid(raw) {
			return append(b, raw...)
		}
		return append(b, "null"...)
	}
	e.raw.Reset()
	if err := json.Compact(&e.raw, raw); err != nil {
		return append(b, "null"...)
	}
	out := bytes.NewBuffer(b)
	json.HTMLEscape(out, e.raw.Bytes())
	return out.Bytes()
}

// needsRewrite reports whether a raw value may hold whitespace to compact or
// characters encoding/json escapes (<, >, &, U+2028, U+2029, which start
// with 0xE2). Probe details usually hold none, and then are copied as they
// are.
func needsRewrite(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r', '<', '>', '&', 0xE2:
			return true
		}
	}
	return false
}

// sortedMapKeys returns m's keys sorted, in scratch's storage.
func sortedMapKeys[V any](m map[string]V, scratch []string) []string {
	keys := scratch[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendFloat formats a float64 as encoding/json does: shortest
// representation, exponent form only below 1e-6 or from 1e21, with e-07
// written e-7. NaN and infinities, which JSON cannot carry, become null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// htmlSafe marks the ASCII bytes a JSON string holds as they are, with HTML
// escaping on: a table, because this test runs for every byte of GET /api.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string exactly as encoding/json writes
// it with HTML escaping on (its default): ", \ and control characters
// escaped (\b \f \n \r \t by name), <, > and & as \u003c \u003e \u0026,
// U+2028 and U+2029 escaped, invalid UTF-8 replaced by \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
