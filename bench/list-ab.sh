#!/bin/sh
# A/B of goipvsadm -Ln and -Sn of a loaded table beside the kernel's floor
# (ipvsprof -op rawlist: the dumps a listing needs), in the 6.1 guest.
# With /usr/local/sbin/goipvsadm-baseline in the payload (another build),
# each round also runs it, alternating with goipvsadm. N rounds (default
# 5) of each table of TABLES (default 10000x10); see bench/README.md,
# "Listings and -R --sync without counters". Reproduce with
# bench/restore-mem.sh's payload and
#   go run ./e2e/cmd/vmrun -kernel 6.1 -m 4096 -timeout 40m -env N=5 \
#     -script bench/list-ab.sh -files /tmp/rm-payload
set -u
echo "guest: $(uname -r), $(nproc) CPUs"
run() { # name table command...
	name=$1 t=$2
	shift 2
	printf "MODE %s %-10s " "$t" "$name"
	{ /usr/local/bin/rusage "$@" >/dev/null; } 2>&1 | grep RUSAGE
}
N=${N:-5}
for t in ${TABLES:-10000x10}; do
	/usr/local/bin/benchrun -gen "$t" >/tmp/rules || exit 1
	/usr/local/sbin/goipvsadm -C
	/usr/local/sbin/goipvsadm -R </tmp/rules || exit 1
	i=0
	while [ "$i" -lt "$N" ]; do
		run floor "$t" /usr/local/bin/ipvsprof -op rawlist
		for op in -Ln -Sn; do
			if [ -x /usr/local/sbin/goipvsadm-baseline ]; then
				run "base$op" "$t" /usr/local/sbin/goipvsadm-baseline "$op"
			fi
			run "goipvsadm$op" "$t" /usr/local/sbin/goipvsadm "$op"
		done
		i=$((i + 1))
	done
done
/usr/local/sbin/goipvsadm -C
echo "guest: done"
