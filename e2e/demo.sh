#!/bin/sh
# make demo: the three classic LVS set-ups (NAT, tunnelling, direct routing)
# with goipvsadm and real traffic, in the e2e guest (see e2e/README.md).
#
# The guest is the director. Network namespaces stand in for a client and
# three real servers, each joined to the director by a veth pair; every real
# server runs busybox httpd with a page that names it. For each mode the
# script configures the real servers and the virtual service, sends requests
# from the client to the virtual address, prints which real server answered
# each one and checks that the scheduler shared them out as it should.
# It exits non-zero when a mode does not deliver the expected answers.
set -eu

G=${GOIPVSADM:-/usr/local/sbin/goipvsadm}
# iproute2's ip, by path: busybox sh would run its own ip applet.
IP=/usr/bin/ip

CLIENT=203.0.113.2
DIRECTOR=203.0.113.1
NAT_VIP=203.0.113.10
TUN_VIP=203.0.113.20
DR_VIP=203.0.113.30
SERVERS="rs1 rs2 rs3"
WWW=/tmp/demo-www

failed=""    # the modes that did not deliver
answers=""   # who answered the last requests, one name per request
sent=""      # the VIP of every request sent
httpd_pids=""

main() {
	if [ ! -x "$G" ]; then
		echo "demo: $G is missing: ./cmd/goipvsadm did not build" >&2
		exit 1
	fi
	trap cleanup EXIT
	lab
	nat
	tun
	dr
	counters
	rules
	if [ -n "$failed" ]; then
		echo
		echo "demo FAILED:$failed"
		exit 1
	fi
	echo
	echo "demo: all three modes delivered"
}

# ---- how the demo talks ----

heading() {
	printf '\n======== %s ========\n' "$*"
}

# say prints an explanation, wrapped as written.
say() {
	printf '%s\n' "$@"
}

# director CMD... shows a command typed on the director (this guest) and
# runs it.
director() {
	echo "director# $*"
	case $1 in
	goipvsadm) shift && "$G" "$@" ;;
	ip) shift && "$IP" "$@" ;;
	*) "$@" ;;
	esac
}

# servers CMD... shows a command typed on every real server once, as rsN,
# and runs it on rs1, rs2 and rs3 (their output would be the same three
# times: it is left out).
servers() {
	echo "rsN# $*"
	for rs in $SERVERS; do
		"$IP" netns exec "$rs" "$@" >/dev/null
	done
}

# get ADDR [PREFIX...] prints the page at http://ADDR/, fetched with busybox
# nc (busybox wget crashes in the guest); PREFIX runs nc elsewhere, e.g.
# "ip netns exec client".
get() {
	addr=$1
	shift
	printf 'GET / HTTP/1.0\r\n\r\n' | "$@" nc -w 3 "$addr" 80 | tail -n 1
}

# rip RS prints the real server's address; dip RS the director's on its link.
rip() { echo "172.16.${1#rs}.2"; }
dip() { echo "172.16.${1#rs}.1"; }

# ---- the lab: namespaces, links, web servers ----

# link NS ADDR PEER joins namespace NS to the director: eth0 in NS with
# ADDR/24, to-NS on the director with PEER/24.
link() {
	"$IP" netns add "$1"
	"$IP" link add "to-$1" type veth peer name eth0 netns "$1"
	"$IP" addr add "$3/24" dev "to-$1"
	"$IP" link set "to-$1" up
	"$IP" -n "$1" link set lo up
	"$IP" -n "$1" addr add "$2/24" dev eth0
	"$IP" -n "$1" link set eth0 up
	"$IP" -n "$1" route add default via "$3"
}

