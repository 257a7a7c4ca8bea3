#!/bin/sh
# build-deb.sh VERSION BIN_DIR OUT_DIR
#
# Builds dist/wigo_<version>_<arch>.deb from the binaries `make build` left
# in BIN_DIR, with plain dpkg-deb (no nfpm: nothing to download, and the
# tree below is the whole truth of what the package holds). Called by the
# `deb` target of packaging/deb.mk, from the top of the source tree.
#
# Layout (FHS; /usr/local belongs to the local admin, never to a package):
#   /usr/bin/wigo, wigocli, wigo-convert, ...   commands (from BIN_DIR)
#   /usr/lib/wigo/plugins/                       plugins_dir (BIN_DIR/plugins/*)
#   /usr/lib/wigo/probes/examples/               example probes
#   /etc/wigo/probes/                            probes_dir: <seconds>/NAME links,
#                                                the operator's choice of probes
#   /etc/wigo/probes/examples -> /usr/lib/wigo/probes/examples
#   /etc/wigo/wigo.hcl, wigo.d/, conf.d/*.conf   configuration (conffiles)
#   /lib/systemd/system/wigo.service
#   /usr/share/wigo/default-probes               links postinst seeds on first install
set -eu

VERSION=${1:?version}
BIN=${2:?bin dir}
OUT=${3:?out dir}
ARCH=${DEB_ARCH:-$(dpkg --print-architecture)}
MAINTAINER=${DEB_MAINTAINER:-Wigo maintainers <wigo@wigo-project.org>}
# Binaries of BIN_DIR that are development tools, not for hosts.
SKIP_BINS=${DEB_SKIP_BINS:-wigo-bench}

# Debian versions must start with a digit and use a restricted alphabet;
# git describe gives v1.2.3-4-gabcdef, abcdef-dirty or "dev".
debver=$(printf '%s' "$VERSION" | sed -e 's/^v//' -e 's/[^A-Za-z0-9.+~]/./g')
case "$debver" in
[0-9]*.[0-9]*) ;;
*) debver="0~$debver" ;;
esac

here=$(dirname "$0")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# mktemp makes the directory 0700, and the package root becomes / on the
# target: dpkg would apply that mode to it.
chmod 0755 "$stage"
umask 022

# What the package ships follows what the source tree tracks, never what
# happens to lie in it: a file a developer left in etc/wigo.d/ would become a
# conffile on every host, a stray binary in BIN a command. Without git (a
# source tarball) the tree holds only what was released.
tracked() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -- "$@"
	else
		find "$@" \( -type f -o -type l \) -print | sort
	fi
}
# The commands and plugins are the directories of cmd/ and plugins/.
subdirs() { tracked "$1" | cut -d/ -f2 | sort -u; }

# Commands.
install -d "$stage/usr/bin"
for name in $(subdirs cmd); do
	case " $SKIP_BINS " in *" $name "*) continue ;; esac
	[ -x "$BIN/$name" ] || { echo "build-deb: $BIN/$name missing; run make build first" >&2; exit 1; }
	install -m 0755 "$BIN/$name" "$stage/usr/bin/$name"
done

# Plugins.
install -d "$stage/usr/lib/wigo/plugins"
for name in $(subdirs plugins); do
	[ -x "$BIN/plugins/$name" ] || { echo "build-deb: $BIN/plugins/$name missing; run make build first" >&2; exit 1; }
	install -m 0755 "$BIN/plugins/$name" "$stage/usr/lib/wigo/plugins/"
