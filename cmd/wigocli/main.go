// Command wigocli is the command-line client of a Wigo instance. It asks the
// instance's HTTP API (this project's or an original wigo's: the JSON shapes
// are the same) what is going on and prints it for a human, or as raw JSON,
// and exits with a Nagios-style code so it can double as a check.
//
// Everything runs through run(args, stdout, stderr) so tests drive the real
// command line against a real HTTP server; main only wires the process to it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=…"; when it is
// not, the module version recorded by the Go toolchain is used instead.
var version = ""

// Exit codes. They follow the Nagios plugin convention so wigocli can be
// dropped into any check runner as is: a usage error is UNKNOWN as well,
// because 2 would wrongly read as CRITICAL.
const (
	exitOK      = 0 // OK or INFO
	exitWarn    = 1 // WARN
	exitCrit    = 2 // CRIT, ERROR or DOWN
	exitUnknown = 3 // API unreachable, refused us, answered garbage; usage error
)

const defaultHost = "127.0.0.1:4000"

const usageText = `Usage: wigocli [flags] [command]

Asks a Wigo instance (this project's or an original wigo) what is going on,
through its HTTP API.

Commands:
  (none)                  summary: the global status, then only what is not
                          OK: every host (local and remote, at any depth) that
                          is not OK or is DOWN, with its probes that are not OK
  detail                  every host and every probe, OK ones included
  probe NAME              the local host's probe NAME in detail
  remote HOST             host HOST and all its probes, as the instance knows it
  remote HOST probe NAME  host HOST's probe NAME in detail
  logs                    the status-change log, newest first; narrowed with
                          -host H, -group G, -probe P, paged with -limit N
                          (server default when unset) and -offset N
  ack HOST [PROBE]        acknowledge HOST's (or its PROBE's) problem: its
                          notifications are held back while it does not get
                          worse; -comment TEXT says why, -sticky keeps it
                          when it gets worse (until it recovers), -expires 2h
                          (or an RFC 3339 time) ends it then
  unack HOST [PROBE]      remove that acknowledgement
  acks                    the acknowledgements in force
  run HOST PROBE          run one of HOST's probes now (HOST: this instance)
  disable HOST PROBE      stop running it: -comment TEXT says why (required),
                          -for 1h or -until an RFC 3339 time ends it (else
                          until enabled); kept across restarts
  enable HOST PROBE       run it again, at once
  interval HOST PROBE N   run it every N seconds until "interval HOST PROBE
                          clear" or the daemon restarts (not kept)
  authority allow UUID    approve a waiting push client (revoke UUID: no more)
  notifications retry ID  queue a dead-lettered notification again
  silence                 hold back the notifications of what -host, -group
                          and -probe match (* for any run of characters) for
                          -for 2h, or -until an RFC 3339 time; -start TIME
                          plans it ahead, -comment TEXT says why. When it
                          ends, what changed meanwhile is notified once, as
                          it is then
  silence extend ID       end silence ID later (or sooner): -for or -until
  unsilence ID            end silence ID now
  silences                the silences in force or to come

Flags (before or after the command):
  -H host:port   instance to ask: host:port, a bare host (port 4000), or a full
                 http:// or https:// URL (default 127.0.0.1:4000)
  -u login       basic-auth login
  -p password    basic-auth password; defaults to $WIGO_PASSWORD, which keeps
                 it out of the process list
                 Without -u, $WIGO_TOKEN (an API token: wigo token create) is
                 sent as Authorization: Bearer
  -k             do not verify the TLS certificate (insecure; off by default)
  -timeout d     give up after d, e.g. 3s (default 10s)
  -color when    auto, always or never (default auto: colours only when stdout
                 is a terminal and NO_COLOR is empty or unset)
  -json          print the API's JSON answer instead of text
  -version       print the version and exit

Exit codes (Nagios-style, so wigocli can serve as a check):
  0  OK or INFO
  1  WARN
  2  CRIT, ERROR or DOWN
  3  UNKNOWN: the API could not be reached, refused the credentials, answered
     something that is not a Wigo answer, or carried no valid status; also a
     usage error
  The status is the worst of every host in the answer for the summary, detail
  and remote HOST (a DOWN host counts, even where the instance's own
  GlobalStatus ignores it); the probe's own status for probe and
  remote HOST probe; logs, ack, unack, acks and the silence commands exit 0
  once done.
`

