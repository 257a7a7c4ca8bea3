package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/wigo-project/wigo/core/model"
)

// parseOutput decodes a probe's stdout: one JSON object in the original's
// shape. It is strict about what matters (one object, a Status) and lenient
// where probes written for the original differ in harmless ways: field
// names match case-insensitively (as encoding/json did for the original),
// and numbers printed as strings ("Value": "0.52", "Status": "100") — which
// Perl probes do all the time — are accepted. The error text completes the
// sentence `probe "x" ...`.
func parseOutput(out []byte) (*model.ProbeResult, error) {
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) == 0 {
		return nil, errors.New("printed nothing on stdout")
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return nil, fmt.Errorf("printed invalid JSON: %v (first bytes: %s)", jsonError(trimmed), firstBytes(trimmed))
		}
		return nil, fmt.Errorf("printed JSON that is not an object (first bytes: %s)", firstBytes(trimmed))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &fields); err != nil {
		return nil, fmt.Errorf("printed invalid JSON: %v (first bytes: %s)", err, firstBytes(trimmed))
	}
	get := func(name string) (json.RawMessage, bool) {
		if v, ok := fields[name]; ok {
			return v, true
		}
		for k, v := range fields {
			if strings.EqualFold(k, name) {
				return v, true
			}
		}
		return nil, false
	}

	r := &model.ProbeResult{}
	raw, ok := get("Status")
	if !ok || isNull(raw) {
		return nil, errors.New("output has no Status")
	}
	status, err := intField(raw)
	if err != nil {
		return nil, fmt.Errorf("output has an invalid Status: %v", err)
	}
	r.Status = status

	if raw, ok := get("Message"); ok && !isNull(raw) {
		if r.Message, err = stringField(raw); err != nil {
			return nil, fmt.Errorf("output has an invalid Message: %v", err)
		}
	}
	if raw, ok := get("Version"); ok && !isNull(raw) {
		if r.Version, err = stringField(raw); err != nil {
			return nil, fmt.Errorf("output has an invalid Version: %v", err)
		}
	}
	if raw, ok := get("Value"); ok && !isNull(raw) {
		r.Value, _ = model.CapDepth(raw)
	}
	if raw, ok := get("Detail"); ok && !isNull(raw) {
		r.Detail, _ = model.CapDepth(raw)
	}
	if raw, ok := get("Metrics"); ok && !isNull(raw) {
		if r.Metrics, err = metricsField(raw); err != nil {
			return nil, fmt.Errorf("output has invalid Metrics: %v", err)
		}
	}
	return r, nil
}

// jsonError is the decoder's own explanation, with the byte offset.
func jsonError(b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%v at byte %d", se, se.Offset)
	}
	return err
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// numberText is the text of a JSON number, or of a string holding one:
// probes written for the original often print numbers as strings.
func numberText(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case json.Number:
		return x.String(), nil
	case string:
		return strings.TrimSpace(x), nil
	}
	return "", fmt.Errorf("want a number, got %s", firstBytes(raw))
}

// intField accepts an integral JSON number or a string holding one.
func intField(raw json.RawMessage) (int, error) {
	s, err := numberText(raw)
	if err != nil {
		return 0, err
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return 0, fmt.Errorf("want an integer, got %s", firstBytes(raw))
	}
	return int(f), nil
}

// stringField accepts a string, or a number/bool rendered as text (a
// version printed as 1.2 is still a version).
func stringField(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("want a string, got %s", firstBytes(raw))
}

// metricsField decodes [{Tags:{k:v}, Value:n}], accepting numeric strings
// for Value and scalar tag values of any type (rendered as text), because
// OpenTSDB-style tags are text anyway.
func metricsField(raw json.RawMessage) ([]model.Metric, error) {
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("want a list of {\"Tags\": {...}, \"Value\": number}: %v", err)
	}
	out := make([]model.Metric, 0, len(items))
	for i, it := range items {
		var m model.Metric
		for k, v := range it {
			switch {
			case strings.EqualFold(k, "Value"):
				f, err := floatField(v)
				if err != nil {
					return nil, fmt.Errorf("metric %d: Value: %v", i, err)
				}
				m.Value = f
			case strings.EqualFold(k, "Tags"):
				if isNull(v) {
					continue
				}
				var tags map[string]json.RawMessage
				if err := json.Unmarshal(v, &tags); err != nil {
					return nil, fmt.Errorf("metric %d: Tags: want an object, got %s", i, firstBytes(v))
				}
				m.Tags = make(map[string]string, len(tags))
				for tk, tv := range tags {
					s, err := stringField(tv)
					if err != nil {
						return nil, fmt.Errorf("metric %d: tag %q: %v", i, tk, err)
					}
					m.Tags[tk] = s
				}
			}
		}
		if !hasFold(it, "Value") {
			return nil, fmt.Errorf("metric %d has no Value", i)
		}
		out = append(out, m)
	}
	return out, nil
}

func hasFold(m map[string]json.RawMessage, name string) bool {
	for k := range m {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// floatField accepts a JSON number or a string holding one.
func floatField(raw json.RawMessage) (float64, error) {
	s, err := numberText(raw)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a number, got %s", firstBytes(raw))
	}
	return f, nil
}

// firstBytes quotes the start of some output, so a message shows what the
// probe actually printed without pasting a megabyte into a log line.
func firstBytes(b []byte) string {
	const n = 64
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "..."
	}
	return strconv.Quote(string(b))
}
