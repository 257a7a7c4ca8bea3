package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/wigo-project/wigo/sdk"
)

// protocolVersion is the push protocol version this plugin speaks, in Hello
// and Welcome. A server refuses a client speaking another one, with a
// message naming both, so an operator upgrading one side knows why.
const protocolVersion = 2

// Limits on what a client may send. Everything from the network is
// untrusted; these are checked before anything reaches the core (which
// checks again).
const (
	// defaultMaxMessageBytes bounds one ClientMessage (a bigger frame is
	// refused on its length, before it is read). A host with 20 probes is
	// a few KB; a mid master pushing a few thousand hosts fits.
	defaultMaxMessageBytes = 16 << 20
	maxNameLen             = 255
	// maxTreeDepth is how deep documents are split for deltas: top level,
	// LocalHost / RemoteWigos, Probes / a remote host, a probe.
	maxTreeDepth = 3
	// maxDeltaOps bounds the operations of one delta.
	maxDeltaOps = 200000
)

var uuidRe = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// checkName validates a hostname or probe name the way the core does (no
// slash, no control character, at most 255 bytes), so a refusal happens at
// the door with the client named in the log.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("longer than %d bytes", maxNameLen)
	}
	if strings.ContainsAny(name, "/\\") {
		return fmt.Errorf("%q contains a slash", trunc(name))
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%q contains a control character", trunc(name))
		}
	}
	return nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// tree is a JSON object split into nested maps down to maxTreeDepth; below
// that (and for non-objects) values stay json.RawMessage. Deltas name
// entries by their path in it. Raw values are never modified in place, so
// trees may share them.
type tree map[string]any

// parseTree splits a JSON object.
func parseTree(b []byte) (tree, error) {
	if !json.Valid(b) {
		return nil, errors.New("invalid JSON")
	}
	v, err := split(b, 0)
	if err != nil {
		return nil, err
	}
	t, ok := v.(tree)
	if !ok {
		return nil, errors.New("document is not a JSON object")
	}
	return t, nil
}

// split splits b, which must be valid JSON (checked once by the caller:
// parseTree, or json.Unmarshal of a delta), down to maxTreeDepth.
func split(b json.RawMessage, depth int) (any, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, errors.New("empty value")
	}
	if depth >= maxTreeDepth || b[0] != '{' {
		return b, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	t := make(tree, len(m))
	for k, raw := range m {
		v, err := split(raw, depth+1)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", trunc(k), err)
		}
		t[k] = v
	}
	return t, nil
}

// op is one change of a delta: set Path to Value, or delete Path.
type op struct {
	Path  []string        `json:"p"`
	Value json.RawMessage `json:"v,omitempty"`
	Del   bool            `json:"d,omitempty"`
}

// diff returns the operations turning old into cur. Entries are compared
// by their JSON bytes: both sides come from the same encoder, so equal
// values encode equally, and a spurious difference costs one resent entry.
func diff(old, cur tree) []op {
	var ops []op
	diffInto(&ops, nil, old, cur)
	return ops
}

func diffInto(ops *[]op, path []string, old, cur tree) {
	for k, nv := range cur {
		p := append(path[:len(path):len(path)], k)
		ov, ok := old[k]
		if nt, isTree := nv.(tree); isTree {
			if ot, oldTree := ov.(tree); ok && oldTree {
				diffInto(ops, p, ot, nt)
				continue
			}
		}
		if ok {
			if or, isRaw := ov.(json.RawMessage); isRaw {
				if nr, isRaw := nv.(json.RawMessage); isRaw && bytes.Equal(or, nr) {
					continue
				}
			}
		}
		*ops = append(*ops, op{Path: p, Value: encodeValue(nv)})
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			*ops = append(*ops, op{Path: append(path[:len(path):len(path)], k), Del: true})
		}
	}
}