// app is one invocation's outside world. Tests build it with a fake terminal
// check and environment; run builds it from the real process.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	isTerminal     func(io.Writer) bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command line: it parses args, talks to the API, prints to
// stdout (errors to stderr) and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv, isTerminal: fileIsTerminal}
	return a.run(args)
}

// fileIsTerminal reports whether w is a terminal. Anything that is not an
// *os.File (a buffer, a pipe wrapper) is not one.
func fileIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) run(args []string) int {
	opts, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(a.stdout, usageText)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "wigocli: %v\nRun 'wigocli -h' for usage.\n", err)
		return exitUnknown
	}
	if opts.version {
		fmt.Fprintf(a.stdout, "wigocli %s\n", buildVersion())
		return exitOK
	}
	if opts.password == "" && opts.user != "" {
		opts.password = a.getenv("WIGO_PASSWORD")
	}
	if opts.user == "" {
		// An API token (wigo token create), as a bearer; -u wins.
		opts.token = a.getenv("WIGO_TOKEN")
	}

	color, err := colorEnabled(opts.color, a.isTerminal(a.stdout), a.getenv)
	if err != nil {
		fmt.Fprintf(a.stderr, "wigocli: %v\nRun 'wigocli -h' for usage.\n", err)
		return exitUnknown
	}

	c, err := newClient(opts)
	if err != nil {
		fmt.Fprintf(a.stderr, "wigocli: -H: %v\n", err)
		return exitUnknown
	}

	ctx, cancel := context.WithTimeout(context.Background(), opts.timeout)
	defer cancel()

	out := &output{w: a.stdout, pal: palette{enabled: color}, json: opts.json}
	code, err := dispatch(ctx, c, opts, out)
	if err != nil {
		fmt.Fprintf(a.stderr, "wigocli: %v\n", err)
		return exitUnknown
	}
	return code
}

// buildVersion prefers the version stamped at link time, then the module
// version the toolchain recorded (a tagged `go install`), then "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// cmdKind is which of the commands was asked for.
type cmdKind int

const (
	cmdSummary cmdKind = iota
	cmdDetail
	cmdProbe
	cmdRemote
	cmdRemoteProbe
	cmdLogs
	cmdAck
	cmdUnack
	cmdAcks
	cmdSilence
	cmdSilenceExtend
	cmdUnsilence
	cmdSilences
	cmdRun
	cmdDisable
	cmdEnable
	cmdInterval
	cmdAuthority
	cmdRetry
)

// options is the parsed command line.
type options struct {
	host     string
	user     string
	password string
	token    string
	// action and target: authority allow|revoke UUID, notifications
	// retry ID.
	action, target string
	insecure       bool
	timeout        time.Duration
	color          string
	json           bool
	version        bool

	logHost, logGroup, logProbe string
	logLimit, logOffset         int

	ackComment string
	ackSticky  bool
	ackExpires string

	silFor, silUntil, silStart string
	silenceID                  string

	cmd       cmdKind
	hostArg   string // remote HOST
	probeName string // probe NAME, remote HOST probe NAME
}

// logFlags only make sense for the logs command; they are refused elsewhere
// rather than silently ignored.
var logFlags = map[string]bool{"host": true, "group": true, "probe": true, "limit": true, "offset": true}

// ackFlags likewise only make sense for ack.
var ackFlags = map[string]bool{"comment": true, "sticky": true, "expires": true}

// silenceFlags only make sense for silence (and -for, -until for silence
// extend).
var silenceFlags = map[string]bool{"for": true, "until": true, "start": true}

