#!/bin/sh
# Do listing times of 10,000x10 have slow modes, and does a setting of the
# guest pick them? In the 6.1 guest, the table is loaded once, then each
# setting runs N times (default 8) in turn: goipvsadm -Ln, the floor,
# ipvsadm -Ln, goipvsadm -Sn, and goipvsadm -Ln with ASLR off, with
# transparent huge pages off, with GOGC=off and after dropping the page
# cache; see bench/README.md, "Listing times drift with the host".
set -u
echo "guest: $(uname -r)"
/usr/local/bin/benchrun -gen 10000x10 >/tmp/rules || exit 1
/usr/sbin/ipvsadm -C
/usr/local/sbin/goipvsadm -R </tmp/rules || exit 1
N=${N:-8}
run() { # name command...
	name=$1
	shift
	i=0
	while [ "$i" -lt "$N" ]; do
		printf "MODE %-14s " "$name"
		{ /usr/local/bin/rusage "$@" >/dev/null; } 2>&1
		i=$((i + 1))
	done
}
run default /usr/local/sbin/goipvsadm -Ln
run floor /usr/local/bin/ipvsprof -op rawlist -sorted
run ipvsadm /usr/sbin/ipvsadm -Ln
run -Sn /usr/local/sbin/goipvsadm -Sn
echo 0 >/proc/sys/kernel/randomize_va_space
run noaslr /usr/local/sbin/goipvsadm -Ln
echo 2 >/proc/sys/kernel/randomize_va_space
thp=/sys/kernel/mm/transparent_hugepage/enabled
was=$(sed 's/.*\[\(.*\)\].*/\1/' "$thp")
echo never >"$thp"
run nothp /usr/local/sbin/goipvsadm -Ln
echo "$was" >"$thp"
export GOGC=off
run gcoff /usr/local/sbin/goipvsadm -Ln
unset GOGC
echo 3 >/proc/sys/vm/drop_caches
run dropcaches /usr/local/sbin/goipvsadm -Ln
echo "guest: done"
