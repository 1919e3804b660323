#!/bin/bash
# fetch.sh prepares everything the e2e guest needs, from Debian packages only,
# in a cache outside the repository:
#
#   $E2E_CACHE/debs/                 downloaded .deb files (apt-get download)
#   $E2E_CACHE/rootfs/               guest userland: busybox, ipvsadm, ip, libs
#   $E2E_CACHE/kernels/<name>/       vmlinuz, release, package, modules/lib/modules/<release>/
#
# Usage: e2e/fetch.sh [KERNEL...]   (KERNEL is 6.1 or 6.12; default both)
#
# Work is skipped when its result is already in the cache for the same package
# versions, so a second run only asks the local apt cache what is current.
set -euo pipefail
shopt -s inherit_errexit

CACHE=${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goipvsadm-e2e}
KERNELS=("$@")
[ ${#KERNELS[@]} -gt 0 ] || KERNELS=(6.1 6.12)

# The reference ipvsadm the project is compared against.
IPVSADM_VERSION=1:1.31-1+b1
KERNEL_6_1_PACKAGE=linux-image-6.1.0-56-cloud-amd64

# Modules the guest needs; their dependencies are added from modules.dep.
# Every IPVS module (schedulers, persistence engines, helpers) is added too.
MODULE_SEEDS=(dummy veth ipip ip_gre ip6_tunnel ip6_gre)

log() { printf 'e2e-fetch: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in apt-get apt-cache dpkg-deb readelf depmod xz; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install qemu-system-x86 cpio xz-utils kmod binutils)"
done

mkdir -p "$CACHE/debs/.empty" "$CACHE/kernels"

# Prepared trees record the packages and this script's hash: editing the
# script rebuilds them.
SCRIPT_HASH=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)

# DEB maps a package name to the path of its .deb in the cache.
declare -A DEB

# fetch_debs PKG[=VERSION]... downloads the packages that are not cached yet
# and records their paths in DEB. apt is asked once for all of them: each
# apt-get call costs most of a second.
fetch_debs() {
	local uris
	# Run from an empty directory: apt-get prints nothing for a package
	# whose file is already in the current directory.
	uris=$(cd "$CACHE/debs/.empty" && apt-get download --print-uris "$@" 2>&1) ||
		die "apt cannot download $*: $uris (run apt-get update)"
	local missing=() url file size hash name
	while read -r url file size hash; do
		name=${file%%_*}
		DEB[$name]=$CACHE/debs/$file
		[ -s "$CACHE/debs/$file" ] || missing+=("$file")
	done <<<"$uris"
	local spec
	for spec in "$@"; do
		[ -n "${DEB[${spec%%=*}]:-}" ] || die "apt does not know $spec (run apt-get update)"
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	log "downloading ${missing[*]}"
	# Download into a scratch directory so an interrupted download never
	# looks like a cached package.
	local tmp
	tmp=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$@" >&2) || { rm -rf "$tmp"; die "apt-get download failed"; }
	for file in "${missing[@]}"; do
		mv "$tmp/$file" "$CACHE/debs/$file"
	done
	rm -rf "$tmp"
}

# newest_kernel_6_12 picks the newest 6.12 cloud kernel apt knows, by Debian
# version order, so the choice only depends on the apt lists.
newest_kernel_6_12() {
	local pkgs
	pkgs=$(apt-cache pkgnames linux-image-6.12. | grep -E '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$')
	[ -n "$pkgs" ] || return 0
	# One apt-cache call for all of them: "<pkg>:" then "  Candidate: <ver>".
	# shellcheck disable=SC2086
	apt-cache policy $pkgs |
		awk '/^[^ ]/ {pkg = $1; sub(/:$/, "", pkg)} /^  Candidate:/ {print $2, pkg}' |
		sort -V | tail -n 1 | awk '{print $2}'
}

# module_closure MODULES_DEP SEED... prints the modules.dep paths of the seeds
# and everything they depend on.
module_closure() {
	local dep=$1
	shift
	awk -v seeds="$*" '
		function name(path) { sub(/.*\//, "", path); sub(/\.ko(\.[a-z]+)?$/, "", path); gsub(/-/, "_", path); return path }
		BEGIN { n = split(seeds, s, " "); for (i = 1; i <= n; i++) { gsub(/-/, "_", s[i]); want[s[i]] = 1 } }
		{
			sub(/:$/, "", $1)
			m = name($1); path[m] = $1; ndeps[m] = NF - 1
			for (i = 2; i <= NF; i++) deps[m, i - 1] = name($i)
			if ($1 ~ /\/net\/netfilter\/ipvs\//) want[m] = 1
		}
		END {
			for (m in want) queue[++q] = m
			while (q > 0) {
				m = queue[q--]
				if (m in done) continue
				if (!(m in path)) { print "missing module " m > "/dev/stderr"; exit 1 }
				done[m] = 1; print path[m]
				for (i = 1; i <= ndeps[m]; i++) queue[++q] = deps[m, i]
			}
		}' "$dep" | sort
}

# prepare_kernel NAME PACKAGE extracts vmlinuz and the needed modules.
prepare_kernel() {
	local name=$1 pkg=$2 deb dir stamp
	fetch_debs "$pkg"
	deb=${DEB[$pkg]}
	dir=$CACHE/kernels/$name
	stamp="$(basename "$deb") $SCRIPT_HASH"
	if [ -s "$dir/vmlinuz" ] && [ "$(cat "$dir/package" 2>/dev/null)" = "$stamp" ]; then
		log "kernel $name: $stamp (cached)"
		return
	fi
	log "kernel $name: preparing $stamp"
	local tmp
	tmp=$(mktemp -d "$CACHE/kernels/.tmp.XXXXXX")
	dpkg-deb -x "$deb" "$tmp/x"
	local vmlinuz release
	vmlinuz=$(find "$tmp/x/boot" -name 'vmlinuz-*' | head -n 1)
	[ -n "$vmlinuz" ] || die "$pkg has no vmlinuz"
	release=${vmlinuz##*/vmlinuz-}
	local src=$tmp/x/lib/modules/$release dst=$tmp/out/modules/lib/modules/$release
	[ -d "$src" ] || die "$pkg has no lib/modules/$release"
	# Debian generates modules.dep at install time; do the same here to
	# learn the dependencies of the modules we want.
	[ -f "$src/modules.dep" ] || depmod -b "$tmp/x" "$release"
	mkdir -p "$dst"
	local mod
	for mod in $(module_closure "$src/modules.dep" "${MODULE_SEEDS[@]}"); do
		mkdir -p "$dst/$(dirname "$mod")"
		case $mod in
		*.ko.xz) xz -dc "$src/$mod" >"$dst/${mod%.xz}" ;;
		*.ko) cp "$src/$mod" "$dst/$mod" ;;
		*) die "unsupported module compression: $mod" ;;
		esac
	done
	cp "$src"/modules.order "$src"/modules.builtin "$src"/modules.builtin.modinfo "$dst"/ 2>/dev/null || true
	# Rebuild modules.dep for the decompressed subset: busybox modprobe
	# in the guest reads it to load schedulers on demand.
	depmod -b "$tmp/out/modules" "$release"
	cp "$vmlinuz" "$tmp/out/vmlinuz"
	printf '%s\n' "$release" >"$tmp/out/release"
	printf '%s\n' "$stamp" >"$tmp/out/package"
	rm -rf "$dir"
	mv "$tmp/out" "$dir"
	rm -rf "$tmp"
	log "kernel $name: $release, $(find "$dir/modules" -name '*.ko' | wc -l) modules"
}

# Userland packages. Their libraries come from the library packages they
# depend on (recursively); only the shared objects that readelf says are
# NEEDED end up in the guest.
USER_PACKAGES=(busybox-static "ipvsadm=$IPVSADM_VERSION" iproute2 netbase)

library_packages() {
	local opts=(--no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances)
	local direct
	direct=$(apt-cache depends "${opts[@]}" ipvsadm iproute2 | awk '/Depends: (lib|zlib)/{print $2}' | sort -u)
	# shellcheck disable=SC2086
	apt-cache depends --recurse "${opts[@]}" $direct | grep -E '^(lib|zlib)' | sort -u
}

# needed_sonames FILE... prints the NEEDED entries of ELF files.
needed_sonames() {
	local f
	for f in "$@"; do
		readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
	done | sort -u
}

is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }

prepare_rootfs() {
	local pkgs pkg debs=()
	pkgs=("${USER_PACKAGES[@]}" $(library_packages))
	fetch_debs "${pkgs[@]}"
	for pkg in "${pkgs[@]}"; do
		debs+=("${DEB[${pkg%%=*}]}")
	done
	local stamp
	stamp=$(for d in "${debs[@]}"; do basename "$d"; done | sort; echo "$SCRIPT_HASH")
	if [ -x "$CACHE/rootfs/usr/bin/busybox" ] && [ "$(cat "$CACHE/rootfs.stamp" 2>/dev/null)" = "$stamp" ]; then
		log "rootfs: cached"
		return
	fi
	log "rootfs: preparing from ${#debs[@]} packages"
	local tmp
	tmp=$(mktemp -d "$CACHE/.rootfs.XXXXXX")
	local x=$tmp/x root=$tmp/root
	mkdir -p "$x" "$root"
	local d
	for d in "${debs[@]}"; do
		dpkg-deb -x "$d" "$x/$(basename "$d" .deb)"
	done
	local bb=$x/$(basename "${DEB[busybox-static]}" .deb)
	local ipvsadm=$x/$(basename "${DEB[ipvsadm]}" .deb)
	local iproute2=$x/$(basename "${DEB[iproute2]}" .deb)
	local netbase=$x/$(basename "${DEB[netbase]}" .deb)

	# busybox and its applets, as symlinks at the paths busybox itself
	# names. The iproute2 files copied below replace busybox's "ip".
	install -D -m 0755 "$bb/bin/busybox" "$root/bin/busybox"
	local applet
	for applet in $("$root/bin/busybox" --list-full); do
		[ "$applet" = bin/busybox ] && continue
		mkdir -p "$root/$(dirname "$applet")"
		ln -sf /bin/busybox "$root/$applet"
	done

	# ipvsadm (only the binary) and iproute2 (binaries and config).
	local f
	while IFS= read -r f; do
		mkdir -p "$root/$(dirname "$f")"
		rm -f "${root:?}/$f"
		cp -a "$ipvsadm/$f" "$root/$f"
	done < <(cd "$ipvsadm" && find . \( -path './usr/share' -prune \) -o \( -type f -o -type l \) -print | grep -v '/etc/init.d\|/etc/default')
	while IFS= read -r f; do
		mkdir -p "$root/$(dirname "$f")"
		rm -f "${root:?}/$f"
		cp -a "$iproute2/$f" "$root/$f"
	done < <(cd "$iproute2" && find ./bin ./sbin ./usr/bin ./usr/sbin ./etc \( -type f -o -type l \) -print 2>/dev/null)
	install -D -m 0644 "$netbase/etc/services" "$root/etc/services"
	install -D -m 0644 "$netbase/etc/protocols" "$root/etc/protocols"

	# Shared libraries: follow NEEDED from every ELF file shipped so far,
	# finding each soname in the extracted library packages.
	local queue have=" " so path
	mapfile -t queue < <(find "$root" -type f -print | while read -r f; do is_elf "$f" && printf '%s\n' "$f"; done)
	local libdirs=()
	for d in "$x"/*/; do
		for sub in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64; do
			[ -d "$d$sub" ] && libdirs+=("$d$sub")
		done
	done
	while [ ${#queue[@]} -gt 0 ]; do
		local next=()
		for so in $(needed_sonames "${queue[@]}"); do
			case $have in *" $so "*) continue ;; esac
			have="$have$so "
			path=
			for d in "${libdirs[@]}"; do
				if [ -e "$d/$so" ]; then path=$d/$so; break; fi
			done
			[ -n "$path" ] || die "no package provides $so"
			# Keep the Debian path: strip the extraction prefix.
			local rel=${path#"$x"/*/}
			local real
			real=$(readlink -f "$path")
			mkdir -p "$root/$(dirname "$rel")"
			cp "$real" "$root/$(dirname "$rel")/$(basename "$real")"
			[ "$(basename "$real")" = "$so" ] || ln -sf "$(basename "$real")" "$root/$rel"
			next+=("$real")
		done
		queue=("${next[@]+"${next[@]}"}")
	done
	# The dynamic loader is named by path in every binary's PT_INTERP.
	local libc
	libc=$x/$(basename "${DEB[libc6]}" .deb)
	mkdir -p "$root/lib64" "$root/lib/x86_64-linux-gnu"
	cp "$(readlink -f "$libc/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")" "$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
	ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"

	# Lay the tree out as an installed Debian 12 does (merged /usr), so a
	# program is found at both of its usual paths: ipvsadm is packaged as
	# /sbin/ipvsadm and known as /usr/sbin/ipvsadm.
	for d in bin sbin lib lib64; do
		[ -d "$root/$d" ] || continue
		mkdir -p "$root/usr/$d"
		cp -a "$root/$d/." "$root/usr/$d/"
		rm -rf "${root:?}/$d"
		ln -s "usr/$d" "$root/$d"
	done

	rm -rf "$CACHE/rootfs"
	mv "$root" "$CACHE/rootfs"
	printf '%s\n' "$stamp" >"$CACHE/rootfs.stamp"
	rm -rf "$tmp"
	log "rootfs: $(du -sh "$CACHE/rootfs" | cut -f1), $(find "$CACHE/rootfs" -name '*.so*' | wc -l) shared objects"
}

for k in "${KERNELS[@]}"; do
	case $k in
	6.1) prepare_kernel 6.1 "$KERNEL_6_1_PACKAGE" ;;
	6.12)
		pkg=$(newest_kernel_6_12)
		[ -n "$pkg" ] || die "apt knows no linux-image-6.12.*+deb12-cloud-amd64-unsigned (run apt-get update)"
		log "kernel 6.12: newest is $pkg"
		prepare_kernel 6.12 "$pkg"
		;;
	*) die "unknown kernel $k (want 6.1 or 6.12)" ;;
	esac
done
prepare_rootfs
log "ready in $CACHE"