// apply applies ops to t in place. Ops from the network are checked: path
// length, key length, valid JSON values.
func apply(t tree, ops []op) error {
	if len(ops) > maxDeltaOps {
		return fmt.Errorf("delta of %d operations, more than %d", len(ops), maxDeltaOps)
	}
	for i, o := range ops {
		if len(o.Path) == 0 || len(o.Path) > maxTreeDepth {
			return fmt.Errorf("operation %d: path of %d elements, want 1 to %d", i, len(o.Path), maxTreeDepth)
		}
		for _, k := range o.Path {
			if len(k) > maxNameLen {
				return fmt.Errorf("operation %d: key longer than %d bytes", i, maxNameLen)
			}
		}
		node := t
		for d, k := range o.Path[:len(o.Path)-1] {
			child, ok := node[k].(tree)
			if !ok {
				if o.Del {
					node = nil
					break
				}
				// Replace a leaf or a missing entry by an object: the
				// set below then creates it.
				child = tree{}
				if raw, isRaw := node[k].(json.RawMessage); isRaw {
					if v, err := split(raw, d+1); err == nil {
						if ct, isTree := v.(tree); isTree {
							child = ct
						}
					}
				}
				node[k] = child
			}
			node = child
		}
		last := o.Path[len(o.Path)-1]
		if o.Del {
			if node != nil {
				delete(node, last)
			}
			continue
		}
		v, err := split(o.Value, len(o.Path))
		if err != nil {
			return fmt.Errorf("operation %d (%s): %w", i, trunc(strings.Join(o.Path, ".")), err)
		}
		node[last] = v
	}
	return nil
}

// document is the update carrying t whole, from the client uuid.
func document(uuid string, t tree) sdk.Update {
	b, _ := t.encode()
	return sdk.Update{Source: uuid, Document: b}
}

// derived are the document entries the core computes itself from the
// probes and ignores in what it receives: a delta touching only these and
// probe results can go to the core as a probe patch.
var derived = map[string]bool{"GlobalStatus": true, "GlobalMessage": true, "LastUpdate": true}

// probePatch returns ops as a probe patch of the client uuid's host, false
// when they change more than probe results (a name, a group, the hosts the
// client carries): the core needs the whole document then.
func probePatch(uuid string, ops []op) (sdk.Update, bool) {
	u := sdk.Update{Source: uuid, HostUUID: uuid}
	for _, o := range ops {
		switch {
		case len(o.Path) == 1 && derived[o.Path[0]]:
		case len(o.Path) == 2 && o.Path[0] == "LocalHost" && o.Path[1] == "Status":
		case len(o.Path) == 3 && o.Path[0] == "LocalHost" && o.Path[1] == "Probes":
			if o.Del {
				u.Removed = append(u.Removed, o.Path[2])
			} else {
				u.Probes = append(u.Probes, sdk.ProbeJSON{Name: o.Path[2], JSON: o.Value})
			}
		default:
			return sdk.Update{}, false
		}
	}
	return u, true
}

// clone copies the maps of t (raw values are shared: they are immutable).
func (t tree) clone() tree {
	c := make(tree, len(t))
	for k, v := range t {
		if sub, ok := v.(tree); ok {
			v = sub.clone()
		}
		c[k] = v
	}
	return c
}

// encode returns t as one JSON object. Raw values are copied as they are:
// they were validated when received, and re-validating every probe of
// every update through encoding/json was most of the server's CPU.
func (t tree) encode() ([]byte, error) {
	return t.appendTo(make([]byte, 0, 4096)), nil
}

func (t tree) appendTo(b []byte) []byte {
	b = append(b, '{')
	first := true
	for k, v := range t {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		switch v := v.(type) {
		case tree:
			b = v.appendTo(b)
		case json.RawMessage:
			b = append(b, v...)
		}
	}
	return append(b, '}')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s) // rare: escapes and non-ASCII
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// identity is what the push protocol needs from a GET /api document.
type identity struct {
	UUID      string `json:"Uuid"`
	Hostname  string `json:"Hostname"`
	LocalHost *struct {
		Name string `json:"Name"`
	} `json:"LocalHost"`
}

func (id identity) name() string {
	if id.LocalHost != nil && id.LocalHost.Name != "" {
		return id.LocalHost.Name
	}
	return id.Hostname
}

// Validation of what a client pushes: its document must be its own (a
// client cannot report as another UUID), its host and probe names sane and
// its statuses in range. A snapshot is checked whole; a delta only where it
// writes, so an update costs in proportion to what changed. The core
// validates the nested remote hosts in depth.

// validateTree checks a snapshot.
func validateTree(uuid string, t tree) error {
	if _, ok := t["Uuid"]; !ok {
		return errors.New("document has no Uuid")
	}
	if _, ok := t["LocalHost"]; !ok {
		return errors.New("document has no LocalHost")
	}
	for k, v := range t {
		if err := checkOp(uuid, []string{k}, encodeValue(v), false); err != nil {
			return err
		}
	}
	return nil
}

