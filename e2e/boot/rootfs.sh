#!/bin/bash
# rootfs.sh builds the root file system of the boot test (make e2e-boot): a
# small Debian 12 with systemd, udev and Debian's ipvsadm, from the Debian
# archive with mmdebstrap, plus the modules of the 6.1 kernel that fetch.sh
# downloaded. The tree is cached outside the repository:
#
#   $E2E_CACHE/boot/rootfs/        the tree (owned by root, as installed)
#   $E2E_CACHE/boot/rootfs.stamp   what it was built from
#
# It is rebuilt when this script, the package list or the kernel package
# change. Needs root (mmdebstrap's root mode), mmdebstrap and kmod; run
# e2e/fetch.sh 6.1 first.
set -euo pipefail
shopt -s inherit_errexit

CACHE=${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goipvsadm-e2e}
SUITE=bookworm
# What the boot checks use besides Essential: systemd as init (with
# systemd-networkd and systemd-analyze), udev for the devices, dbus for
# systemctl's and networkd's bus, kmod for modprobe, iproute2 for ip, and the
# reference ipvsadm (the same version as the e2e guests').
PACKAGES=(systemd systemd-sysv udev dbus kmod iproute2 "ipvsadm=1:1.31-1+b1")

log() { printf 'e2e-boot-rootfs: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# kernel_deb prints the 6.1 kernel package fetch.sh keeps in the cache.
kernel_deb() {
	local debs
	debs=$(find "$CACHE/debs" -maxdepth 1 -name 'linux-image-6.1.*-cloud-amd64_*.deb' | sort)
	[ -n "$debs" ] || die "no 6.1 kernel package in $CACHE/debs (run e2e/fetch.sh 6.1)"
	[ "$(wc -l <<<"$debs")" -eq 1 ] || die "more than one 6.1 kernel package in $CACHE/debs: $debs"
	printf '%s\n' "$debs"
}

# stamp KERNEL_DEB prints what the tree is built from.
stamp() {
	printf 'script %s\nsuite %s\npackages %s\nkernel %s\n' \
		"$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)" "$SUITE" "${PACKAGES[*]}" "$(basename "$1")"
}

# install_modules DEB ROOT puts the kernel's modules into ROOT/lib/modules,
# with modules.dep, as installing the kernel package would.
install_modules() {
	local deb=$1 root=$2 x release
	x=$(mktemp -d "$CACHE/boot/.kernel.XXXXXX")
	dpkg-deb -x "$deb" "$x"
	release=$(basename "$(find "$x/lib/modules" -mindepth 1 -maxdepth 1 -type d)")
	mkdir -p "$root/usr/lib/modules"
	cp -a "$x/lib/modules/$release" "$root/usr/lib/modules/"
	depmod -b "$root" "$release"
	rm -rf "$x"
	log "modules of $release installed"
}

build() {
	local deb=$1 tmp
	mkdir -p "$CACHE/boot"
	tmp=$(mktemp -d "$CACHE/boot/.rootfs.XXXXXX")
	local include
	include=$(
		IFS=,
		echo "${PACKAGES[*]}"
	)
	log "mmdebstrap $SUITE: ${PACKAGES[*]}"
	mmdebstrap --quiet --mode=root --variant=minbase --include="$include" \
		"$SUITE" "$tmp/root" </dev/null
	install_modules "$deb" "$tmp/root"
	rm -rf "$CACHE/boot/rootfs"
	mv "$tmp/root" "$CACHE/boot/rootfs"
	rmdir "$tmp"
}

main() {
	[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap --mode=root, files owned by root)"
	command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
	local deb want
	deb=$(kernel_deb)
	want=$(stamp "$deb")
	if [ -x "$CACHE/boot/rootfs/usr/lib/systemd/systemd" ] &&
		[ "$(cat "$CACHE/boot/rootfs.stamp" 2>/dev/null)" = "$want" ]; then
		log "cached"
		return
	fi
	local start=$SECONDS
	rm -f "$CACHE/boot/rootfs.stamp"
	build "$deb"
	printf '%s\n' "$want" >"$CACHE/boot/rootfs.stamp"
	log "built in $((SECONDS - start))s: $(du -sh "$CACHE/boot/rootfs" | cut -f1)"
}

main "$@"
