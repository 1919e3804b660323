# bash completion for goipvsadm(8)                         -*- shell-script -*-
# shellcheck shell=bash disable=SC2207
# Installed as .../bash-completion/completions/goipvsadm (and as ipvsadm,
# a link, with IPVSADM_LINKS=1). Completes the command, the options legal
# with it, schedulers, scheduler flags, forwarding methods, tunnel types,
# sync daemon states and interfaces, and existing virtual services (read
# with "goipvsadm -S -n" when the user may).

_goipvsadm_commands='-A --add-service -E --edit-service -D --delete-service
 -C --clear -R --restore -S --save -a --add-server -e --edit-server
 -d --delete-server -L -l --list -Z --zero --set --start-daemon
 --stop-daemon -h --help -v --version'

_goipvsadm_service='-t --tcp-service -u --udp-service --sctp-service
 -f --fwmark-service -6 --ipv6'

# _goipvsadm_options COMMAND prints the options legal with COMMAND.
_goipvsadm_options() {
    case $1 in
    -A | --add-service | -E | --edit-service)
        echo "$_goipvsadm_service -s --scheduler -p --persistent -M --netmask
 --pe -b --sched-flags -o --ops" ;;
    -D | --delete-service | -Z | --zero)
        echo "$_goipvsadm_service" ;;
    -a | --add-server | -e | --edit-server)
        echo "$_goipvsadm_service -r --real-server -g --gatewaying -i --ipip
 -m --masquerading -w --weight -x --u-threshold -y --l-threshold
 --tun-type --tun-port --tun-nocsum --tun-csum --tun-remcsum" ;;
    -d | --delete-server)
        echo "$_goipvsadm_service -r --real-server" ;;
    -L | -l | --list)
        echo "$_goipvsadm_service -c --connection --timeout --daemon --stats
 --rate --exact --thresholds --persistent-conn --tun-info --nosort --sort
 -n --numeric --syncid --json" ;;
    -S | --save)
        echo "-n --numeric --lossless" ;;
    -R | --restore)
        echo "--sync --atomic --dry-run" ;;
    --start-daemon)
        echo "--mcast-interface --syncid --sync-maxlen --mcast-group
 --mcast-port --mcast-ttl" ;;
    --stop-daemon)
        echo "--syncid" ;;
    esac
}

# _goipvsadm_services BIN FLAG prints the existing virtual services of the
# kind FLAG (-t, -u, --sctp-service, -f) as the save format spells them.
_goipvsadm_services() {
    local flag=$2
    case $flag in
    --tcp-service) flag=-t ;;
    --udp-service) flag=-u ;;
    --fwmark-service) flag=-f ;;
    esac
    "$1" -S -n 2>/dev/null | while read -r cmd kind addr _; do
        [[ $cmd == -A && $kind == "$flag" ]] && printf '%s\n' "$addr"
    done
}

_goipvsadm() {
    local cur prev words cword
    if declare -F _get_comp_words_by_ref >/dev/null; then
        _get_comp_words_by_ref -n : cur prev words cword
    else
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    fi
    COMPREPLY=()

    # The command is the first word that is one; a short command may
    # carry options in the same word (-Ln).
    local command='' w i
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
        -[AEDCRSaedLlZhv]*) command=-${w:1:1} ;;
        --add-service | --edit-service | --delete-service | --clear | --restore | \
            --save | --add-server | --edit-server | --delete-server | --list | \
            --zero | --set | --start-daemon | --stop-daemon | --help | --version)
            command=$w ;;
        *) continue ;;
        esac
        break
    done

    case $prev in
    -s | --scheduler)
        COMPREPLY=($(compgen -W 'rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos' -- "$cur"))
        return ;;
    -b | --sched-flags)
        # A comma-separated list: complete its last element.
        local head=''
        [[ $cur == *,* ]] && head=${cur%,*},
        COMPREPLY=($(compgen -P "$head" -W 'flag-1 flag-2 flag-3 sh-fallback sh-port mh-fallback mh-port' -- "${cur##*,}"))
        return ;;
    --start-daemon | --stop-daemon)
        COMPREPLY=($(compgen -W 'master backup' -- "$cur"))
        return ;;
    --tun-type)
        COMPREPLY=($(compgen -W 'ipip gue gre' -- "$cur"))
        return ;;
    --pe)
        COMPREPLY=($(compgen -W 'sip' -- "$cur"))
        return ;;
    --mcast-interface)
        local ifs
        ifs=$(command ls /sys/class/net 2>/dev/null)
        COMPREPLY=($(compgen -W "$ifs" -- "$cur"))
        return ;;
    -t | --tcp-service | -u | --udp-service | --sctp-service | -f | --fwmark-service)
        # A new service has no name to offer; an existing one may.
        case $command in
        -A | --add-service) return ;;
        esac
        COMPREPLY=($(compgen -W "$(_goipvsadm_services "${words[0]}" "$prev")" -- "$cur"))
        declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
        return ;;
    -r | --real-server | -w | --weight | -x | --u-threshold | -y | --l-threshold | \
        -M | --netmask | --tun-port | --syncid | --sync-maxlen | --mcast-group | \
        --mcast-port | --mcast-ttl | --set)
        return ;;
    esac

    if [[ -z $command ]]; then
        COMPREPLY=($(compgen -W "$_goipvsadm_commands" -- "$cur"))
        return
    fi
    # -R reads its rules from standard input: no file names.
    COMPREPLY=($(compgen -W "$(_goipvsadm_options "$command")" -- "$cur"))
}

complete -F _goipvsadm goipvsadm
# ipvsadm too, when it is a link to goipvsadm (make install IPVSADM_LINKS=1);
# the real ipvsadm keeps its own completion.
_goipvsadm_link=$(type -P ipvsadm 2>/dev/null) &&
    [[ $(readlink -f "$_goipvsadm_link") == */goipvsadm ]] &&
    complete -F _goipvsadm ipvsadm
unset _goipvsadm_link
