package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Config is a plugin block decoded by the host against the plugin's Schema:
// a JSON object keyed by attribute and block names, defaults filled in.
type Config struct {
	raw      json.RawMessage
	instance string
}

// NewConfig wraps a decoded JSON object, for tests that call Configure
// directly. instance is the block label.
func NewConfig(instance string, raw []byte) Config {
	return Config{raw: append(json.RawMessage(nil), raw...), instance: instance}
}

// Instance is the label of the operator's block, e.g. "ops" for
// notify "ops" {...}; several instances of one plugin differ by it.
func (c Config) Instance() string { return c.instance }

// Raw is the decoded block as JSON.
func (c Config) Raw() json.RawMessage { return c.raw }

// Decode unmarshals the config into v (usually a struct with json tags
// named after the schema's attributes). Unknown keys are an error, so a
// struct that forgot an attribute of its own schema fails loudly in tests.
func (c Config) Decode(v any) error {
	if len(c.raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(c.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}
