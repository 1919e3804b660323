#!/bin/bash
# build.sh (make deb) builds two Debian packages with dpkg-deb into $DEB_OUT:
#
#   goipvsadm_<version>_<arch>.deb      goipvsadm, the boot helper, the units
#                                       (not enabled), man page, completion
#   goipvsadm-ipvsadm_<version>_all.deb goipvsadm as ipvsadm, ipvsadm-save and
#                                       ipvsadm-restore, by update-alternatives
#
# The files come from "make install" (PREFIX=/usr, units in /lib/systemd/system
# as Debian 12 keeps them), then lintian checks them: any tag, even
# informational or pedantic, fails the build (the ones that remain are
# explained in packaging/deb/*/lintian-overrides).
# Environment: GO, MAKE, DEB_OUT (default build/deb), DEB_VERSION (default
# 0~git<commit date>.<commit>), DEB_MAINTAINER, GOARCH, DEB_LINT=no (no lintian).
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/../.."
GO=${GO:-go}
MAKE=${MAKE:-make}
OUT=${DEB_OUT:-build/deb}
HERE=packaging/deb
MAINTAINER=${DEB_MAINTAINER:-goipvsadm maintainers <maintainers@users.noreply.h-seed-2327b2f6.example>}

log() { printf 'make deb: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# deb_version: 0~git<YYYYMMDD>.<commit>, a native version that sorts by
# commit date (and below any 0.x release).
deb_version() {
	if [ -n "${DEB_VERSION:-}" ]; then
		echo "$DEB_VERSION"
		return
	fi
	git rev-parse --git-dir >/dev/null 2>&1 || die "not a git checkout: set DEB_VERSION"
	echo "0~git$(git log -1 --date=format:%Y%m%d --format=%cd).$(git rev-parse --short=12 HEAD)"
}

# deb_arch maps GOARCH to Debian's architecture name.
deb_arch() {
	case $("$GO" env GOARCH) in
	amd64) echo amd64 ;;
	arm64) echo arm64 ;;
	386) echo i386 ;;
	arm) echo armhf ;;
	ppc64le) echo ppc64el ;;
	riscv64) echo riscv64 ;;
	s390x) echo s390x ;;
	*) die "no Debian architecture for GOARCH=$("$GO" env GOARCH)" ;;
	esac
}

# docs ROOT PACKAGE installs copyright, the changelog and README.Debian.
docs() {
	local doc=$1/usr/share/doc/$2
	install -d "$doc"
	install -m 644 "$HERE/copyright" "$doc/copyright"
	install -m 644 "$HERE/README.Debian" "$doc/README.Debian"
	changelog "$2" | gzip -9n >"$doc/changelog.gz"
	chmod 644 "$doc/changelog.gz"
}

# changelog PACKAGE writes a Debian changelog entry for this build.
changelog() {
	local date commit
	date=$(date -R -d "@${SOURCE_DATE_EPOCH}")
	commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
	printf '%s (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
		"$1" "$VERSION" "$commit" "$MAINTAINER" "$date"
}

# maintscripts ROOT PACKAGE copies the package's maintainer scripts.
maintscripts() {
	local f
	for f in postinst prerm postrm; do
		[ -f "$HERE/$2/$f" ] && install -m 755 "$HERE/$2/$f" "$1/DEBIAN/$f"
	done
	if [ -f "$HERE/$2/lintian-overrides" ]; then
		install -D -m 644 "$HERE/$2/lintian-overrides" "$1/usr/share/lintian/overrides/$2"
	fi
	return 0
}

