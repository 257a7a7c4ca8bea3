# Wigo build entry points. `make run` and `make test` are the two commands
# the README promises; everything else is a helper for them.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/wigo-project/wigo/core/daemon.Version=$(VERSION)
BIN     := bin

.PHONY: build run test vet bench clean

# Commands in bin/, plugin binaries in bin/plugins/ (etc/dev.hcl's
# plugins_dir), where the daemon finds them by name.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/plugins/ ./plugins/...

# Runs the daemon on the development config: sample probes from probes/,
# SQLite under var/, the API on http://127.0.0.1:4000/api.
run: build
	mkdir -p var
	./$(BIN)/wigo -c etc/dev.hcl

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -race -count=1 ./...

# Benchmarks quoted in BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./core/... | tee var/bench.txt

clean:
	rm -rf $(BIN) var dist

include packaging/deb.mk
