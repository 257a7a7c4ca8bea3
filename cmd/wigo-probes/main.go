// Command wigo-probes is the probe library as one multi-call binary, in the
// manner of busybox: a probe is a link to it, named after the probe
// (probes_dir/60/hardware_memory -> /usr/lib/wigo/probes/wigo-probes), and
// the binary runs the probe named by basename(argv[0]). It can also be run
// as `wigo-probes NAME` and lists its probes with `wigo-probes -list`.
//
// Each probe prints one JSON object (Version, Status, Message, Detail,
// Metrics) and reads its options from $WIGO_PROBE_CONFIG_ROOT/<name>.conf,
// as the daemon's probe contract says (README, "Probes"). A probe whose
// subject is absent from the host (no RAID controller, no redis) exits 13 so
// the daemon disables it and drops its result; one disabled in its config
// ("enabled": false) exits 12.
//
// WIGO_PROBES_ROOT, when set, is prepended to every /proc, /sys and /etc
// path a probe reads: tests point it at a recorded tree.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// selfName is the binary's own name; run under it, the probe is argv[1].
const selfName = "wigo-probes"

func main() {
	os.Exit(dispatch(os.Args, os.Stdout, os.Stderr, newEnv(os.Getenv)))
}

// dispatch picks the probe from argv and runs it; the return value is the
// process's exit code.
func dispatch(args []string, stdout, stderr io.Writer, e *env) int {
	name := ""
	if len(args) > 0 {
		name = filepath.Base(args[0])
	}
	// Run under its own name, or a name that is no probe (a renamed copy,
	// "wigo-probes-arm64") with arguments: the probe is argv[1].
	_, isProbe := registry[name]
	if name == selfName || name == "" || (!isProbe && len(args) > 1) {
		if len(args) < 2 {
			fmt.Fprintf(stderr, "usage: %s NAME | -list (or run through a link named after the probe)\n", selfName)
			return 2
		}
		switch args[1] {
		case "-list", "--list":
			for _, n := range probeNames() {
				fmt.Fprintln(stdout, n)
			}
			return 0
		case "-h", "-help", "--help":
			fmt.Fprintf(stdout, "usage: %s NAME | -list\nprobes: %s\n", selfName, strings.Join(probeNames(), " "))
			return 0
		}
		name = args[1]
	}
	p, ok := registry[name]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown probe %q (known: %s)\n", selfName, name, strings.Join(probeNames(), " "))
		return 2
	}
	e.name = name
	return execute(p, e, stdout, stderr)
}

// registry maps probe names (the original Wigo's) to their code.
var registry = map[string]probeFunc{}

// register adds a probe at init time; a duplicate is a programming error.
func register(name string, f probeFunc) {
	if _, dup := registry[name]; dup {
		panic("probe registered twice: " + name)
	}
	registry[name] = f
}

func probeNames() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
