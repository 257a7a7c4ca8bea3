// Command notify-file is a complete third-party Wigo notifier in one file:
// it appends one line per notification to a file. Copy it to start your own.
//
// Build it into plugins_dir and configure it with:
//
//	notify "audit" {
//	  plugin = "notify-file"
//	  path   = "/var/log/wigo/notifications.log"
//	  format = "text"   # or "json": the whole notification on one line
//	}
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/wigo-project/wigo/sdk"
)

func main() { sdk.ServeNotifier(&fileNotifier{}, sdk.WithInfo("notify-file", "1.0.0")) }

// fileNotifier implements sdk.Notifier. The host calls Schema, then
// Configure with the operator's block decoded against it, then Notify once
// per event, one call at a time.
type fileNotifier struct {
	cfg struct {
		Path   string `json:"path"`
		Format string `json:"format"`
	}
}

// Schema declares the block: the host checks types, required attributes
// and typos and reports them with file:line,col before Configure runs.
func (*fileNotifier) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "path", Type: sdk.TypePath, Required: true, Description: "File to append to; relative to the file of the block."},
		{Name: "format", Type: sdk.TypeString, Default: "text", Description: `"text" or "json".`},
	}}
}

// Configure checks what the schema cannot express; its error is shown to
// the operator next to the block.
func (f *fileNotifier) Configure(_ context.Context, cfg sdk.Config) error {
	if err := cfg.Decode(&f.cfg); err != nil {
		return err
	}
	if f.cfg.Format != "text" && f.cfg.Format != "json" {
		return fmt.Errorf("format %q: want \"text\" or \"json\"", f.cfg.Format)
	}
	return nil
}

// Notify appends one line. An error makes the host retry later, and the
// same EventId may come twice, so a line carries the id.
func (f *fileNotifier) Notify(_ context.Context, n *sdk.Notification) error {
	line := fmt.Sprintf("%s %s %s %s\n", n.Date, n.EventId, n.NewLevel, n.Message)
	if f.cfg.Format == "json" {
		b, err := json.Marshal(n)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		line = string(b) + "\n"
	}
	file, err := os.OpenFile(f.cfg.Path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if _, err := file.WriteString(line); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %w", f.cfg.Path, err)
	}
	sdk.Logger().Debug("notification written", "event", n.EventId, "path", f.cfg.Path)
	return file.Close()
}
