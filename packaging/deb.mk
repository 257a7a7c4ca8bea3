# Debian package. Included by the top Makefile (`include packaging/deb.mk`);
# standalone: make -f Makefile -f packaging/deb.mk deb
#
#   make deb                      -> dist/wigo_<version>_<arch>.deb
#   make deb VERSION=1.2.3        version of the package (default: git describe)
#   make deb BIN=/tmp/b DIST=/tmp/d   build and package elsewhere (tests do)
#
# Built with dpkg-deb by packaging/build-deb.sh from the outputs of
# `make build` (commands in $(BIN), plugins in $(BIN)/plugins).
DIST ?= dist

.PHONY: deb
deb: build
	sh packaging/build-deb.sh "$(VERSION)" "$(BIN)" "$(DIST)"