// validateOps checks a delta before it is applied.
func validateOps(uuid string, ops []op) error {
	if len(ops) > maxDeltaOps {
		return fmt.Errorf("delta of %d operations, more than %d", len(ops), maxDeltaOps)
	}
	for i, o := range ops {
		if len(o.Path) == 0 || len(o.Path) > maxTreeDepth {
			return fmt.Errorf("operation %d: path of %d elements, want 1 to %d", i, len(o.Path), maxTreeDepth)
		}
		if !o.Del && len(o.Value) == 0 {
			return fmt.Errorf("operation %d (%s): no value", i, trunc(strings.Join(o.Path, ".")))
		}
		if err := checkOp(uuid, o.Path, o.Value, o.Del); err != nil {
			return fmt.Errorf("operation %d (%s): %w", i, trunc(strings.Join(o.Path, ".")), err)
		}
	}
	return nil
}

func encodeValue(v any) json.RawMessage {
	switch v := v.(type) {
	case json.RawMessage:
		return v
	case tree:
		return v.appendTo(nil)
	}
	return json.RawMessage("null")
}

// checkOp checks one write (or deletion, del) of value at path.
func checkOp(uuid string, path []string, value json.RawMessage, del bool) error {
	switch path[0] {
	case "Uuid":
		if del || len(path) > 1 {
			return errors.New("Uuid can only be replaced")
		}
		var got string
		if err := json.Unmarshal(value, &got); err != nil {
			return fmt.Errorf("Uuid: %w", err)
		}
		if got != uuid {
			return fmt.Errorf("document is for UUID %q, session is %q", trunc(got), uuid)
		}
	case "LocalHost":
		if len(path) == 1 {
			if del {
				return errors.New("LocalHost cannot be removed")
			}
			var h struct {
				Name   *string                    `json:"Name"`
				Probes map[string]json.RawMessage `json:"Probes"`
			}
			if err := json.Unmarshal(value, &h); err != nil {
				return fmt.Errorf("LocalHost: %w", err)
			}
			if h.Name == nil {
				return errors.New("LocalHost has no Name")
			}
			if err := checkName(*h.Name); err != nil {
				return fmt.Errorf("LocalHost.Name: %w", err)
			}
			return checkProbes(h.Probes)
		}
		switch path[1] {
		case "Name":
			if del || len(path) > 2 {
				return errors.New("LocalHost.Name can only be replaced")
			}
			var name string
			if err := json.Unmarshal(value, &name); err != nil {
				return fmt.Errorf("LocalHost.Name: %w", err)
			}
			if err := checkName(name); err != nil {
				return fmt.Errorf("LocalHost.Name: %w", err)
			}
		case "Probes":
			if len(path) == 2 {
				if del {
					return nil
				}
				var probes map[string]json.RawMessage
				if err := json.Unmarshal(value, &probes); err != nil {
					return fmt.Errorf("probes: %w", err)
				}
				return checkProbes(probes)
			}
			if err := checkName(path[2]); err != nil {
				return fmt.Errorf("probe name: %w", err)
			}
			if !del {
				return checkProbe(path[2], value)
			}
		}
	case "RemoteWigos":
		if len(path) == 1 {
			if del {
				return nil
			}
			var remotes map[string]json.RawMessage
			if err := json.Unmarshal(value, &remotes); err != nil {
				return fmt.Errorf("RemoteWigos: %w", err)
			}
			for id := range remotes {
				if !uuidRe.MatchString(id) {
					return fmt.Errorf("RemoteWigos: invalid UUID %q", trunc(id))
				}
			}
			return nil
		}
		if !uuidRe.MatchString(path[1]) {
			return fmt.Errorf("RemoteWigos: invalid UUID %q", trunc(path[1]))
		}
	}
	return nil
}

func checkProbes(probes map[string]json.RawMessage) error {
	for name, raw := range probes {
		if err := checkName(name); err != nil {
			return fmt.Errorf("probe name: %w", err)
		}
		if err := checkProbe(name, raw); err != nil {
			return err
		}
	}
	return nil
}

