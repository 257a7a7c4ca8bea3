package sdk

import (
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
)

// profilerEnv is the environment variable that makes the plugin named name
// serve Go's profiler: WIGO_PPROF_ and the name in capitals with dashes as
// underscores (WIGO_PPROF_TRANSPORT_PUSH=127.0.0.1:6061). Plugins are
// separate processes, so the daemon's own profiler does not see them.
func profilerEnv(name string) string {
	return "WIGO_PPROF_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// startProfiler serves the profiler when the plugin's variable is set in
// the daemon's environment (plugins inherit it). A debugging aid for load
// measurements: never set it to an exposed address.
func startProfiler(name string) {
	addr := os.Getenv(profilerEnv(name))
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log := Logger()
	go func() {
		log.Warn("profiler listening", "address", addr)
		if err := http.ListenAndServe(addr, mux); err != nil { //nolint:gosec // debug endpoint, opt-in
			log.Error("profiler stopped", "error", err)
		}
	}()
}
