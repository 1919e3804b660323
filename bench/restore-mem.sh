#!/bin/sh
# Peak RSS and CPU of goipvsadm -R, -R --atomic and -R --sync of 10,000x10 and
# 100,000x10 in the 6.1 guest (and of goipvsadm-baseline when it is there);
# see bench/README.md, "-R in a compact form". RM_TABLES (vmrun -env) picks
# the tables, e.g. RM_TABLES=10000x10.
set -u
tables=${RM_TABLES:-10000x10 100000x10}
echo "guest: $(uname -r), $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
reload_ipvs() {
	/usr/local/sbin/goipvsadm -C 2>/dev/null
	# shellcheck disable=SC2046
	rmmod $(awk '/^ip_vs_/ {print $1}' /proc/modules) 2>/dev/null
	rmmod ip_vs 2>/dev/null; modprobe ip_vs
}
for t in $tables; do /usr/local/bin/benchrun -gen "$t" >"/tmp/r-$t"; echo "rules $t: $(wc -l <"/tmp/r-$t") lines"; done
run() { # bin table mode...
	bin=$1 t=$2; shift 2
	reload_ipvs
	timeout 600 /usr/local/bin/rusage "/usr/local/sbin/$bin" -R "$@" <"/tmp/r-$t"
	echo "CHECK $bin $t $*: $(/usr/local/sbin/goipvsadm -Sn | wc -l) lines saved"
}
for t in $tables; do
	for mode in "" --atomic --sync; do
		[ -x /usr/local/sbin/goipvsadm-baseline ] && run goipvsadm-baseline "$t" $mode
		run goipvsadm "$t" $mode
	done
done
reload_ipvs
echo "guest: done"