done
# Debian ships stripped binaries; Go keeps its build info in its own
# section, so `go version -m` still works on them.
for f in "$stage"/usr/bin/* "$stage"/usr/lib/wigo/plugins/*; do
	[ -f "$f" ] || continue
	if file -b "$f" 2>/dev/null | grep -q ELF || head -c 4 "$f" | grep -q ELF; then
		strip --strip-unneeded --remove-section=.comment --remove-section=.note "$f"
	fi
done

# Probes.
install -d "$stage/usr/lib/wigo/probes/examples"
for f in $(tracked probes/examples); do
	[ -f "$f" ] || continue
	install -m 0755 "$f" "$stage/usr/lib/wigo/probes/examples/"
done
# The probe library (cmd/wigo-probes, one binary that is every probe by
# the name it is run as): a link per probe, relative so that it resolves in
# any root. An example script of the same name is kept instead.
for name in $("$BIN/wigo-probes" -list); do
	[ -e "$stage/usr/lib/wigo/probes/examples/$name" ] && continue
	ln -s ../../../../bin/wigo-probes "$stage/usr/lib/wigo/probes/examples/$name"
done
install -d "$stage/etc/wigo/probes"
ln -s /usr/lib/wigo/probes/examples "$stage/etc/wigo/probes/examples"
install -d "$stage/usr/share/wigo"
{
	echo "# Probe links seeded into /etc/wigo/probes on first install only."
	{
		for l in $(tracked probes | grep '^probes/[0-9][0-9]*/'); do
			[ -L "$l" ] || continue
			interval=$(basename "$(dirname "$l")")
			echo "$interval/$(basename "$l")"
		done
		# The library's probes that apply to any host: one without its
		# subject exits 13 on its first run and is dropped.
		grep -v '^#' probes/default.list | grep .
	} | awk '!seen[$0]++'
} > "$stage/usr/share/wigo/default-probes"

# Configuration. The shipped wigo.hcl is etc/wigo.hcl with the package's
# paths; the substitution must hit, or the package would point the daemon at
# directories it does not ship.
install -d "$stage/etc/wigo/wigo.d" "$stage/etc/wigo/conf.d"
sed -e 's#^probes_dir *= *".*"#probes_dir = "/etc/wigo/probes"#' \
	-e 's#^plugins_dir *= *".*"#plugins_dir = "/usr/lib/wigo/plugins"#' \
	etc/wigo.hcl > "$stage/etc/wigo/wigo.hcl"
grep -q '^probes_dir = "/etc/wigo/probes"$' "$stage/etc/wigo/wigo.hcl" &&
	grep -q '^plugins_dir = "/usr/lib/wigo/plugins"$' "$stage/etc/wigo/wigo.hcl" ||
	{ echo "build-deb: could not set probes_dir/plugins_dir in etc/wigo.hcl" >&2; exit 1; }
chmod 0644 "$stage/etc/wigo/wigo.hcl"
for f in $(tracked etc/wigo.d); do
	[ -f "$f" ] && install -m 0644 "$f" "$stage/etc/wigo/wigo.d/"
done
for f in $(tracked etc/conf.d | grep '\.conf$'); do
	[ -f "$f" ] && install -m 0644 "$f" "$stage/etc/wigo/conf.d/"
done

# systemd.
install -D -m 0644 "$here/wigo.service" "$stage/lib/systemd/system/wigo.service"

# Documentation.
doc="$stage/usr/share/doc/wigo"
install -d "$doc"
install -m 0644 "$here/debian/copyright" "$doc/copyright"
install -m 0644 README.md "$doc/README.md"
[ -f docs/operators.md ] && install -m 0644 docs/operators.md "$doc/operators.md"
# A native package's changelog: one entry for the version being built.
{
	echo "wigo ($debver) unstable; urgency=medium"
	echo
	echo "  * Built from the source tree, version $VERSION."
	echo
	echo " -- $MAINTAINER  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")"
} > "$doc/changelog"
gzip -9n "$doc/changelog"

# Control area.
install -d -m 0755 "$stage/DEBIAN"
for s in postinst prerm postrm; do
	install -m 0755 "$here/debian/$s" "$stage/DEBIAN/$s"
done
(cd "$stage" && find etc -type f | sort | sed 's#^#/#') > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: wigo
Version: $debver
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $size
Depends: libc6 (>= 2.34), adduser
Section: admin
Priority: optional
Homepage: https://github.com/wigo-project/wigo
Description: light host-monitoring daemon (What Is Going On)
 Wigo runs probes (executables in any language printing one JSON object)
 at fixed intervals, aggregates their status and serves it over an HTTP API
 compatible with the original Wigo, with a live web dashboard. A master
 gathers many hosts by pull or push, keeps a searchable log of status
 changes in SQLite and sends notifications through plugins (HTTP, email,
 Apprise) and metrics to OpenTSDB.
CONTROL
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\./##' | sort | xargs md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

mkdir -p "$OUT"
deb="$OUT/wigo_${debver}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
