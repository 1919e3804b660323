#!/bin/bash
# build-moby-tests.sh OUT VERSION compiles moby/ipvs's own tests
# (ipvs_linux_test.go of github.com/moby/ipvs at VERSION, fetched through the
# Go module proxy) against ./moby/ipvs, the package with its API, and adds
# the binary to the e2e payload OUT made by build-payload.sh:
#
#   OUT/e2e/src/moby/ipvs/ipvs-upstream.test
#
# The test file is laid into moby/ipvs/ at build time with -overlay (our own
# tests there are left out) and never copied into the repository. Its
# unexported helpers come from moby/ipvs/upstream_shims_test.go (build tag
# mobyupstream), its github.com/moby/ipvs/ns import from e2e/mobyupstream/,
# and the modules it needs besides ours (vishvananda/netlink and netns, at
# the versions moby/ipvs requires) from a temporary go.mod (-modfile).
set -euo pipefail
shopt -s inherit_errexit

[ $# -eq 2 ] || { echo "usage: $0 OUT VERSION" >&2; exit 2; }
out=$1
version=$2
log() { printf 'e2e-payload: %s\n' "$*" >&2; }

export CGO_ENABLED=0
moddir=$(go list -m -f '{{.Dir}}')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "fetch github.com/moby/ipvs@$version"
src=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "github.com/moby/ipvs@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -f "$src/ipvs_linux_test.go" ] || { echo "$0: no ipvs_linux_test.go in github.com/moby/ipvs@$version" >&2; exit 1; }

cp "$moddir/go.mod" "$tmp/go.mod"
cp "$moddir/go.sum" "$tmp/go.sum"
go mod edit -modfile="$tmp/go.mod" -require="github.com/moby/ipvs@$version" \
	-replace="github.com/moby/ipvs=$moddir/e2e/mobyupstream"
go get -modfile="$tmp/go.mod" github.com/vishvananda/netlink@v1.1.0 github.com/vishvananda/netns@v0.0.2

{
	printf '{"Replace": {\n'
	printf '\t"%s": "%s"' "$moddir/moby/ipvs/ipvs_linux_test.go" "$src/ipvs_linux_test.go"
	for f in "$moddir"/moby/ipvs/*_test.go; do
		case $f in */upstream_shims_test.go) continue ;; esac
		printf ',\n\t"%s": ""' "$f"
	done
	printf '\n}}\n'
} >"$tmp/overlay.json"

log "build github.com/moby/ipvs@$version tests against ./moby/ipvs"
mkdir -p "$out/e2e/src/moby/ipvs"
go test -c -tags mobyupstream -modfile="$tmp/go.mod" -overlay="$tmp/overlay.json" \
	-o "$out/e2e/src/moby/ipvs/ipvs-upstream.test" ./moby/ipvs
printf '%s %s %s\n' "github.com/moby/ipvs@$version" moby/ipvs ipvs-upstream.test >>"$out/e2e/tests.list"
