# Packages: .deb and .rpm for amd64, arm64 and armhf, from the one
# description packaging/nfpm.yaml (built by packaging/mkpkg with nfpm).
# Included by the top Makefile.
#
#   make packages                        -> dist/wigo_<v>_{amd64,arm64,armhf}.deb
#                                           dist/wigo-<v>-1.{x86_64,aarch64,armv7hl}.rpm
#   make packages PKG_ARCHS=arm64        one architecture
#   make packages PKG_FORMATS=deb        one format
#   make packages VERSION=1.2.3 BIN=/tmp/b DIST=/tmp/d   elsewhere (tests do)
#
# The build machine's architecture is packaged from $(BIN), what `make build`
# made; the others are cross-built into $(BIN)/linux-<arch>/ with cgo
# (SQLite) and Debian's cross compilers: gcc-aarch64-linux-gnu and
# gcc-arm-linux-gnueabihf with their libc6-dev-*-cross (scripts/test-deps).
DIST        ?= dist
PKG_ARCHS   ?= amd64 arm64 armhf
PKG_FORMATS ?= deb,rpm

# Debian's name of the build machine's architecture.
PKG_HOST_ARCH := $(shell $(GO) env GOARCH | sed 's/^arm$$/armhf/')
pkg_goenv_amd64   := GOARCH=amd64
pkg_goenv_arm64   := GOARCH=arm64
pkg_goenv_armhf   := GOARCH=arm GOARM=7
pkg_triplet_amd64 := x86_64-linux-gnu
pkg_triplet_arm64 := aarch64-linux-gnu
pkg_triplet_armhf := arm-linux-gnueabihf

# package-<arch> is a pattern rule (make skips those for .PHONY targets);
# no file of that name is ever made, so it always runs.
.PHONY: packages
packages: $(addprefix package-,$(PKG_ARCHS))

# The host's wigo-probes (in $(BIN), hence `build`) lists the probe
# library's names for every architecture's links.
package-%: build
	@set -e; bin=$(BIN); \
	if [ "$*" != "$(PKG_HOST_ARCH)" ]; then \
		bin=$(BIN)/linux-$*; \
		echo "cross-building for $* with $(pkg_triplet_$*)-gcc"; \
		env CGO_ENABLED=1 $(pkg_goenv_$*) CC=$(pkg_triplet_$*)-gcc \
			$(GO) build -ldflags "$(LDFLAGS)" -o $$bin/ ./cmd/...; \
		env CGO_ENABLED=1 $(pkg_goenv_$*) CC=$(pkg_triplet_$*)-gcc \
			$(GO) build -ldflags "$(LDFLAGS)" -o $$bin/plugins/ ./plugins/...; \
	fi; \
	$(GO) run ./packaging/mkpkg -arch $* -version "$(VERSION)" -bin $$bin \
		-list $(BIN)/wigo-probes -strip $(pkg_triplet_$*)-strip \
		-out $(DIST) -formats "$(PKG_FORMATS)"

# Install, upgrade and purge of the build machine's .deb in a debootstrap
# chroot of Debian 12, with its systemd-analyze verifying the unit. As root;
# the chroot (CHROOT, made on first use) is kept for the next run.
CHROOT ?= /var/tmp/wigo-chroot
.PHONY: packages-chroot-test
packages-chroot-test: build
	sh packaging/chroot-test.sh "$(CHROOT)"
