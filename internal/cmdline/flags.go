package cmdline

import (
	"github.com/spf13/pflag"
)

// annotationExtraShorthand lists further one-letter names of a flag. pflag
// allows one shorthand per flag, but ipvsadm accepts both -L and -l for
// --list.
const annotationExtraShorthand = "goipvsadm_extra_shorthand"

// annotationCommand marks the flags that name a command; only they may come
// first on the command line.
const annotationCommand = "goipvsadm_command"

// annotationExtension marks goipvsadm's own options, which ipvsadm 1.31
// does not have (see Extension).
const annotationExtension = "goipvsadm_extension"

// Flags returns ipvsadm's options, followed by goipvsadm's own (long form
// only, annotated with "goipvsadm_extension"), as a pflag.FlagSet: the one
// definition of their names, shorthands, values and help. The values in the set are never
// filled in by Parse; use it to list options (help, shell completion).
//
// A flag takes a value unless its Value.Type() is "bool". A flag with a
// non-empty NoOptDefVal takes an optional value (only --persistent).
func Flags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("ipvsadm", pflag.ContinueOnError)
	fs.SortFlags = false

	command := func(name, short, usage string) {
		fs.BoolP(name, short, false, usage)
		must(fs.SetAnnotation(name, annotationCommand, []string{"true"}))
	}
	command("add-service", "A", "add virtual service with options")
	command("edit-service", "E", "edit virtual service with options")
	command("delete-service", "D", "delete virtual service")
	command("clear", "C", "clear the whole table")
	command("list", "L", "list the table")
	must(fs.SetAnnotation("list", annotationExtraShorthand, []string{"l"}))
	command("zero", "Z", "zero counters in a service or all services")
	command("add-server", "a", "add real server with options")
	command("edit-server", "e", "edit real server with options")
	command("delete-server", "d", "delete real server")
	command("set", "", "set connection timeout values (tcp tcpfin udp follow as arguments)")
	command("help", "h", "display this help message")
	command("version", "v", "display the version")
	command("restore", "R", "restore rules from stdin")
	command("save", "S", "save rules to stdout")
	fs.String("start-daemon", "", "start connection sync daemon (master|backup)")
	must(fs.SetAnnotation("start-daemon", annotationCommand, []string{"true"}))
	fs.String("stop-daemon", "", "stop connection sync daemon (master|backup)")
	must(fs.SetAnnotation("stop-daemon", annotationCommand, []string{"true"}))

	fs.StringP("tcp-service", "t", "", "TCP virtual service host[:port]")
	fs.StringP("udp-service", "u", "", "UDP virtual service host[:port]")
	fs.String("sctp-service", "", "SCTP virtual service host[:port]")
	fs.StringP("fwmark-service", "f", "", "firewall-mark virtual service (an integer greater than zero)")
	fs.StringP("scheduler", "s", "", "scheduler: one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh (default wlc)")
	fs.StringP("persistent", "p", "", "persistent service, optionally with a timeout in seconds (default 360)")
	fs.Lookup("persistent").NoOptDefVal = "360"
	fs.StringP("netmask", "M", "", "persistent granularity mask")
	fs.StringP("real-server", "r", "", "real server host[:port]")
	fs.BoolP("masquerading", "m", false, "masquerading (NAT)")
	fs.BoolP("ipip", "i", false, "ipip encapsulation (tunneling)")
	fs.BoolP("gatewaying", "g", false, "gatewaying (direct routing) (default)")
	fs.StringP("weight", "w", "", "capacity of real server")
	fs.StringP("u-threshold", "x", "", "upper threshold of connections")
	fs.StringP("l-threshold", "y", "", "lower threshold of connections")
	fs.BoolP("numeric", "n", false, "numeric output of addresses and ports")
	fs.BoolP("connection", "c", false, "output of current IPVS connections")
	fs.String("mcast-interface", "", "multicast interface for connection sync")
	fs.String("syncid", "", "syncid for connection sync (default 0)")
	fs.Bool("timeout", false, "output of timeout (tcp tcpfin udp)")
	fs.Bool("daemon", false, "output of daemon information")
	fs.Bool("stats", false, "output of statistics information")
	fs.Bool("rate", false, "output of rate information")
	fs.Bool("thresholds", false, "output of thresholds information")
	fs.Bool("persistent-conn", false, "output of persistent connection info")
	fs.Bool("nosort", false, "disable sorting output of service/server entries")
	fs.Bool("sort", false, "does nothing, for backwards compatibility")
	fs.BoolP("exact", "X", false, "expand numbers (display exact values)")
	fs.BoolP("ipv6", "6", false, "fwmark entry uses IPv6")
	fs.BoolP("ops", "o", false, "one-packet scheduling")
	fs.String("pe", "", "alternate persistence engine (sip)")
	fs.StringP("sched-flags", "b", "", "scheduler flags (comma-separated)")
	fs.String("mcast-group", "", "IPv4/IPv6 group (default 224.0.0.81)")
	fs.String("mcast-port", "", "UDP port (default 8848)")
	fs.String("mcast-ttl", "", "multicast TTL (default 1)")
	fs.String("sync-maxlen", "", "max sync message length (default 1472)")
	fs.Bool("tun-info", false, "output of tunnel information")
	fs.String("tun-type", "", "tunnel type: one of ipip|gue|gre (default ipip)")
	fs.String("tun-port", "", "tunnel destination port")
	fs.Bool("tun-nocsum", false, "tunnel encapsulation without checksum")
	fs.Bool("tun-csum", false, "tunnel encapsulation with checksum")
	fs.Bool("tun-remcsum", false, "tunnel encapsulation with remote checksum")

	for _, e := range extensions {
		fs.Bool(e.name, false, e.usage)
		must(fs.SetAnnotation(e.name, annotationExtension, []string{"true"}))
	}
	return fs
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// argKind says whether an option takes a value.
type argKind int

const (
	argNone argKind = iota
	argRequired
	argOptional
)

// optionSpec is what the popt front end needs to know about one option.
type optionSpec struct {
	name      string // long name, e.g. "tcp-service"
	arg       argKind
	command   bool // may (and only it may) come first
	extension bool // one of goipvsadm's own options
}

// optionTable indexes a FlagSet by long name and by shorthand, in the way
// popt looks options up.
type optionTable struct {
	long  map[string]*optionSpec
	short map[byte]*optionSpec
}

// newOptionTable indexes fs; without withExtensions, goipvsadm's own options
// are left out (they are unknown options, as in ipvsadm).
func newOptionTable(fs *pflag.FlagSet, withExtensions bool) *optionTable {
	t := &optionTable{long: map[string]*optionSpec{}, short: map[byte]*optionSpec{}}
	fs.VisitAll(func(f *pflag.Flag) {
		_, ext := f.Annotations[annotationExtension]
		if ext && !withExtensions {
			return
		}
		spec := &optionSpec{name: f.Name, arg: argRequired, extension: ext}
		switch {
		case f.Value.Type() == "bool":
			spec.arg = argNone
		case f.NoOptDefVal != "":
			spec.arg = argOptional
		}
		_, spec.command = f.Annotations[annotationCommand]
		t.long[f.Name] = spec
		shorts := append([]string{f.Shorthand}, f.Annotations[annotationExtraShorthand]...)
		for _, s := range shorts {
			if len(s) == 1 {
				t.short[s[0]] = spec
			}
		}
	})
	return t
}

// options and ipvsadmOptions are built once from Flags: all options, and
// ipvsadm's alone.
var (
	options        = newOptionTable(Flags(), true)
	ipvsadmOptions = newOptionTable(Flags(), false)
)
