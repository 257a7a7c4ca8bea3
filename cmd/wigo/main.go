// Command wigo is the Wigo monitoring daemon.
//
//	wigo -c /etc/wigo/wigo.hcl          run
//	wigo -c /etc/wigo/wigo.hcl -check   validate the configuration and exit
//	wigo -version                       print the version
//
// SIGHUP reloads the configuration; SIGTERM and SIGINT stop cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/daemon"
)

// defaultConfig is where packages install the configuration.
const defaultConfig = "/etc/wigo/wigo.hcl"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("wigo", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var path string
	fl.StringVar(&path, "c", defaultConfig, "configuration file")
	fl.StringVar(&path, "config", defaultConfig, "configuration file (same as -c)")
	check := fl.Bool("check", false, "validate the configuration (with its wigo.d drop-ins) and exit")
	version := fl.Bool("version", false, "print the version and exit")
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wigo [-c FILE] [-check] [-version]\n       wigo passwd              print a password hash for a user block\n       wigo [-c FILE] token ... create, list or revoke API tokens\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.Arg(0) == "passwd" {
		return passwd(os.Stdin, stdout, stderr)
	}
	if fl.NArg() > 0 && fl.Arg(0) != "token" {
		fmt.Fprintf(stderr, "wigo: unexpected argument %q\n", fl.Arg(0))
		fl.Usage()
		return 2
	}
	if *version {
		fmt.Fprintf(stdout, "wigo %s\n", daemon.Version)
		return 0
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "wigo: no configuration at %s.\n"+
			"In the source tree, `make run` starts wigo on etc/dev.hcl (everything under the tree),\n"+
			"or: wigo -c etc/dev.hcl. etc/wigo.hcl documents every option; the Debian package\n"+
			"installs it as %s.\n", path, defaultConfig)
		return 1
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		fmt.Fprint(stderr, config.FormatDiagnostics(diags))
		return 1
	}
	if fl.Arg(0) == "token" {
		return token(cfg, fl.Args()[1:], stdout, stderr)
	}
	if *check {
		// Plugin blocks are decoded against each plugin's own schema, which
		// means starting the plugin binaries for a moment.
		plog := hclog.New(&hclog.LoggerOptions{Name: "wigo", Level: hclog.Warn, Output: stderr})
		if diags := daemon.Check(cfg, plog); diags.HasErrors() {
			fmt.Fprint(stderr, config.FormatDiagnostics(diags))
			return 1
		}
		fmt.Fprintf(stdout, "configuration OK (%d file(s): %v)\n", len(cfg.Files), cfg.Files)
		return 0
	}
	logger, closeLog, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wigo: %v\n", err)
		return 1
	}
	defer closeLog()
	startPprof(logger)
	opts, err := clockOptions(logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	d, err := daemon.New(cfg, logger, opts...)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				next, diags := config.Load(path)
				if diags.HasErrors() {
					logger.Error("reload refused: the configuration has errors, keeping the running one",
						"errors", config.FormatDiagnostics(diags))
					continue
				}
				// A refused reload has logged why; the running
				// configuration stays.
				_ = d.Reload(next)
			}
		}
	}()
	if err := d.Run(ctx); err != nil {
		logger.Error("stopped on error", "err", err)
		return 1
	}
	return 0
}

// newLogger logs to log_file when set, else to stderr (the journal under
// systemd).
func newLogger(cfg *config.Config, stderr io.Writer) (hclog.InterceptLogger, func(), error) {
	out, closer := stderr, func() {}
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file %s: %w", cfg.LogFile, err)
		}
		out, closer = f, func() { f.Close() }
	}
	return hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   "wigo",
		Level:  hclog.LevelFromString(cfg.LogLevel),
		Output: out,
	}), closer, nil
}
