#!/bin/sh
# chroot-test.sh [CHROOT]
#
# Installs, upgrades and purges the build machine's .deb with the real dpkg,
# adduser and deb-systemd-helper of a minimal Debian 12 made by debootstrap,
# and verifies the installed unit with that system's systemd-analyze. Run as
# root from the top of the tree (`make package-chroot-test`); needs
# debootstrap and a Debian mirror the first time. CHROOT (default
# /var/tmp/wigo-chroot) is created when missing and reused afterwards; the
# package is purged at the end, so a rerun starts from a system without it.
set -eu

CHROOT=${1:-/var/tmp/wigo-chroot}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
fail() { echo "chroot-test: FAIL: $*" >&2; exit 1; }
in_root() { chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

[ "$(id -u)" = 0 ] || fail "run as root (chroot, dpkg)"
if [ ! -x "$CHROOT/usr/bin/dpkg" ]; then
	debootstrap --variant=minbase --include=adduser,procps,systemd bookworm "$CHROOT" "$MIRROR"
fi

work=$(mktemp -d)
trap 'rm -rf "$work" "$CHROOT/tmp/wigo-debs"' EXIT
arch=$(dpkg --print-architecture)
for v in 1.0.0 1.0.1; do
	make --no-print-directory packages PKG_ARCHS="$arch" PKG_FORMATS=deb VERSION=$v DIST="$work" >/dev/null
done
mkdir -p "$CHROOT/tmp/wigo-debs"
cp "$work"/wigo_*.deb "$CHROOT/tmp/wigo-debs/"

echo "== install 1.0.0"
in_root dpkg -i /tmp/wigo-debs/wigo_1.0.0_"$arch".deb
in_root getent passwd wigo >/dev/null || fail "no wigo user"
[ "$(in_root stat -c '%U:%G %a' /var/lib/wigo)" = "wigo:wigo 750" ] || fail "/var/lib/wigo: $(in_root stat -c '%U:%G %a' /var/lib/wigo)"
[ "$(readlink "$CHROOT/etc/wigo/probes/60/uptime")" = ../examples/uptime ] || fail "60/uptime not seeded"
in_root test -x /etc/wigo/probes/60/check_readonly_filesystem || fail "library probe link does not resolve"
[ "$(in_root systemctl is-enabled wigo.service)" = enabled ] || fail "wigo.service not enabled"
out=$(in_root systemd-analyze verify --man=no /lib/systemd/system/wigo.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
in_root wigo -c /etc/wigo/wigo.hcl -check
in_root wigo -version

echo "== the operator edits wigo.hcl, disables a probe; upgrade to 1.0.1"
echo '# edited by the operator' >> "$CHROOT/etc/wigo/wigo.hcl"
rm "$CHROOT/etc/wigo/probes/60/uptime"
in_root systemctl disable wigo.service
in_root dpkg -i --force-confold /tmp/wigo-debs/wigo_1.0.1_"$arch".deb
[ "$(in_root dpkg-query -W -f '${Version}' wigo)" = 1.0.1 ] || fail "not upgraded"
tail -n 1 "$CHROOT/etc/wigo/wigo.hcl" | grep -q 'edited by the operator' || fail "upgrade replaced the edited wigo.hcl"
[ ! -e "$CHROOT/etc/wigo/probes/60/uptime" ] || fail "upgrade re-created the disabled probe"
[ -L "$CHROOT/etc/wigo/probes/60/hardware_memory" ] || fail "upgrade lost a probe link"
[ "$(in_root systemctl is-enabled wigo.service || true)" = disabled ] || fail "upgrade re-enabled the service"
in_root wigo -version

echo "== purge"
in_root dpkg --purge wigo
[ ! -e "$CHROOT/var/lib/wigo" ] || fail "purge left /var/lib/wigo"
[ ! -e "$CHROOT/etc/wigo" ] || fail "purge left /etc/wigo: $(find "$CHROOT/etc/wigo")"
[ ! -e "$CHROOT/etc/systemd/system/multi-user.target.wants/wigo.service" ] || fail "purge left the enable link"
in_root getent passwd wigo >/dev/null || fail "purge removed the wigo user (policy: keep it)"
echo "chroot-test: OK (install, upgrade, purge in $CHROOT)"
