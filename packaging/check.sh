#!/bin/bash
# check.sh (make check-packaging): lints and tests packaging/ without a
# kernel. Needs shellcheck, groff (groff-base), systemd (systemd-analyze)
# and Go. Exits non-zero on the first failure.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
GO=${GO:-go}
MAKE=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() {
	echo "check-packaging: $*" >&2
	exit 1
}

step "shellcheck"
shellcheck -s sh packaging/goipvsadm-boot
shellcheck packaging/goipvsadm.bash packaging/check.sh
# make deb and make e2e-boot.
shellcheck -s sh packaging/deb/goipvsadm/postinst packaging/deb/goipvsadm/prerm \
	packaging/deb/goipvsadm/postrm packaging/deb/goipvsadm-ipvsadm/postinst packaging/deb/goipvsadm-ipvsadm/prerm
shellcheck packaging/deb/build.sh e2e/boot/rootfs.sh e2e/boot/image.sh \
	e2e/boot/guest/usr/local/lib/goipvsadm-e2e/check.sh

step "man page renders without warnings"
warnings=$(groff -man -ww -z packaging/goipvsadm.8 2>&1)
[ -z "$warnings" ] || fail "groff: $warnings"
if command -v man >/dev/null; then
	# man-db's own check (its preprocessors and line lengths).
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l packaging/goipvsadm.8 2>&1 >/dev/null)
	[ -z "$warnings" ] || fail "man: $warnings"
fi

step "make install into a DESTDIR"
dest=$tmp/dest
"$MAKE" --no-print-directory -s install DESTDIR="$dest" PREFIX=/usr IPVSADM_LINKS=1 GO="$GO"
(cd "$dest" && find . ! -type d -printf '%M %p %l\n' | sort -k2)
for f in usr/sbin/goipvsadm usr/libexec/goipvsadm/goipvsadm-boot \
	usr/lib/systemd/system/goipvsadm.service usr/lib/systemd/system/goipvsadm-sync.service \
	usr/share/man/man8/goipvsadm.8 usr/share/bash-completion/completions/goipvsadm \
	usr/share/doc/goipvsadm/goipvsadm.default; do
	[ -f "$dest/$f" ] || fail "make install did not install /$f"
done
for l in ipvsadm ipvsadm-save ipvsadm-restore; do
	[ "$(readlink "$dest/usr/sbin/$l")" = goipvsadm ] || fail "/usr/sbin/$l is not a link to goipvsadm"
done
[ -x "$dest/usr/libexec/goipvsadm/goipvsadm-boot" ] || fail "goipvsadm-boot is not executable"
! grep -rn '@[a-z]*dir@' "$dest/usr/lib/systemd/system" || fail "placeholders left in the units"
grep -qx 'ExecStart=/usr/libexec/goipvsadm/goipvsadm-boot start-rules' \
	"$dest/usr/lib/systemd/system/goipvsadm.service" || fail "goipvsadm.service: wrong ExecStart"
grep -qx 'Environment=GOIPVSADM=/usr/sbin/goipvsadm' \
	"$dest/usr/lib/systemd/system/goipvsadm.service" || fail "goipvsadm.service: wrong GOIPVSADM"
"$dest/usr/sbin/goipvsadm" -v | grep -q 'ipvsadm v1.31' || fail "the installed goipvsadm does not run"
# Debian's ipvsadm-save answers an unknown option with its usage, status 1.
out=$("$dest/usr/sbin/ipvsadm-save" -x 2>&1) && fail "ipvsadm-save -x succeeded"
[[ $out == "ipvsadm-save: Script to save"* ]] || fail "ipvsadm-save link does not act as ipvsadm-save: $out"

step "make install refuses to replace an ipvsadm that is not ours"
dest2=$tmp/dest2
mkdir -p "$dest2/usr/sbin"
echo real >"$dest2/usr/sbin/ipvsadm"
if "$MAKE" --no-print-directory -s install DESTDIR="$dest2" PREFIX=/usr IPVSADM_LINKS=1 \
	GOIPVSADM_BIN="$dest/usr/sbin/goipvsadm" 2>"$tmp/err"; then
	fail "make install replaced a foreign /usr/sbin/ipvsadm"
fi
grep -q 'is not a link to goipvsadm' "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
[ "$(cat "$dest2/usr/sbin/ipvsadm")" = real ] || fail "foreign /usr/sbin/ipvsadm changed"

step "make uninstall leaves no file"
"$MAKE" --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr
left=$(cd "$dest" && find . ! -type d)
[ -z "$left" ] || fail "left after uninstall: $left"

step "systemd-analyze verify (units installed with real paths)"
root=$tmp/root
"$MAKE" --no-print-directory -s install PREFIX="$root" GOIPVSADM_BIN="$dest2/usr/sbin/goipvsadm"
# Documentation=man:goipvsadm(8) is checked too: find the installed page.
out=$(MANPATH="$root/share/man:" SYSTEMD_LOG_LEVEL=notice systemd-analyze verify \
	"$root/lib/systemd/system/goipvsadm.service" "$root/lib/systemd/system/goipvsadm-sync.service" 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
echo "ok"

step "bash completion"
bash packaging/completion-test.bash packaging/goipvsadm.bash

step "boot helper (host tests with a fake goipvsadm)"
"$GO" test -count=1 ./e2e/servicetest/

echo
echo "check-packaging: all good"
