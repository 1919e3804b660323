#!/bin/sh
# Does the order of the destination dumps change what a listing of many
# services costs the kernel? Each destination dump looks its service up in
# the kernel's service hash table (256 buckets); ipvsadm and goipvsadm
# dump in ipvsadm's sort order, the service dump (and --nosort) come in the
# table's own order. In the 6.1 guest, 100,000 services with LIST_DESTS
# destinations each (default 0) are loaded once after a module reload,
# then listed alternately ROUNDS times (default 3) by the floor
# (ipvsprof -op rawlist, both orders) and goipvsadm (-Ln, -Ln --nosort,
# -Sn); see bench/README.md.
set -u
echo "guest: $(uname -r), $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
spec=100000x${LIST_DESTS:-0}
/usr/local/bin/benchrun -gen "$spec" >/tmp/rules || exit 1
echo "rules $spec: $(wc -l </tmp/rules) lines"
# A fresh module: no earlier table, no deleted destinations.
/usr/local/sbin/goipvsadm -C 2>/dev/null
# shellcheck disable=SC2046
rmmod $(awk '/^ip_vs_/ {print $1}' /proc/modules) 2>/dev/null
rmmod ip_vs 2>/dev/null
modprobe ip_vs || exit 1
/usr/local/sbin/goipvsadm -R </tmp/rules || exit 1
echo "loaded: $(/usr/local/sbin/goipvsadm -Sn | wc -l) lines saved"
run() { # name command...
	name=$1
	shift
	printf "ORDER %-22s " "$name"
	{ /usr/local/bin/rusage "$@" >/dev/null; } 2>&1
}
round=1
while [ "$round" -le "${ROUNDS:-3}" ]; do
	echo "round $round"
	run "floor kernel order" /usr/local/bin/ipvsprof -op rawlist
	run "floor sorted" /usr/local/bin/ipvsprof -op rawlist -sorted
	run "goipvsadm -Ln --nosort" /usr/local/sbin/goipvsadm -Ln --nosort
	run "goipvsadm -Ln" /usr/local/sbin/goipvsadm -Ln
	run "goipvsadm -Sn" /usr/local/sbin/goipvsadm -Sn
	round=$((round + 1))
done
echo "guest: done"
