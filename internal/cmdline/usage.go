package cmdline

import "strings"

// CompatVersionLine is what ipvsadm 1.31 prints for -v (and as the first
// line of -h).
const CompatVersionLine = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)"

// ProgramVersion is goipvsadm's version; the build may override it with
// -ldflags "-X github.com/goipvsadm/goipvsadm/internal/cmdline.ProgramVersion=...".
var ProgramVersion = "0.1.0"

// VersionLine is what goipvsadm prints for -v: its own name and version,
// and the ipvsadm release whose behaviour it reproduces.
func VersionLine() string {
	return "goipvsadm v" + ProgramVersion + " (compatible with ipvsadm v1.31 2019/12/24, IPVS v1.2.1)"
}

// usageSynopses are the "Usage:" lines, each printed after "  <argv0> ".
var usageSynopses = []string{
	"-A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]",
	"-D virtual-service",
	"-C",
	"-R",
	"-S [-n]",
	"-a|e virtual-service -r server-address [options]",
	"-d virtual-service -r server-address",
	"-L|l [virtual-service] [options]",
	"-Z [virtual-service]",
	"--set tcp tcpfin udp",
	"--start-daemon {master|backup} [daemon-options]",
	"--stop-daemon {master|backup}",
	"-h",
}

// usageBody is the rest of the help text, after the Usage lines.
const usageBody = `
Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,
                                      the default scheduler is wlc.
  --pe            engine              alternate persistence engine may be sip,
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)
`

// Usage is goipvsadm's -h text: VersionLine, then ipvsadm 1.31's help with
// argv0 in the Usage lines, then a paragraph on goipvsadm's own options. It
// ends in a newline.
func Usage(argv0 string) string {
	return UsageWithVersion(VersionLine(), argv0) + extensionHelp()
}

// extensionHelp is the paragraph on goipvsadm's own options that follows
// ipvsadm's help, laid out as ipvsadm's Options are.
func extensionHelp() string {
	var b strings.Builder
	b.WriteString("goipvsadm Options (not in ipvsadm):\n")
	for e := Extension(0); e < numExtensions; e++ {
		opt := "  --" + extensions[e].name
		b.WriteString(opt + strings.Repeat(" ", 38-len(opt)) + extensions[e].help + "\n")
	}
	return b.String()
}

// UsageWithVersion is the -h text under the given first line;
// UsageWithVersion(CompatVersionLine, "ipvsadm") is ipvsadm 1.31's text byte
// for byte.
func UsageWithVersion(versionLine, argv0 string) string {
	var b strings.Builder
	b.WriteString(versionLine)
	b.WriteString("\nUsage:\n")
	for _, l := range usageSynopses {
		b.WriteString("  " + argv0 + " " + l + "\n")
	}
	b.WriteString(usageBody)
	return b.String()
}
