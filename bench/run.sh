#!/bin/bash
# make bench: builds goipvsadm, benchrun and libcompare for the e2e guest,
# boots Debian's 6.1 kernel under QEMU and runs bench/guest.sh there. The
# console is copied to standard output and to $BENCH_OUT/console.log; the
# result tables go to $BENCH_OUT/results.md. See bench/README.md.
#
# Environment: BENCH_SMALL=1 (small tables, no targets), BENCH_ARGS (more
# benchrun flags, e.g. "-rounds 5 -only -Sn"), BENCH_LIB=0 (no moby/ipvs
# comparison; =only: only that comparison, no benchrun), BENCH_PROFILE=1 (only CPU and allocation profiles of the ipvs
# library in the guest, written to $BENCH_OUT; =kernel: only ipvsprof -op
# kernelcost; =moby: only a CPU profile of moby's API on goipvsadm), BENCH_KERNEL (default 6.1),
# BENCH_MEM (MiB, default 2048), BENCH_SMP (virtual CPUs, default 1), BENCH_TIMEOUT (the guest's, default 90m),
# BENCH_BASELINE (a goipvsadm binary copied
# into the guest as /usr/local/sbin/goipvsadm-baseline, for A/B runs).
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
cache=${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goipvsadm-e2e}
export E2E_CACHE=$cache
payload=${BENCH_PAYLOAD:-$cache/bench-payload}
out=${BENCH_OUT:-$cache/bench}
kernel=${BENCH_KERNEL:-6.1}

e2e/fetch.sh "$kernel"
e2e/build-payload.sh "$payload"
echo "bench: build benchrun" >&2
CGO_ENABLED=0 go build -o "$payload/usr/local/bin/benchrun" ./e2e/cmd/benchrun
if [ "${BENCH_LIB:-1}" != 0 ]; then
	echo "bench: build libcompare (bench module, moby/ipvs, and moby's API on ./moby/ipvs)" >&2
	(cd bench && CGO_ENABLED=0 go build -o "$payload/usr/local/bin/libcompare" ./cmd/libcompare)
	(cd bench && CGO_ENABLED=0 go build -tags mobycompat -o "$payload/usr/local/bin/libcompare-compat" ./cmd/libcompare)
fi
(cd bench && CGO_ENABLED=0 go build -o "$payload/usr/local/bin/ipvsprof" ./cmd/ipvsprof)
if [ -n "${BENCH_BASELINE:-}" ]; then
	# Another goipvsadm build to compare with: BENCH_ARGS="-ipvsadm
	# /usr/local/sbin/goipvsadm-baseline" makes it the reference.
	install -m 755 "$BENCH_BASELINE" "$payload/usr/local/sbin/goipvsadm-baseline"
fi

mkdir -p "$out"
set +e
go run ./e2e/cmd/vmrun -kernel "$kernel" -m "${BENCH_MEM:-2048}" -smp "${BENCH_SMP:-1}" -timeout "${BENCH_TIMEOUT:-90m}" -idle 15m \
	-script bench/guest.sh -files "$payload" \
	-env "BENCH_SMALL=${BENCH_SMALL:-}" -env "BENCH_ARGS=${BENCH_ARGS:-}" -env "BENCH_LIB=${BENCH_LIB:-1}" \
	-env "BENCH_PROFILE=${BENCH_PROFILE:-}" |
	tee "$out/console.log"
rc=${PIPESTATUS[0]}
set -e
# The tables, without console markers.
awk '/BENCH-TABLE-BEGIN/ {on = 1; next} /BENCH-TABLE-END/ {on = 0; print ""; next} on' \
	"$out/console.log" >"$out/results.md"
# Profiles (BENCH_PROFILE=1 or moby), base64 between markers.
awk -v dir="$out" '
	/BENCH-FILE-BEGIN/ {f = dir "/" $2 ".b64"; printf "" >f; next}
	/BENCH-FILE-END/ {close(f); f = ""; next}
	f != "" {print >f}' "$out/console.log"
for b in "$out"/*.pprof.b64; do
	[ -e "$b" ] || continue
	base64 -d "$b" >"${b%.b64}" && rm "$b"
	echo "bench: profile ${b%.b64} (go tool pprof -top ${b%.b64})"
done
echo
echo "bench: results in $out/results.md (console: $out/console.log)"
cat "$out/results.md"
exit "$rc"
