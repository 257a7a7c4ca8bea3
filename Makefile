# Wigo build entry points. `make run` and `make test` are the two commands
# the README promises; everything else is a helper for them.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/wigo-project/wigo/core/daemon.Version=$(VERSION)
BIN     := bin

.PHONY: build run test test-deps vet fuzz bench chaos soak clean probe-links

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

# A probes_dir for the Go probe library (bin/wigo-probes): every probe linked
# under $(PROBES_DIR)/examples/, the default set of probes/default.list under
# $(PROBES_DIR)/<interval>/. Point a config's probes_dir at it; `make run`
# keeps the samples of probes/.
PROBES_DIR ?= var/probes
probe-links: build
	@set -e; mkdir -p $(PROBES_DIR)/examples; \
	for n in $$(./$(BIN)/wigo-probes -list); do \
		ln -sfn $(abspath $(BIN))/wigo-probes $(PROBES_DIR)/examples/$$n; \
	done; \
	grep -v '^#' probes/default.list | while read -r e; do \
		[ -n "$$e" ] || continue; \
		mkdir -p $(PROBES_DIR)/$${e%%/*}; \
		ln -sfn ../examples/$${e#*/} $(PROBES_DIR)/$$e; \
	done; \
	echo "probe-links: $$(ls $(PROBES_DIR)/examples | wc -l) probes in $(PROBES_DIR)/examples"

vet:
	$(GO) vet ./...

# The whole suite. Every tool it drives is checked first (and installed when
# run as root on Debian), and CI=true turns a test that would skip for a
# missing tool into a failure: nothing is skipped silently.
test: test-deps vet
	CI=true $(GO) test -race -count=1 ./...
	$(MAKE) fuzz

# A short run of every fuzz target on top of its committed corpus
# (testdata/fuzz/): the parsers of untrusted input. Longer runs:
# make fuzz FUZZTIME=10m (a finding lands in the package's testdata/fuzz).
FUZZTIME ?= 10s
# Each new input that widens coverage is minimised first, by default for up
# to 60 s, and a run that ends inside a minimisation fails with "context
# deadline exceeded": FuzzLoad finds a new input every half second, so even
# a minimisation bounded to 100 executions ended a 10 s run that way. The
# short runs of `make test` keep inputs as found; a longer run can set
# FUZZMINIMIZE=60s.
FUZZMINIMIZE ?= 0
FUZZ_TARGETS := core/config:FuzzLoad core/probe:FuzzParseOutput core/transport:FuzzDecodeAndIngest \
	core/api:FuzzQuery core/notify:FuzzBuild plugins/transport-pull:FuzzPrepare \
	plugins/transport-push:FuzzParseOps core/model:FuzzAppendString core/model:FuzzAppendFloat
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./$${t%%:*}; \
	done

# The chaos and crash suite at the scale RELIABILITY.md quotes (make test
# runs the same tests, scaled down). Figures: the "chaos:" lines, the whole
# output in var/chaos.txt. The 10-minute push outage of issue 12:
# make chaos CHAOS_PUSH_DOWN=10m.
CHAOS_ROUNDS        ?= 20
CHAOS_PLUGIN_KILLS  ?= 8
CHAOS_SINK_DOWN     ?= 30s
CHAOS_PUSH_DOWN     ?= 60s
CHAOS_STORM_CLIENTS ?= 1000
chaos:
	@mkdir -p var
	@WIGO_CHAOS_ROUNDS=$(CHAOS_ROUNDS) WIGO_CHAOS_PLUGIN_KILLS=$(CHAOS_PLUGIN_KILLS) \
	WIGO_CHAOS_SINK_DOWN=$(CHAOS_SINK_DOWN) WIGO_CHAOS_PUSH_DOWN=$(CHAOS_PUSH_DOWN) \
	WIGO_CHAOS_STORM_CLIENTS=$(CHAOS_STORM_CLIENTS) \
	$(GO) test -race -count=1 -timeout 60m -run '^TestChaos' -v ./cmd/wigo/ > var/chaos.txt 2>&1; \
	rc=$$?; grep -E 'chaos: |^(--- |FAIL|ok)' var/chaos.txt; exit $$rc

# The soak of RELIABILITY.md: a master with 200 probes every 2 s and 1,000
# pulled remotes for SOAK_DURATION, sampled every SOAK_SAMPLE; fails when a
# series is not flat. Samples in var/soak/soak-$(SOAK_DURATION).tsv, the
# progress and the verdicts in var/soak/soak-$(SOAK_DURATION).txt (tail -f
# it). The 72-hour run: make soak SOAK_DURATION=72h SOAK_SAMPLE=60s.
SOAK_DURATION ?= 1h
SOAK_SAMPLE   ?= 10s
SOAK_FLAGS    ?=
soak: build
	@mkdir -p var/soak
	@nice ./$(BIN)/wigo-loadgen soak -wigo $(BIN)/wigo -plugins $(BIN)/plugins \
		-duration $(SOAK_DURATION) -sample $(SOAK_SAMPLE) -out var/soak/soak-$(SOAK_DURATION).tsv $(SOAK_FLAGS) \
		> var/soak/soak-$(SOAK_DURATION).txt 2>&1; \
	rc=$$?; grep -vE '^ *[0-9]+s ' var/soak/soak-$(SOAK_DURATION).txt; exit $$rc

test-deps:
	@sh scripts/test-deps

# Benchmarks quoted in BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./core/... | tee var/bench.txt

clean:
	rm -rf $(BIN) var dist

include packaging/packages.mk
