package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/decide"
	"github.com/wigo-project/wigo/core/notify"
)

// reloadStartWait bounds how long a reload waits for the plugins' first
// start (a plugin hanging at its handshake costs its StartTimeout).
const reloadStartWait = 30 * time.Second

// decideNotifiers hands the core's decisions what depends on the notify
// blocks: renotify periods, escalations, quiet hours.
func decideNotifiers(decider *decide.Decider, instances []notify.Instance) {
	every := map[string]time.Duration{}
	escalation := map[string]decide.Escalation{}
	quiet := map[string]decide.Quiet{}
	for _, in := range instances {
		every[in.Name] = in.RenotifyEvery
		if in.EscalateTo != "" {
			escalation[in.Name] = decide.Escalation{After: in.EscalateAfter, To: in.EscalateTo, MinLevel: in.Filter.MinLevel}
		}
		if q := in.QuietHours; q != nil {
			quiet[in.Name] = decide.Quiet{Window: q.Window, MinLevel: q.MinLevel, Accepts: in.Filter.Accepts}
		}
	}
	decider.SetRenotify(every)
	decider.SetEscalation(escalation)
	decider.SetQuietHours(quiet)
}

// Reload applies a new configuration to the running daemon: probe
// directories, log level, host name and group, alive timeout, the core's
// decisions, and the plugin blocks by difference (see plugin.Plan): added
// blocks start, removed ones are closed and stopped, changed ones restart
// with their new config, unchanged ones are not touched; the notify
// blocks' filters and routing apply to the events that follow.
//
// Every added or changed plugin is started and configured before anything
// is applied: if one fails (a binary missing, an attribute its schema
// refuses, a Configure refusal) the reload is refused as a whole, each
// diagnostic is logged with its file, line and column, the error says so,
// and the daemon keeps running as it was. Notifications keep flowing from
// the outbox throughout: a notifier's rows wait for its new process.
// Settings that need a restart (HTTP listener, database, UUID file) are
// reported.
func (d *Daemon) Reload(cfg *config.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.pluginsStarted:
	case <-time.After(reloadStartWait):
		return d.refuse(errors.New("the plugins are still starting; send SIGHUP again once they are up"), nil)
	}
	old := d.cfg
	instances, blocks, diags := notifiers(cfg)
	if diags.HasErrors() {
		return d.refuse(errors.New("notify blocks"), diags)
	}
	plan, diags := d.plugins.Reload(pluginBlocks(blocks, cfg))
	if diags.HasErrors() {
		return d.refuse(errors.New("plugin blocks"), diags)
	}
	logDiagnostics(d.log, hclog.Warn, "plugin block accepted with a warning", diags)

	d.log.SetLevel(hclog.LevelFromString(cfg.LogLevel))
	d.probe.SetDirs(cfg.ProbesDir, cfg.ProbesConfigDir)
	d.state.SetIdentity(cfg.Hostname, cfg.Group)
	d.state.SetAliveTimeout(cfg.AliveTimeout)
	d.decider.SetFlapping(cfg.Flapping.Window, cfg.Flapping.Threshold)
	d.decider.SetAttempts(cfg.Attempts, cfg.RecoveryAttempts)
	d.decider.SetChecks(checks(cfg))
	d.decider.SetDependencies(dependencies(cfg), cfg.AliveTimeout)
	decideNotifiers(d.decider, instances)
	if !reflect.DeepEqual(old.HTTP, cfg.HTTP) {
		d.log.Warn("http settings changed: restart the daemon to apply them")
	}
	if old.Database != cfg.Database || old.Store != cfg.Store || old.UUIDFile != cfg.UUIDFile {
		d.log.Warn("database, store or uuid_file changed: restart the daemon to apply them")
	}
	if old.Delivery != cfg.Delivery {
		d.log.Warn("notifications.send_timeout or lease changed: restart the daemon to apply them")
	}

	// Events from now on are filtered for the new notifiers: a removed one
	// gets no more rows, an added one's rows wait for its process.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.notify.SetInstances(ctx, instances); err != nil {
		d.log.Error("notify blocks not applied", "error", err)
	}
	// A removed output's queue goes to its plugin before the plugin is
	// closed, and it flushes its own buffer then.
	outputs := make([]string, 0, len(cfg.Outputs))
	for _, b := range cfg.Outputs {
		outputs = append(outputs, b.Label)
	}
	d.metrics.SetOutputs(outputs)
	if !plan.Empty() {
		applied := plan.Apply(ctx)
		logDiagnostics(d.log, hclog.Error, "plugin not started", applied)
		d.log.Info("plugin blocks reloaded", "added", strings.Join(plan.Added, ", "), "changed", strings.Join(plan.Changed, ", "),
			"removed", strings.Join(plan.Removed, ", "), "unchanged", len(plan.Unchanged))
	}
	d.notifyBlocks = blocks
	d.remote.setTransports(cfg)
	d.cfg = cfg
	select {
	case d.reloaded <- struct{}{}: // maintenance windows may have changed
	default:
	}
	d.log.Info("configuration reloaded", "files", cfg.Files, "log_level", cfg.LogLevel, "probes_dir", cfg.ProbesDir,
		"maintenance", len(cfg.Maintenance))
	return nil
}

// refuse logs why a reload is refused, one line per diagnostic, and
// returns the error Reload answers.
func (d *Daemon) refuse(what error, diags hcl.Diagnostics) error {
	logDiagnostics(d.log, hclog.Error, "reload refused, the running configuration is kept", diags)
	if len(diags) == 0 {
		d.log.Error("reload refused, the running configuration is kept", "error", what)
	}
	return fmt.Errorf("reload refused: %w:\n%s", what, strings.TrimSpace(config.FormatDiagnostics(diags)))
}

// logDiagnostics logs each line of diags at level.
func logDiagnostics(log hclog.Logger, level hclog.Level, msg string, diags hcl.Diagnostics) {
	for _, line := range strings.Split(strings.TrimSpace(config.FormatDiagnostics(diags)), "\n") {
		if line != "" {
			log.Log(level, msg, "error", line)
		}
	}
}
