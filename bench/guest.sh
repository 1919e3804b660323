#!/bin/sh
# make bench, inside the 6.1 guest (bench/run.sh boots it): goipvsadm
# against ipvsadm with benchrun, then our library against moby/ipvs with
# libcompare. BENCH_SMALL=1: small tables; BENCH_ARGS: more benchrun flags;
# BENCH_LIB=0: skip libcompare.
set -u
small=
[ "${BENCH_SMALL:-}" = 1 ] && small=-small
echo "bench: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
rc=0
# shellcheck disable=SC2086
/usr/local/bin/benchrun $small ${BENCH_ARGS:-} || rc=$?
if [ "${BENCH_LIB:-1}" = 1 ] && [ -x /usr/local/bin/libcompare ]; then
	/usr/sbin/ipvsadm -C 2>/dev/null
	# shellcheck disable=SC2086
	/usr/local/bin/libcompare $small || { r=$?; [ "$rc" -ne 0 ] || rc=$r; }
fi
exit "$rc"
