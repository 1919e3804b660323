#!/bin/bash
# image.sh OUTDIR DEB... makes the boot test's two disk images from the
# cached root file system (rootfs.sh) and the current tree:
#
#   OUTDIR/deb.img      the packages DEB... installed with dpkg -i
#   OUTDIR/install.img  goipvsadm installed with make install (PREFIX=/usr/local)
#
# Both get e2e/boot/guest/ (the checks, settings, a dummy interface for
# systemd-networkd), goipvsadm.service enabled, and are ext4 file systems
# made with mke2fs -d (no loop mount). Needs root (chroot, file owners).
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/../.."
CACHE=${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goipvsadm-e2e}
ROOTFS=$CACHE/boot/rootfs
MAKE=${MAKE:-make}
GO=${GO:-go}

log() { printf 'e2e-boot-image: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# Units a test machine does without: logins on the console it prints the
# checks on, timers, and Debian ipvsadm's init script, which an operator
# running goipvsadm.service masks (README.Debian).
MASK=(serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer
	dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer ipvsadm.service)

# tree DIR: a copy of the root file system with the test's files.
tree() {
	local dir=$1
	rm -rf "$dir"
	cp -a "$ROOTFS" "$dir"
	cp -a e2e/boot/guest/. "$dir/"
	systemctl --root="$dir" --quiet mask "${MASK[@]}"
	systemctl --root="$dir" --quiet enable systemd-networkd.service systemd-networkd-wait-online.service
}

# disk DIR IMAGE: an ext4 image of DIR, 1 GiB, sparse.
disk() {
	rm -f "$2"
	mke2fs -q -F -t ext4 -L root -d "$1" "$2" 1G
	rm -rf "$1"
}

deb_image() {
	local dir=$OUT/deb.tree deb names=()
	tree "$dir"
	for deb in "${DEBS[@]}"; do
		cp "$deb" "$dir/tmp/"
		names+=("/tmp/$(basename "$deb")")
	done
	chroot "$dir" dpkg -i "${names[@]}" >&2
	for deb in "${names[@]}"; do rm -f "$dir$deb"; done
	systemctl --root="$dir" --quiet enable goipvsadm.service
	disk "$dir" "$OUT/deb.img"
}

install_image() {
	local dir=$OUT/install.tree
	tree "$dir"
	"$MAKE" --no-print-directory -s install DESTDIR="$dir" GO="$GO"
	systemctl --root="$dir" --quiet enable goipvsadm.service
	disk "$dir" "$OUT/install.img"
}

main() {
	[ $# -ge 2 ] || die "usage: image.sh OUTDIR DEB..."
	[ "$(id -u)" = 0 ] || die "needs root"
	[ -x "$ROOTFS/usr/lib/systemd/systemd" ] || die "no root file system in $ROOTFS (run e2e/boot/rootfs.sh)"
	OUT=$1
	shift
	DEBS=("$@")
	mkdir -p "$OUT"
	deb_image
	install_image
	log "$OUT/deb.img, $OUT/install.img"
}

main "$@"