# web RS starts httpd on the real server with a page naming it, and waits
# until the director can fetch that page.
web() {
	mkdir -p "$WWW/$1"
	echo "$1 ($(rip "$1"))" >"$WWW/$1/index.html"
	"$IP" netns exec "$1" httpd -f -p 80 -h "$WWW/$1" &
	httpd_pids="$httpd_pids $!"
	tries=50
	until [ -n "$(get "$(rip "$1")" 2>/dev/null)" ]; do
		tries=$((tries - 1))
		if [ "$tries" -eq 0 ]; then
			echo "demo: httpd on $1 does not answer" >&2
			exit 1
		fi
		usleep 100000
	done
}

lab() {
	heading "The lab: a director, a client and three real servers"
	cat <<EOF
Network namespaces in this guest, each joined to the director (the guest
itself) by a veth pair; each real server runs busybox httpd:

                       client $CLIENT
                              |
                       $DIRECTOR
                  director (this guest)   VIPs $NAT_VIP (NAT)
                                               $TUN_VIP (TUN)
                                               $DR_VIP (DR)
           $(dip rs1)      $(dip rs2)      $(dip rs3)
               |               |               |
           $(rip rs1)      $(rip rs2)      $(rip rs3)
              rs1             rs2             rs3

The director is also the real servers' router back to the client. In TUN
and DR they answer from the VIP, one of the director's own addresses,
which Linux forwards only from links with accept_local.
EOF
	modprobe veth
	link client "$CLIENT" "$DIRECTOR"
	for rs in $SERVERS; do
		link "$rs" "$(rip "$rs")" "$(dip "$rs")"
		web "$rs"
	done
	director sysctl -w net.ipv4.ip_forward=1
	for rs in $SERVERS; do
		director sysctl -w "net.ipv4.conf.to-$rs.accept_local=1"
	done
}

# ---- sending requests and checking who answered ----

# requests VIP N sends N requests from the client to http://VIP/, one
# connection each, and prints which real server answered each one.
requests() {
	printf '%s\n' "client# for i in \$(seq $2); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc $1 80 | tail -n 1; done"
	answers=""
	i=1
	while [ "$i" -le "$2" ]; do
		who=$(get "$1" "$IP" netns exec client 2>/dev/null)
		[ -n "$who" ] || who="no answer"
		echo "  request $i -> $who"
		answers="$answers ${who%% *}"
		sent="$sent $1"
		i=$((i + 1))
	done
}

# count WORD LIST prints how many times WORD is in the space-separated LIST.
count() {
	echo "$2" | tr ' ' '\n' | grep -c -x -F "$1" || true
}

# expect MODE RS=N... checks that each real server answered N of the last
# requests.
expect() {
	mode=$1
	shift
	ok=1
	for want in "$@"; do
		got=$(count "${want%=*}" "$answers")
		if [ "$got" != "${want#*=}" ]; then
			echo "FAIL $mode: ${want%=*} answered $got, want ${want#*=}"
			ok=
		fi
	done
	if [ -n "$ok" ]; then
		echo "ok: $*"
	else
		failed="$failed $mode"
	fi
}

# ---- the three modes ----

nat() {
	heading "LVS/NAT: the director rewrites the addresses both ways (-m)"
	say "The real servers' default route points to the director, so their replies" \
		"come back through it and leave with the VIP as their source."
	director ip addr add "$NAT_VIP/32" dev to-client
	director goipvsadm -A -t "$NAT_VIP:80" -s rr
	for rs in $SERVERS; do
		director goipvsadm -a -t "$NAT_VIP:80" -r "$(rip "$rs"):80" -m
	done
	director goipvsadm -Ln -t "$NAT_VIP:80"
	say "" "Round robin: each real server in turn."
	requests "$NAT_VIP" 6
	expect NAT rs1=2 rs2=2 rs3=2
}

