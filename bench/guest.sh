#!/bin/sh
# make bench, inside the 6.1 guest (bench/run.sh boots it): goipvsadm
# against ipvsadm with benchrun, then our library against moby/ipvs with
# libcompare (with moby's API on goipvsadm's package as a third contender) and
# the per-call floor of that API (ipvsprof -op replay -window 1).
# BENCH_SMALL=1: small tables; BENCH_ARGS: more benchrun flags;
# BENCH_LIB=0: skip libcompare; BENCH_LIB=only: skip benchrun. BENCH_PROFILE=1: only profile the ipvs
# library with ipvsprof and send the profiles to the host;
# BENCH_PROFILE=kernel: only time the kernel's side of listing.
set -u
small=
[ "${BENCH_SMALL:-}" = 1 ] && small=-small
echo "bench: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
reload_ipvs() {
	/usr/sbin/ipvsadm -C
	# shellcheck disable=SC2046
	rmmod $(awk '/^ip_vs_/ {print $1}' /proc/modules) 2>/dev/null
	rmmod ip_vs && modprobe ip_vs
}
if [ "${BENCH_PROFILE:-}" = kernel ]; then
	# The kernel's cost per request, in several shapes (ipvsprof -op kernelcost).
	for t in 10000x10 16000x1; do
		reload_ipvs
		/usr/local/bin/benchrun -gen $t >/tmp/rules
		/usr/local/sbin/goipvsadm -R </tmp/rules || exit 1
		echo "kernelcost: table $t"
		/usr/local/bin/ipvsprof -op kernelcost || exit 1
	done
	exit 0
fi
if [ "${BENCH_PROFILE:-}" = 1 ]; then
	# Profiles of the ipvs library on this kernel, sent to the host.
	mkdir -p /tmp/prof && cd /tmp/prof || exit 1
	for t in 10000x10 16000x1; do
		reload_ipvs
		/usr/local/bin/benchrun -gen $t >rules
		/usr/local/sbin/goipvsadm -R <rules || exit 1
		/usr/local/bin/ipvsprof -op save -n 3 -cpuprofile save-$t.pprof -memprofile save-$t.allocs.pprof || exit 1
	done
	reload_ipvs
	/usr/local/bin/ipvsprof -op apply -table 10000x10 -cpuprofile apply-10000x10.pprof || exit 1
	reload_ipvs
fi
if [ "${BENCH_PROFILE:-}" = 1 ] || [ "${BENCH_PROFILE:-}" = moby ]; then
	# moby's API on goipvsadm's package: one call per object.
	mkdir -p /tmp/prof && cd /tmp/prof || exit 1
	reload_ipvs
	/usr/local/bin/libcompare-compat -one 1 -services 10000 -dests 10 -cpuprofile moby-api-10000x10.pprof || exit 1
	# The same table one call per object through the native package, and
	# as pre-encoded requests, one per sendmsg (the per-call floor).
	reload_ipvs
	/usr/local/bin/ipvsprof -op apply -table 10000x10 >/dev/null &&
		/usr/local/bin/ipvsprof -op record -requests /tmp/calls.req >/dev/null || exit 1
	for round in 1 2; do
		reload_ipvs
		/usr/local/bin/ipvsprof -op replay -window 1 -requests /tmp/calls.req || exit 1
		reload_ipvs
		/usr/local/bin/ipvsprof -op calls -table 10000x10 || exit 1
		reload_ipvs
		GOGC=off /usr/local/bin/ipvsprof -op calls -table 10000x10 || exit 1
	done
	reload_ipvs
	for f in *.pprof; do
		echo "BENCH-FILE-BEGIN $f"
		base64 "$f"
		echo "BENCH-FILE-END"
	done
	exit 0
fi
rc=0
if [ "${BENCH_LIB:-1}" != only ]; then
	# shellcheck disable=SC2086
	/usr/local/bin/benchrun $small ${BENCH_ARGS:-} || rc=$?
fi
if [ "${BENCH_LIB:-1}" != 0 ] && [ -x /usr/local/bin/libcompare ]; then
	/usr/sbin/ipvsadm -C 2>/dev/null
	compat=
	[ -x /usr/local/bin/libcompare-compat ] && compat="-compat /usr/local/bin/libcompare-compat"
	# shellcheck disable=SC2086
	/usr/local/bin/libcompare $small $compat || { r=$?; [ "$rc" -ne 0 ] || rc=$r; }
	# The per-call floor of moby's API: libcompare's table as pre-encoded
	# requests from a program that does nothing else, one request per
	# sendmsg, each acknowledged, as moby's calls must be.
	n=10000
	[ -n "$small" ] && n=1000
	reload_ipvs
	/usr/local/bin/ipvsprof -op apply -table "${n}x10" >/dev/null &&
		/usr/local/bin/ipvsprof -op record -requests /tmp/libcompare.req >/dev/null || rc=1
	for round in 1 2 3; do
		reload_ipvs
		printf 'libcompare: per-call floor round %s: ' "$round"
		/usr/local/bin/ipvsprof -op replay -window 1 -requests /tmp/libcompare.req || rc=1
	done
	reload_ipvs
fi
exit "$rc"
