#!/bin/bash
# completion-test.bash FILE: sources the bash completion FILE and checks
# what _goipvsadm offers for some command lines (make check-packaging).
# Runs without the bash-completion package: the function then reads
# COMP_WORDS and COMP_CWORD itself.
set -u

# shellcheck disable=SC1090
source "$1"
failed=0

# expect WANT WORD...: completing the last WORD must offer exactly WANT
# (space-separated, in order).
expect() {
    local want=$1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _goipvsadm
    local got="${COMPREPLY[*]}"
    if [[ $got != "$want" ]]; then
        printf 'FAIL: %s\n  got:  %s\n  want: %s\n' "$*" "$got" "$want"
        failed=1
    else
        printf 'ok: %-45s -> %s\n' "$*" "$got"
    fi
}

complete -p goipvsadm | grep -q -- '-F _goipvsadm' || { echo "FAIL: not registered for goipvsadm"; failed=1; }

expect '-A' goipvsadm -A
expect '--add-service --add-server' goipvsadm --add
expect '--start-daemon --stop-daemon' goipvsadm --st
expect '--save --set --start-daemon --stop-daemon' goipvsadm --s
expect '' goipvsadm -S --s
expect 'rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos' goipvsadm -A -t 10.0.0.1:80 -s ''
expect 'wrr wlc' goipvsadm -A -t 10.0.0.1:80 -s w
expect 'master backup' goipvsadm --start-daemon ''
expect 'backup' goipvsadm --stop-daemon b
expect 'ipip gue gre' goipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type ''
expect '--gatewaying' goipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 --g
expect '--mcast-interface --mcast-group --mcast-port --mcast-ttl' goipvsadm --start-daemon master --mc
expect '--tun-type --tun-port --tun-nocsum --tun-csum --tun-remcsum' goipvsadm -e -t 10.0.0.1:80 -r 10.0.0.2 --tun
expect '--sync --atomic --dry-run' goipvsadm -R --
expect '--syncid' goipvsadm -Ln --sync
expect '--json' goipvsadm -L --j
expect '-n --numeric --lossless' goipvsadm -S -
expect 'sh-fallback,sh-fallback sh-fallback,sh-port' goipvsadm -A -t 10.0.0.1:80 -s sh -b sh-fallback,sh
expect 'sip' goipvsadm -A -u 10.0.0.1:5060 --pe ''
# Values without a fixed set of choices: nothing.
expect '' goipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -w ''
expect '--sync --atomic --dry-run' goipvsadm -R ''
expect '' goipvsadm -A -t ''

# Existing services, from "goipvsadm -S -n" (here a stand-in).
fake=$(mktemp)
trap 'rm -f "$fake"' EXIT
cat >"$fake" <<'EOF'
#!/bin/sh
[ "$*" = "-S -n" ] || exit 1
echo "-A -t 10.0.0.1:80 -s rr"
echo "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1"
echo "-A -u 10.0.0.1:53 -s rr"
echo "-A -t [2001:db8::1]:443 -s wlc"
echo "-A -f 7 -s rr"
EOF
chmod +x "$fake"
expect '10.0.0.1:80 [2001:db8::1]:443' "$fake" -D -t ''
expect '10.0.0.1:53' "$fake" -a --udp-service ''
expect '7' "$fake" -E -f ''
expect '' "$fake" -A -t ''

exit $failed
