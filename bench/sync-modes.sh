#!/bin/sh
# goipvsadm -R --sync of rules whose table is already loaded, beside the
# kernel's floor (ipvsprof -op rawlist: the dumps that read the table),
# in the 6.1 guest. With /usr/local/sbin/goipvsadm-baseline in the
# payload (another build), each round also runs it, alternating with
# goipvsadm. N rounds (default 3) of each table of TABLES (default
# "100000x0 1000x100"); see bench/README.md, "-R --sync builds its tables
# with fewer copies". Reproduce with bench/restore-mem.sh's payload and
#   go run ./e2e/cmd/vmrun -kernel 6.1 -m 4096 -timeout 60m -env N=2 \
#     -env "TABLES=100000x0 10000x100" -script bench/sync-modes.sh -files /tmp/rm-payload
set -u
echo "guest: $(uname -r), $(nproc) CPUs"
reload_ipvs() {
	/usr/local/sbin/goipvsadm -C 2>/dev/null
	# shellcheck disable=SC2046
	rmmod $(awk '/^ip_vs_/ {print $1}' /proc/modules) 2>/dev/null
	rmmod ip_vs 2>/dev/null; modprobe ip_vs
}
run() { # name table command...
	name=$1 t=$2
	shift 2
	printf "MODE %s %s " "$t" "$name"
	{ /usr/local/bin/rusage "$@" </tmp/rules >/dev/null; } 2>&1 | grep RUSAGE
}
N=${N:-3}
for t in ${TABLES:-100000x0 1000x100}; do
	/usr/local/bin/benchrun -gen "$t" >/tmp/rules || exit 1
	reload_ipvs
	/usr/local/sbin/goipvsadm -R </tmp/rules || exit 1
	i=0
	while [ "$i" -lt "$N" ]; do
		run floor "$t" /usr/local/bin/ipvsprof -op rawlist
		if [ -x /usr/local/sbin/goipvsadm-baseline ]; then
			run baseline "$t" /usr/local/sbin/goipvsadm-baseline -R --sync
		fi
		run goipvsadm "$t" /usr/local/sbin/goipvsadm -R --sync
		i=$((i + 1))
	done
done
reload_ipvs
echo "guest: done"
