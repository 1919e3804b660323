#!/bin/bash
# build-payload.sh OUT PKG... compiles the e2e tests of the given packages
# (Go patterns such as ./ipvs/...) and goipvsadm for the guest, into a tree
# copied over the guest's root:
#
#   OUT/e2e/tests.list                 "<import path> <dir> <binary>" per package
#   OUT/e2e/src/<dir>/<pkg>.test       test binary, beside a copy of testdata/
#   OUT/usr/local/sbin/goipvsadm       if ./cmd/goipvsadm exists
#
# <dir> is the package directory relative to the module root. Packages
# without a test file constrained to the e2e build tag are skipped.
set -euo pipefail
shopt -s inherit_errexit

[ $# -ge 1 ] || { echo "usage: $0 OUT [PKG...]" >&2; exit 2; }
out=$1
shift
log() { printf 'e2e-payload: %s\n' "$*" >&2; }

export CGO_ENABLED=0
moddir=$(go list -m -f '{{.Dir}}')
rm -rf "$out"
mkdir -p "$out/e2e/src"
: >"$out/e2e/tests.list"

if [ $# -gt 0 ]; then
	# -e: a pattern matching nothing yet is not an error.
	go list -e -tags e2e -f '{{.ImportPath}}|{{.Dir}}|{{.Name}}|{{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' "$@" |
		while IFS='|' read -r pkg dir name files; do
			has_e2e=
			for f in $files; do
				if grep -qE '^//go:build .*\be2e\b' "$dir/$f"; then has_e2e=1; break; fi
			done
			if [ -z "$has_e2e" ]; then
				log "skip $pkg (no e2e tests)"
				continue
			fi
			rel=${dir#"$moddir"}
			rel=${rel#/}
			[ -n "$rel" ] || rel=.
			bin=$(basename "$dir").test
			log "build $pkg"
			mkdir -p "$out/e2e/src/$rel"
			go test -c -tags e2e -o "$out/e2e/src/$rel/$bin" "$pkg"
			if [ -d "$dir/testdata" ]; then
				cp -a "$dir/testdata" "$out/e2e/src/$rel/"
			fi
			printf '%s %s %s\n' "$pkg" "$rel" "$bin" >>"$out/e2e/tests.list"
		done
fi

# The fork server that lets the random differential test run Debian's
# ipvsadm thousands of times (see e2e/zygote/zygote.c). The guest has
# Debian 12's glibc, as this host (or CI) has.
if grep -q ' cmd/goipvsadm ' "$out/e2e/tests.list"; then
	if command -v cc >/dev/null; then
		log "build ipvsadm-zygote.so"
		mkdir -p "$out/usr/local/lib/goipvsadm-e2e"
		cc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$out/usr/local/lib/goipvsadm-e2e/ipvsadm-zygote.so" \
			"$moddir/e2e/zygote/zygote.c" -ldl
	else
		log "no C compiler: the random differential test runs ipvsadm as one process per case (slow)"
	fi
fi

if [ -d "$moddir/cmd/goipvsadm" ] && go list ./cmd/goipvsadm >/dev/null 2>&1; then
	log "build goipvsadm"
	mkdir -p "$out/usr/local/sbin"
	go build -o "$out/usr/local/sbin/goipvsadm" ./cmd/goipvsadm
else
	log "no ./cmd/goipvsadm yet: the guest has no goipvsadm"
fi
