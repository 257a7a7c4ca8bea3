package main

import (
	"net/http"
	_ "net/http/pprof" // served only when WIGO_PPROF is set
	"os"

	"github.com/hashicorp/go-hclog"
)

// startPprof serves Go's profiler on $WIGO_PPROF (e.g. 127.0.0.1:6060) when
// set, for the load measurements of BENCHMARKS.md. It is a debugging aid:
// never set it on an exposed address.
func startPprof(log hclog.Logger) {
	addr := os.Getenv("WIGO_PPROF")
	if addr == "" {
		return
	}
	go func() {
		log.Warn("profiler listening", "address", addr)
		if err := http.ListenAndServe(addr, nil); err != nil { //nolint:gosec // debug endpoint, opt-in
			log.Error("profiler stopped", "error", err)
		}
	}()
}
