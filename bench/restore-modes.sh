#!/bin/sh
# Where the time of goipvsadm -R goes, in the 6.1 guest: the kernel's floor
# (ipvsprof -op replay of the table's pre-encoded requests), -R of
# benchrun's rules, -R of goipvsadm -Sn's output (every line in the forms
# -S writes), and -R of both with a last line that stops the restore
# ("-R" inside -R: parsed, nothing applied); then, on the table -R made,
# -Ln and its floor (ipvsprof -op rawlist). ip_vs is reloaded before each
# -R. N rounds (default 3) of T (default 10000x10); see bench/README.md,
# "-R at about twice its floor", "-R at 1.6 times its floor" and "A second
# CPU". With /usr/local/sbin/goipvsadm-baseline in the payload (another
# build), each round also runs it, alternating with goipvsadm. Reproduce
# with bench/restore-mem.sh's payload and
#   go run ./e2e/cmd/vmrun -kernel 6.1 -m 2048 [-smp 2] -timeout 40m -script bench/restore-modes.sh -files /tmp/rm-payload
set -u
echo "guest: $(uname -r), $(nproc) CPUs"
reload_ipvs() {
	/usr/local/sbin/goipvsadm -C 2>/dev/null
	# shellcheck disable=SC2046
	rmmod $(awk '/^ip_vs_/ {print $1}' /proc/modules) 2>/dev/null
	rmmod ip_vs 2>/dev/null; modprobe ip_vs
}
T=${T:-10000x10}
N=${N:-3}
/usr/local/bin/benchrun -gen "$T" >/tmp/rules || exit 1
cp /tmp/rules /tmp/rules-parse-only && echo "-R" >>/tmp/rules-parse-only
reload_ipvs
/usr/local/sbin/goipvsadm -R </tmp/rules || exit 1
/usr/local/bin/ipvsprof -op record -requests /tmp/req >/dev/null || exit 1
/usr/local/sbin/goipvsadm -Sn >/tmp/saved || exit 1
cp /tmp/saved /tmp/saved-parse-only && echo "-R" >>/tmp/saved-parse-only
run() { # name command...
	name=$1
	shift
	reload_ipvs
	printf "MODE %-12s " "$name"
	{ /usr/local/bin/rusage "$@" >/dev/null; } 2>&1 | grep RUSAGE
}
list() { # name command...: on the table as it is
	printf "MODE %-12s " "$1"
	shift
	{ /usr/local/bin/rusage "$@" >/dev/null; } 2>&1 | grep RUSAGE
}
i=0
while [ "$i" -lt "$N" ]; do
	run floor /usr/local/bin/ipvsprof -op replay -requests /tmp/req
	if [ -x /usr/local/sbin/goipvsadm-baseline ]; then
		run base-rules sh -c '/usr/local/sbin/goipvsadm-baseline -R </tmp/rules'
		run base-saved sh -c '/usr/local/sbin/goipvsadm-baseline -R </tmp/saved'
		run base-parse-only sh -c '/usr/local/sbin/goipvsadm-baseline -R </tmp/rules-parse-only'
		run base-saved-parse-only sh -c '/usr/local/sbin/goipvsadm-baseline -R </tmp/saved-parse-only'
	fi
	run rules sh -c '/usr/local/sbin/goipvsadm -R </tmp/rules'
	run saved sh -c '/usr/local/sbin/goipvsadm -R </tmp/saved'
	run parse-only sh -c '/usr/local/sbin/goipvsadm -R </tmp/rules-parse-only'
	run saved-parse-only sh -c '/usr/local/sbin/goipvsadm -R </tmp/saved-parse-only'
	# The table of the last -R: listings.
	/usr/local/sbin/goipvsadm -R </tmp/saved || exit 1
	list floor-Ln /usr/local/bin/ipvsprof -op rawlist
	if [ -x /usr/local/sbin/goipvsadm-baseline ]; then
		list base-Ln /usr/local/sbin/goipvsadm-baseline -Ln
	fi
	list Ln /usr/local/sbin/goipvsadm -Ln
	i=$((i + 1))
done
reload_ipvs
echo "guest: done"