tun() {
	heading "LVS/TUN: requests reach the real servers in IPIP tunnels (-i)"
	say "Each real server takes the VIP on its tunnel device tunl0, hides it from" \
		"ARP and answers the client itself, from the VIP."
	director modprobe ipip
	servers ip link set tunl0 up
	servers ip addr add "$TUN_VIP/32" dev tunl0
	servers sysctl -w net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.all.rp_filter=0
	servers sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	director ip addr add "$TUN_VIP/32" dev to-client
	director goipvsadm -A -t "$TUN_VIP:80" -s wrr
	director goipvsadm -a -t "$TUN_VIP:80" -r "$(rip rs1)" -i -w 3
	director goipvsadm -a -t "$TUN_VIP:80" -r "$(rip rs2)" -i -w 2
	director goipvsadm -a -t "$TUN_VIP:80" -r "$(rip rs3)" -i -w 1
	director goipvsadm -Ln -t "$TUN_VIP:80"
	say "" "Weighted round robin: 3, 2 and 1 of every 6 requests."
	requests "$TUN_VIP" 6
	expect TUN rs1=3 rs2=2 rs3=1
}

dr() {
	heading "LVS/DR: the director only changes the MAC address (-g)"
	say "Each real server takes the VIP on its loopback device, hides it from ARP" \
		"and answers the client itself, from the VIP."
	servers ip addr add "$DR_VIP/32" dev lo
	servers sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	director ip addr add "$DR_VIP/32" dev to-client
	director goipvsadm -A -t "$DR_VIP:80" -s rr
	for rs in $SERVERS; do
		director goipvsadm -a -t "$DR_VIP:80" -r "$(rip "$rs")" -g
	done
	director goipvsadm -Ln -t "$DR_VIP:80"
	say ""
	requests "$DR_VIP" 3
	expect DR rs1=1 rs2=1 rs3=1
	say "" "Weight 0 takes rs3 out of the rotation; connections it has keep going."
	director goipvsadm -e -t "$DR_VIP:80" -r "$(rip rs3)" -g -w 0
	requests "$DR_VIP" 4
	expect DR rs1=2 rs2=2 rs3=0
}

# ---- what the traffic left in the table ----

# conns VIP prints the connection counter of the service VIP:80.
conns() {
	"$G" -Ln --stats -t "$1:80" | awk '$1 == "TCP" { print $3 }'
}

# counted prints "NAT 6, ..." when each service counted one connection per
# request sent to it, and fails otherwise, printing what it counted.
counted() {
	rc=0 line=""
	for mode in NAT:$NAT_VIP TUN:$TUN_VIP DR:$DR_VIP; do
		vip=${mode#*:}
		want=$(count "$vip" "$sent")
		got=$(conns "$vip")
		line="$line, ${mode%:*} $got"
		if [ "$got" != "$want" ]; then
			line="$line (want $want)"
			rc=1
		fi
	done
	echo "${line#, }"
	return "$rc"
}

counters() {
	heading "The counters the traffic produced"
	# The kernel adds up its per-CPU counters every 2 seconds.
	tries=20
	until result=$(counted); do
		tries=$((tries - 1))
		if [ "$tries" -eq 0 ]; then
			echo "FAIL counters: connections $result"
			failed="$failed counters"
			break
		fi
		usleep 250000
	done
	[ "$tries" -eq 0 ] || echo "ok: connections $result"
	director goipvsadm -Ln --stats
	say "" "OutPkts counts the replies that pass through the director. NAT needs" \
		"them all, to put the VIP back. TUN and DR replies pass here only because" \
		"this director is also the lab's router; with another router they would" \
		"bypass it, and OutPkts would stay 0."
}

rules() {
	heading "The table as rules (what goipvsadm -S saves)"
	director goipvsadm -Sn
}

cleanup() {
	for pid in $httpd_pids; do
		kill "$pid" 2>/dev/null || true
	done
	"$G" -C 2>/dev/null || true
	# Deleting a namespace deletes its veth pair, and the VIPs with it.
	for ns in client $SERVERS; do
		"$IP" netns del "$ns" 2>/dev/null || true
	done
}

main "$@"
