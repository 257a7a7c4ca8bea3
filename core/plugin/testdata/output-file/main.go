// Command output-file is a test output: it appends each metric to a file.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wigo-project/wigo/sdk"
)

func main() { sdk.ServeOutput(&out{}) }

type out struct{ path string }

func (*out) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{{Name: "path", Type: sdk.TypeString, Required: true}}}
}

func (o *out) Configure(_ context.Context, c sdk.Config) error {
	var cfg struct {
		Path string `json:"path"`
	}
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	o.path = cfg.Path
	if !filepath.IsAbs(cfg.Path) {
		// Accepted, with a warning at the attribute.
		return sdk.Diagnostics{{Severity: sdk.SeverityWarning, Summary: "Relative path",
			Detail: "It is resolved against the daemon's working directory.", Path: sdk.AttributePath("path")}}
	}
	return nil
}

func (o *out) Write(_ context.Context, ms []sdk.Metric) error {
	f, err := os.OpenFile(o.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	for _, m := range ms {
		fmt.Fprintf(f, "%s %s %s %g %d\n", m.Hostname, m.Group, m.Probe, m.Value, m.Time.UnixMilli())
	}
	return f.Close()
}