// checkProbe checks a probe result's status. raw is valid JSON (decoded
// before); the Status field is found by a scan of the object's top level,
// which costs a fraction of a decode, with a full decode whenever the
// object is unusual (escaped keys, a non-integer Status).
func checkProbe(name string, raw json.RawMessage) error {
	if v, ok := topLevelField(raw, "Status"); ok {
		if st, err := strconv.Atoi(string(v)); err == nil {
			if st < 0 || st > 999 {
				return fmt.Errorf("probe %q: status %d out of range 0-999", trunc(name), st)
			}
			return nil
		}
	}
	var p struct {
		Status *int `json:"Status"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("probe %q: %w", trunc(name), err)
	}
	if p.Status == nil {
		return fmt.Errorf("probe %q: no Status", trunc(name))
	}
	if *p.Status < 0 || *p.Status > 999 {
		return fmt.Errorf("probe %q: status %d out of range 0-999", trunc(name), *p.Status)
	}
	return nil
}

// topLevelField returns the raw value of key in the JSON object raw (the
// last one when repeated, as encoding/json). ok is false when raw is not an
// object, has no such key, or has a key with an escape (which could spell
// key differently): the caller then decodes it the slow, exact way.
func topLevelField(raw []byte, key string) (value []byte, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return nil, false
		}
		if raw[i] == '}' {
			return value, ok
		}
		if raw[i] == ',' {
			i++
			continue
		}
		if raw[i] != '"' {
			return nil, false
		}
		end := i + 1
		for end < len(raw) && raw[end] != '"' {
			if raw[end] == '\\' {
				return nil, false
			}
			end++
		}
		if end >= len(raw) {
			return nil, false
		}
		k := raw[i+1 : end]
		i = skipSpace(raw, end+1)
		if i >= len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
		j, good := skipValue(raw, i)
		if !good {
			return nil, false
		}
		if string(k) == key {
			value, ok = raw[i:j], true
		}
		i = j
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at i.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(b) {
				return i, false
			}
			i++
		case '{', '[':
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return i, true
			}
			depth--
			i++
		case ',':
			if depth == 0 {
				return i, true
			}
			i++
		default:
			if depth == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
				return i, true
			}
			i++
		}
		if depth == 0 && i > 0 && (b[i-1] == '"' || b[i-1] == '}' || b[i-1] == ']') {
			return i, true
		}
	}
	return i, depth == 0
}

// parseOps decodes a delta (a JSON array of op objects). It reads the
// shape the client writes with a scan over JSON checked valid first, which
// cost a third of encoding/json's decode into []op on a busy server; any
// other shape (escaped keys, unexpected types) goes to encoding/json, so
// the result is always what json.Unmarshal gives.
func parseOps(b []byte) ([]op, error) {
	if !json.Valid(b) {
		var ops []op
		return nil, json.Unmarshal(b, &ops) // its error says where
	}
	if ops, ok := scanOps(b); ok {
		return ops, nil
	}
	var ops []op
	err := json.Unmarshal(b, &ops)
	return ops, err
}

// scanOps reads valid JSON b as []op; ok is false for anything but the
// plain shape: an array of objects with keys p (array of strings without
// escapes), v (any value) and d (a boolean).
func scanOps(b []byte) (ops []op, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return []op{}, true
	}
	for i < len(b) {
		if b[i] != '{' {
			return nil, false
		}
		var o op
		i = skipSpace(b, i+1)
		for i < len(b) && b[i] != '}' {
			key, next, good := plainString(b, i)
			if !good {
				return nil, false
			}
			i = skipSpace(b, skipSpace(b, next)+1) // past the colon
			end, good := skipValue(b, i)
			if !good {
				return nil, false
			}
			switch key {
			case "p":
				if o.Path, good = plainStrings(b[i:end]); !good {
					return nil, false
				}
			case "v":
				o.Value = bytes.Clone(b[i:end]) // null too, as json.RawMessage

			case "d":
				switch string(b[i:end]) {
				case "true":
					o.Del = true
				case "false":
					o.Del = false
				default:
					return nil, false
				}
			default:
				return nil, false
			}
			i = skipSpace(b, end)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
		ops = append(ops, o)
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == ']' {
			return ops, skipSpace(b, i+1) == len(b)
		}
		return nil, false
	}
	return nil, false
}

// plainString reads the string starting at b[i] when it is ASCII without
// escapes (encoding/json rewrites invalid UTF-8, so other strings go
// through it), returning it and the index after its closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\' || c >= 0x80:
			return "", 0, false
		case c == '"':
			// The path elements every delta repeats are not allocated.
			switch v := b[i+1 : j]; string(v) {
			case "LocalHost":
				return "LocalHost", j + 1, true
			case "Probes":
				return "Probes", j + 1, true
			default:
				return string(v), j + 1, true
			}
		}
	}
	return "", 0, false
}

// plainStrings reads a JSON array of strings without escapes.
func plainStrings(b []byte) ([]string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	var out []string
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return []string{}, true
	}
	for i < len(b) {
		s, next, ok := plainString(b, i)
		if !ok {
			return nil, false
		}
		out = append(out, s)
		i = skipSpace(b, next)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		return out, i < len(b) && b[i] == ']'
	}
	return nil, false
}