// parseArgs parses flags wherever they appear (the flag package stops at the
// first positional word, and `wigocli detail -json` is natural to type), then
// the command words.
func parseArgs(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("wigocli", flag.ContinueOnError)
	// Errors are reported by run with a pointer to -h; the flag package's own
	// usage dump would bury the actual message.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	fs.StringVar(&o.host, "H", defaultHost, "")
	fs.StringVar(&o.user, "u", "", "")
	fs.StringVar(&o.password, "p", "", "")
	fs.BoolVar(&o.insecure, "k", false, "")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "")
	fs.StringVar(&o.color, "color", "auto", "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.version, "version", false, "")
	fs.StringVar(&o.logHost, "host", "", "")
	fs.StringVar(&o.logGroup, "group", "", "")
	fs.StringVar(&o.logProbe, "probe", "", "")
	fs.IntVar(&o.logLimit, "limit", 0, "")
	fs.IntVar(&o.logOffset, "offset", 0, "")
	fs.StringVar(&o.ackComment, "comment", "", "")
	fs.BoolVar(&o.ackSticky, "sticky", false, "")
	fs.StringVar(&o.ackExpires, "expires", "", "")
	fs.StringVar(&o.silFor, "for", "", "")
	fs.StringVar(&o.silUntil, "until", "", "")
	fs.StringVar(&o.silStart, "start", "", "")

	var words []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		left := fs.Args()
		consumed := len(rest) - len(left)
		if consumed > 0 && rest[consumed-1] == "--" {
			// Everything after "--" is a word, even if it starts with "-".
			words = append(words, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		words = append(words, left[0])
		rest = left[1:]
	}

	if o.version {
		return o, nil
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("-timeout must be positive, got %s", o.timeout)
	}
	if o.logLimit < 0 || o.logOffset < 0 {
		return nil, errors.New("-limit and -offset cannot be negative")
	}

	if err := parseCommand(o, words); err != nil {
		return nil, err
	}

	// Flags that mean nothing to the command asked for are refused rather
	// than silently ignored.
	for _, g := range []struct {
		flags map[string]bool
		ok    bool
		where string
	}{
		{logFlags, o.cmd == cmdLogs || o.cmd == cmdSilence, "the logs and silence commands"},
		{ackFlags, o.cmd == cmdAck || ((o.cmd == cmdSilence || o.cmd == cmdDisable) && !ackOnly(fs)), "the ack command (-comment: ack, silence and disable)"},
		{silenceFlags, o.cmd == cmdSilence || ((o.cmd == cmdSilenceExtend || o.cmd == cmdDisable) && !flagGiven(fs, "start")), "the silence command (-for, -until: silence extend and disable)"},
	} {
		if g.ok {
			continue
		}
		var misplaced []string
		fs.Visit(func(f *flag.Flag) {
			if g.flags[f.Name] {
				misplaced = append(misplaced, "-"+f.Name)
			}
		})
		if len(misplaced) > 0 {
			return nil, fmt.Errorf("%s only apply to %s", strings.Join(misplaced, ", "), g.where)
		}
	}
	if o.cmd == cmdSilence {
		for _, f := range []string{"limit", "offset"} {
			if flagGiven(fs, f) {
				return nil, fmt.Errorf("-%s does not apply to silence", f)
			}
		}
	}
	if o.cmd == cmdDisable && o.ackComment == "" {
		return nil, errors.New("say why the probe is disabled: -comment TEXT (and -for DURATION or -until TIME, else until enabled)")
	}
	if (o.cmd == cmdSilence || o.cmd == cmdSilenceExtend) && (o.silFor == "") == (o.silUntil == "") {
		return nil, errors.New("give how long the silence lasts: -for DURATION (2h, 90m) or -until TIME (RFC 3339)")
	}
	return o, nil
}

// parseCommand reads the command words into o.
func parseCommand(o *options, words []string) error {
	if len(words) == 0 {
		o.cmd = cmdSummary
		return nil
	}
	switch words[0] {
	case "help":
		return flag.ErrHelp
	case "detail":
		if len(words) != 1 {
			return fmt.Errorf("detail takes no argument, got %q", strings.Join(words[1:], " "))
		}
		o.cmd = cmdDetail
	case "logs":
		if len(words) != 1 {
			return fmt.Errorf("logs takes flags (-host, -group, -probe, -limit, -offset), not %q", strings.Join(words[1:], " "))
		}
		o.cmd = cmdLogs
	case "probe":
		if len(words) != 2 {
			return errors.New("usage: wigocli probe NAME")
		}
		o.cmd, o.probeName = cmdProbe, words[1]
	case "ack", "unack":
		if len(words) < 2 || len(words) > 3 {
			return fmt.Errorf("usage: wigocli %s HOST [PROBE]", words[0])
		}
		o.cmd, o.hostArg = cmdAck, words[1]
		if words[0] == "unack" {
			o.cmd = cmdUnack
		}
		if len(words) == 3 {
			o.probeName = words[2]
			if o.probeName == "" {
				return errors.New("the probe name cannot be empty")
			}
		}
	case "silence":
		switch {
		case len(words) == 1:
			o.cmd = cmdSilence
		case len(words) == 3 && words[1] == "extend":
			o.cmd, o.silenceID = cmdSilenceExtend, words[2]
		default:
			return errors.New("usage: wigocli silence [-host PATTERN] [-group PATTERN] [-probe PATTERN] -for DURATION|-until TIME [-start TIME] [-comment TEXT], or wigocli silence extend ID -for DURATION|-until TIME")
		}
	case "unsilence":
		if len(words) != 2 {
			return errors.New("usage: wigocli unsilence ID")
		}
		o.cmd, o.silenceID = cmdUnsilence, words[1]
	case "silences":
		if len(words) != 1 {
			return fmt.Errorf("silences takes no argument, got %q", strings.Join(words[1:], " "))
		}
		o.cmd = cmdSilences
	case "run", "disable", "enable":
		if len(words) != 3 {
			return fmt.Errorf("usage: wigocli %s HOST PROBE", words[0])
		}
		o.cmd = map[string]cmdKind{"run": cmdRun, "disable": cmdDisable, "enable": cmdEnable}[words[0]]
		o.hostArg, o.probeName = words[1], words[2]
	case "interval":
		if len(words) != 4 {
			return errors.New("usage: wigocli interval HOST PROBE SECONDS|clear")
		}
		o.cmd, o.hostArg, o.probeName, o.target = cmdInterval, words[1], words[2], words[3]
	case "authority":
		if len(words) != 3 || (words[1] != "allow" && words[1] != "revoke") {
			return errors.New("usage: wigocli authority allow|revoke UUID")
		}
		o.cmd, o.action, o.target = cmdAuthority, words[1], words[2]
	case "notifications":
		if len(words) != 3 || words[1] != "retry" {
			return errors.New("usage: wigocli notifications retry ID")
		}
		o.cmd, o.target = cmdRetry, words[2]
	case "acks":
		if len(words) != 1 {
			return fmt.Errorf("acks takes no argument, got %q", strings.Join(words[1:], " "))
		}
		o.cmd = cmdAcks
	case "remote":
		switch {
		case len(words) == 2:
			o.cmd, o.hostArg = cmdRemote, words[1]
		case len(words) == 4 && words[2] == "probe":
			o.cmd, o.hostArg, o.probeName = cmdRemoteProbe, words[1], words[3]
		default:
			return errors.New("usage: wigocli remote HOST [probe NAME]")
		}
	default:
		return fmt.Errorf("unknown command %q", words[0])
	}
	for _, name := range []string{o.hostArg, o.probeName, o.silenceID} {
		// These become path segments: "." and ".." would be cleaned away
		// by the server's router and ask for something else entirely.
		if name == "." || name == ".." {
			return fmt.Errorf("%q is not a valid host or probe name", name)
		}
	}
	if (o.cmd == cmdProbe || o.cmd == cmdRemoteProbe) && o.probeName == "" {
		return errors.New("the probe name cannot be empty")
	}
	if (o.cmd == cmdRemote || o.cmd == cmdRemoteProbe || o.cmd == cmdAck || o.cmd == cmdUnack) && o.hostArg == "" {
		return errors.New("the host name cannot be empty")
	}
	return nil
}

// flagGiven reports whether flag name was on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// ackOnly reports whether an ack-only flag (-sticky, -expires) was given:
// -comment is the one that silence shares.
func ackOnly(fs *flag.FlagSet) bool { return flagGiven(fs, "sticky") || flagGiven(fs, "expires") }

// colorEnabled decides whether to colour: an explicit always/never wins;
// auto colours only a terminal, and honours NO_COLOR (no-color.org: set and
// not empty disables) and TERM=dumb.
func colorEnabled(mode string, terminal bool, getenv func(string) string) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		return terminal && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb", nil
	}
	return false, fmt.Errorf("-color must be auto, always or never, not %s", strconv.Quote(mode))
}
