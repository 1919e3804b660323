#!/bin/sh
# The classic LVS examples (NAT, tunnelling, direct routing), run with
# goipvsadm in the e2e guest: make demo. The guest's eth0 holds 10.0.0.1/24
# and 2001:db8::1/64, eth1 10.1.0.1/24; names come from e2e/guest/etc/hosts.
set -e

G=${GOIPVSADM:-/usr/local/sbin/goipvsadm}
if [ ! -x "$G" ]; then
	echo "demo: goipvsadm is not in the guest: ./cmd/goipvsadm does not build yet, nothing to show"
	exit 0
fi

section() {
	echo
	echo "======== $* ========"
}

# show prints a command line, then runs it.
show() {
	echo "# goipvsadm $*"
	"$G" "$@"
}

section "LVS/NAT: the director rewrites the destination address (-m)"
show -A -t 10.0.0.1:80 -s rr
show -a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1
show -a -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 1
show -Ln

section "LVS/TUN: packets reach the real servers in IPIP tunnels (-i)"
show -A -t 10.0.0.10:80 -s wlc
show -a -t 10.0.0.10:80 -r 10.1.0.2 -i -w 2
show -a -t 10.0.0.10:80 -r 10.1.0.3 -i -w 1
show -Ln

section "LVS/DR: real servers on the same link answer clients directly (-g)"
show -A -t 10.0.0.1:443 -s wrr -p 300
show -a -t 10.0.0.1:443 -r 10.0.0.2 -g -w 3
show -a -t 10.0.0.1:443 -r 10.0.0.3 -g -w 1
show -Ln

section "IPv6 and firewall-mark services"
show -A -t [2001:db8::1]:80 -s sh
show -a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m
show -A -f 1 -s lc
show -a -f 1 -r 192.168.1.2 -g
show -Ln

section "The same table with names, statistics and as rules"
show -L
show -Ln --stats
show -Sn

section "Cleaning up"
show -C
show -Ln