# control ROOT FIELDS... writes DEBIAN/control with Installed-Size and md5sums.
control() {
	local root=$1
	shift
	local size
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	{
		printf '%s\n' "$@"
		printf 'Installed-Size: %s\n' "$size"
	} >"$root/DEBIAN/control"
	(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
	if [ -f "$root/etc/default/goipvsadm" ]; then
		echo /etc/default/goipvsadm >"$root/DEBIAN/conffiles"
	fi
	chmod 644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control"
}

# pack ROOT writes the package into OUT and prints its path.
pack() {
	local root=$1 name
	# dpkg-deb takes the data's modification times from the tree.
	find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	name=$(dpkg-deb --root-owner-group -Zxz --build "$root" "$OUT" | sed -n "s/.* in '\(.*\)'\.$/\1/p")
	[ -n "$name" ] || die "dpkg-deb did not say what it built"
	echo "$name"
}

build_main() {
	local root=$1
	"$MAKE" --no-print-directory -s install DESTDIR="$root" PREFIX=/usr \
		SYSTEMDUNITDIR=/lib/systemd/system GO="$GO" GOIPVSADM_BIN="${GOIPVSADM_BIN:-}"
	# As dh_strip does: no debugging symbols in the package.
	strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/sbin/goipvsadm"
	gzip -9n "$root/usr/share/man/man8/goipvsadm.8"
	install -D -m 644 packaging/goipvsadm.default "$root/etc/default/goipvsadm"
	install -d "$root/DEBIAN"
	docs "$root" goipvsadm
	maintscripts "$root" goipvsadm
	control "$root" "Package: goipvsadm" "Version: $VERSION" "Architecture: $ARCH" \
		"Maintainer: $MAINTAINER" "Section: net" "Priority: optional" \
		"Recommends: kmod" "Suggests: goipvsadm-ipvsadm, keepalived" \
		"Description: Linux Virtual Server administration, compatible with ipvsadm" \
		" goipvsadm manages the Linux kernel's IP Virtual Server (IPVS) table," \
		" the layer-4 load balancer. It takes ipvsadm 1.31's options, prints the" \
		" same output and reads and writes the same rules files, and adds" \
		" all-or-nothing restores, in-place synchronisation with a rules file" \
		" and JSON listings." \
		" ." \
		" The package includes a systemd service that restores the table at boot" \
		" (not enabled by default) and one for the connection synchronisation" \
		" daemons."
}

build_alternatives() {
	local root=$1
	install -d "$root/DEBIAN"
	docs "$root" goipvsadm-ipvsadm
	maintscripts "$root" goipvsadm-ipvsadm
	control "$root" "Package: goipvsadm-ipvsadm" "Version: $VERSION" "Architecture: all" \
		"Maintainer: $MAINTAINER" "Section: net" "Priority: optional" \
		"Depends: goipvsadm (= $VERSION)" \
		"Description: goipvsadm as ipvsadm, ipvsadm-save and ipvsadm-restore" \
		" This package registers goipvsadm as the ipvsadm, ipvsadm-save and" \
		" ipvsadm-restore commands with update-alternatives. It never replaces" \
		" a file of Debian's ipvsadm package: while that package is installed" \
		" its commands stay in place." \
		" ." \
		" Apart from its documentation this is an empty package: its maintainer" \
		" scripts do the work."
}

main() {
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg-dev)"
	VERSION=$(deb_version)
	ARCH=$(deb_arch)
	SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
	export SOURCE_DATE_EPOCH
	mkdir -p "$OUT"
	# Only this build's packages in OUT: make e2e-boot installs OUT/*.deb.
	rm -f "$OUT"/goipvsadm_*.deb "$OUT"/goipvsadm-ipvsadm_*.deb
	local tmp
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	umask 022
	build_main "$tmp/goipvsadm"
	build_alternatives "$tmp/goipvsadm-ipvsadm"
	local debs
	debs=("$(pack "$tmp/goipvsadm")" "$(pack "$tmp/goipvsadm-ipvsadm")")
	printf '%s\n' "${debs[@]}"
	[ "${DEB_LINT:-yes}" = no ] && return
	command -v lintian >/dev/null || die "lintian not found (apt-get install lintian, or DEB_LINT=no)"
	local out rc=0
	out=$(lintian --fail-on error,warning,info,pedantic -I --pedantic "${debs[@]}" 2>&1) || rc=$?
	# lintian warns when run as root; that is not about the packages.
	out=$(grep -v '^running with root privileges is not recommended!$' <<<"$out") || true
	[ -z "$out" ] || printf '%s\n' "$out"
	if [ "$rc" != 0 ] || [ -n "$out" ]; then die "lintian found problems"; fi
	log "lintian: clean"
}

main "$@"
