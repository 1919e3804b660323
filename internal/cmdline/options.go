package cmdline

import (
	"strings"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// optionDef is one of ipvsadm's options: its names, its help text, and
// what it does to the command line being parsed. optionDefs is the one
// registry of option names; Flags, the popt front end and the help all
// read it.
type optionDef struct {
	name  string // long name, e.g. "tcp-service"
	short string // its one-letter names, if any ("Ll" for --list)
	usage string // help text
	arg   argKind
	// kind is the command of a command option; only a command option may
	// come first, and only there.
	kind Kind
	// apply carries the option out in argv order, as the loop in
	// ipvsadm's parse_options does. val is the option's value ("" when it
	// has none); arg is nil when it has none (-p without a timeout).
	apply func(s *state, val string, arg *string) *Error
}

// optionDefs are ipvsadm 1.31's options in its order: the commands, then
// the others. goipvsadm's own options (extensions) follow them in Flags.
var optionDefs = []optionDef{
	{name: "add-service", short: "A", kind: AddService, usage: "add virtual service with options"},
	{name: "edit-service", short: "E", kind: EditService, usage: "edit virtual service with options"},
	{name: "delete-service", short: "D", kind: DeleteService, usage: "delete virtual service"},
	{name: "clear", short: "C", kind: Flush, usage: "clear the whole table"},
	{name: "list", short: "Ll", kind: List, usage: "list the table"},
	{name: "zero", short: "Z", kind: Zero, usage: "zero counters in a service or all services"},
	{name: "add-server", short: "a", kind: AddServer, usage: "add real server with options"},
	{name: "edit-server", short: "e", kind: EditServer, usage: "edit real server with options"},
	{name: "delete-server", short: "d", kind: DeleteServer, usage: "delete real server"},
	{name: "set", kind: SetTimeouts, usage: "set connection timeout values (tcp tcpfin udp follow as arguments)"},
	{name: "help", short: "h", kind: Help, usage: "display this help message"},
	{name: "version", short: "v", kind: Version, usage: "display the version"},
	{name: "restore", short: "R", kind: Restore, usage: "restore rules from stdin"},
	{name: "save", short: "S", kind: Save, usage: "save rules to stdout"},
	{name: "start-daemon", arg: argRequired, kind: StartDaemon, usage: "start connection sync daemon (master|backup)",
		apply: daemonState("illegal start-daemon parameter specified")},
	// ipvsadm's message for --stop-daemon really says start_daemon.
	{name: "stop-daemon", arg: argRequired, kind: StopDaemon, usage: "stop connection sync daemon (master|backup)",
		apply: daemonState("illegal start_daemon specified")},

	{name: "tcp-service", short: "t", arg: argRequired, usage: "TCP virtual service host[:port]", apply: serviceAddress(ipvs.TCP)},
	{name: "udp-service", short: "u", arg: argRequired, usage: "UDP virtual service host[:port]", apply: serviceAddress(ipvs.UDP)},
	{name: "sctp-service", arg: argRequired, usage: "SCTP virtual service host[:port]", apply: serviceAddress(ipvs.SCTP)},
	{name: "fwmark-service", short: "f", arg: argRequired, usage: "firewall-mark virtual service (an integer greater than zero)",
		apply: class(OptService, (*state).fwmarkService)},
	{name: "scheduler", short: "s", arg: argRequired,
		usage: "scheduler: one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh (default wlc)",
		apply: text(OptScheduler, schedNameMax, func(s *state) *string { return &s.sched })},
	{name: "persistent", short: "p", arg: argOptional, usage: "persistent service, optionally with a timeout in seconds (default 360)",
		apply: persistent},
	{name: "netmask", short: "M", arg: argRequired, usage: "persistent granularity mask", apply: class(OptNetmask, (*state).netmaskOption)},
	{name: "real-server", short: "r", arg: argRequired, usage: "real server host[:port]", apply: class(OptRealServer, (*state).realServer)},
	{name: "masquerading", short: "m", usage: "masquerading (NAT)", apply: forward(ipvs.Masquerade)},
	{name: "ipip", short: "i", usage: "ipip encapsulation (tunneling)", apply: forward(ipvs.Tunnel)},
	{name: "gatewaying", short: "g", usage: "gatewaying (direct routing) (default)", apply: forward(ipvs.DirectRoute)},
	{name: "weight", short: "w", arg: argRequired, usage: "capacity of real server",
		apply: number(OptWeight, 0, maxInt, "illegal weight specified", func(s *state, n int64) { s.dest.Weight = uint32(n) })},
	{name: "u-threshold", short: "x", arg: argRequired, usage: "upper threshold of connections",
		apply: number(OptUThreshold, 0, maxInt, "illegal u_threshold specified", func(s *state, n int64) { s.dest.UpperThreshold = uint32(n) })},
	{name: "l-threshold", short: "y", arg: argRequired, usage: "lower threshold of connections",
		apply: number(OptLThreshold, 0, maxInt, "illegal l_threshold specified", func(s *state, n int64) { s.dest.LowerThreshold = uint32(n) })},
	{name: "numeric", short: "n", usage: "numeric output of addresses and ports", apply: format(OptNumeric, func(f *Format) { f.Numeric = true })},
	{name: "connection", short: "c", usage: "output of current IPVS connections", apply: format(OptConnection, nil)},
	{name: "mcast-interface", arg: argRequired, usage: "multicast interface for connection sync",
		apply: text(OptMcastInterface, ifNameMax, func(s *state) *string { return &s.daemon.Interface })},
	{name: "syncid", arg: argRequired, usage: "syncid for connection sync (default 0)",
		apply: number(OptSyncID, 0, 255, "illegal syncid specified", func(s *state, n int64) { s.daemon.SyncID = uint32(n) })},
	{name: "timeout", usage: "output of timeout (tcp tcpfin udp)", apply: format(OptTimeout, nil)},
	{name: "daemon", usage: "output of daemon information", apply: format(OptDaemon, nil)},
	{name: "stats", usage: "output of statistics information", apply: format(OptStats, func(f *Format) { f.Stats = true })},
	{name: "rate", usage: "output of rate information", apply: format(OptRate, func(f *Format) { f.Rate = true })},
	{name: "thresholds", usage: "output of thresholds information", apply: format(OptThresholds, func(f *Format) { f.Thresholds = true })},
	{name: "persistent-conn", usage: "output of persistent connection info",
		apply: format(OptPersistentConn, func(f *Format) { f.PersistentConn = true })},
	{name: "nosort", usage: "disable sorting output of service/server entries", apply: format(OptNoSort, func(f *Format) { f.NoSort = true })},
	// Sorting is the default; --sort is accepted with every command.
	{name: "sort", usage: "does nothing, for backwards compatibility", apply: func(s *state, _ string, _ *string) *Error { s.sort = true; return nil }},
	{name: "exact", short: "X", usage: "expand numbers (display exact values)", apply: format(OptExact, func(f *Format) { f.Exact = true })},
	{name: "ipv6", short: "6", usage: "fwmark entry uses IPv6", apply: ipv6},
	{name: "ops", short: "o", usage: "one-packet scheduling",
		apply: class(OptOnePacket, func(s *state, _ string) *Error { s.flags |= ipvs.FlagOnePacket; return nil })},
	{name: "pe", arg: argRequired, usage: "alternate persistence engine (sip)", apply: text(OptPE, peNameMax, func(s *state) *string { return &s.pe })},
	{name: "sched-flags", short: "b", arg: argRequired, usage: "scheduler flags (comma-separated)",
		apply: text(OptSchedFlags, schedFlagsBufferMax, func(s *state) *string { return &s.schedFlags })},
	{name: "mcast-group", arg: argRequired, usage: "IPv4/IPv6 group (default 224.0.0.81)", apply: class(OptMcastGroup, (*state).mcastGroup)},
	{name: "mcast-port", arg: argRequired, usage: "UDP port (default 8848)",
		apply: number(OptMcastPort, 1, 65535, "illegal mcast-port specified", func(s *state, n int64) { s.daemon.Port = uint16(n) })},
	{name: "mcast-ttl", arg: argRequired, usage: "multicast TTL (default 1)",
		apply: number(OptMcastTTL, 1, 255, "illegal mcast-ttl specified", func(s *state, n int64) { s.daemon.TTL = uint8(n) })},
	{name: "sync-maxlen", arg: argRequired, usage: "max sync message length (default 1472)",
		apply: number(OptSyncMaxLen, 1, 65535-20-8, "illegal sync-maxlen specified", func(s *state, n int64) { s.daemon.MaxLen = uint16(n) })},
	{name: "tun-info", usage: "output of tunnel information", apply: format(OptTunInfo, func(f *Format) { f.TunInfo = true })},
	{name: "tun-type", arg: argRequired, usage: "tunnel type: one of ipip|gue|gre (default ipip)", apply: class(OptTunType, (*state).tunnelType)},
	{name: "tun-port", arg: argRequired, usage: "tunnel destination port",
		apply: number(OptTunPort, 1, 65535, "illegal tunnel port specified", func(s *state, n int64) { s.dest.TunnelPort = uint16(n) })},
	{name: "tun-nocsum", usage: "tunnel encapsulation without checksum", apply: format(OptTunNoCsum, nil)},
	{name: "tun-csum", usage: "tunnel encapsulation with checksum", apply: tunnelFlag(OptTunCsum, ipvs.TunnelCsum)},
	{name: "tun-remcsum", usage: "tunnel encapsulation with remote checksum", apply: tunnelFlag(OptTunRemCsum, ipvs.TunnelRemCsum)},
}

// set records an option class, refusing a second use of it.
func (s *state) set(o Option) *Error {
	if s.opts.Has(o) {
		return failf("multiple '%s' options specified", o)
	}
	s.opts |= 1 << o
	return nil
}

// class records the option class o, then applies the value with fn.
func class(o Option, fn func(s *state, val string) *Error) func(*state, string, *string) *Error {
	return func(s *state, val string, _ *string) *Error {
		if err := s.set(o); err != nil {
			return err
		}
		return fn(s, val)
	}
}

// format is an option without a value: its class, and a listing option.
func format(o Option, fn func(f *Format)) func(*state, string, *string) *Error {
	return class(o, func(s *state, _ string) *Error {
		if fn != nil {
			fn(&s.format)
		}
		return nil
	})
}

// number is an option whose value is a number from min to max (ipvsadm's
// string_to_number); msg is its error.
func number(o Option, min, max int64, msg string, store func(s *state, n int64)) func(*state, string, *string) *Error {
	return class(o, func(s *state, val string) *Error {
		n, ok := stringToNumber(val, min, max)
		if !ok {
			return failf("%s", msg)
		}
		store(s, n)
		return nil
	})
}

// text is an option whose value is a name, cut to max bytes as ipvsadm's
// fixed-size buffers cut it.
func text(o Option, max int, field func(s *state) *string) func(*state, string, *string) *Error {
	return class(o, func(s *state, val string) *Error {
		*field(s) = truncate(val, max)
		return nil
	})
}

func forward(m ipvs.ForwardMethod) func(*state, string, *string) *Error {
	return class(OptForward, func(s *state, _ string) *Error {
		s.dest.ForwardMethod = m
		return nil
	})
}

func tunnelFlag(o Option, f ipvs.TunnelFlags) func(*state, string, *string) *Error {
	return class(o, func(s *state, _ string) *Error {
		s.dest.TunnelFlags |= f
		return nil
	})
}

func daemonState(msg string) func(*state, string, *string) *Error {
	return func(s *state, val string, _ *string) *Error {
		switch val {
		case "master":
			s.daemon.State = ipvs.Master
		case "backup":
			s.daemon.State = ipvs.Backup
		default:
			return failf("%s", msg)
		}
		return nil
	}
}

func serviceAddress(p ipvs.Protocol) func(*state, string, *string) *Error {
	return class(OptService, func(s *state, val string) *Error {
		s.protocol = p
		e, ok := parseEndpoint(val, protoName(p), s.r)
		if !ok {
			return failf("illegal virtual server address[:port] specified")
		}
		s.addr = e.addr
		if e.addr.Is6() {
			s.family, s.netmask = ipvs.IPv6, 128
		} else {
			s.family = ipvs.IPv4
		}
		if e.hasPort {
			s.port = e.port
		}
		return nil
	})
}

func (s *state) fwmarkService(val string) *Error {
	s.family, s.protocol = ipvs.IPv4, ipvs.TCP
	mark, ok := parseFWMark(val)
	if !ok && s.savedMarks {
		mark, ok = parseSavedFWMark(val)
	}
	if !ok {
		return failf("invalid fwmark value `%s' specified", val)
	}
	s.fwmark = mark
	return nil
}

func persistent(s *state, _ string, arg *string) *Error {
	if err := s.set(OptPersistent); err != nil {
		return err
	}
	s.flags |= ipvs.FlagPersistent
	t, err := parseTimeout(arg, 1)
	if err != nil {
		return err
	}
	s.timeout = t
	return nil
}

func (s *state) netmaskOption(val string) *Error {
	if s.family == ipvs.IPv6 {
		s.netmask = uint32(atoi(val))
		if s.netmask < 1 || s.netmask > 128 {
			return failf("illegal ipv6 netmask specified")
		}
		return nil
	}
	a, ok := inetAton(val)
	if !ok {
		a, ok = s.r.LookupIPv4(val)
	}
	if !ok {
		return failf("illegal virtual server persistent mask specified")
	}
	b := a.As4()
	s.netmask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return nil
}

func (s *state) realServer(val string) *Error {
	e, ok := parseEndpoint(val, protoName(s.protocol), s.r)
	if !ok {
		return failf("illegal real server address[:port] specified")
	}
	s.dest.Addr, s.dest.Port = e.addr, s.port
	if e.hasPort {
		s.dest.Port = e.port
	}
	return nil
}

func ipv6(s *state, _ string, _ *string) *Error {
	if s.fwmark == 0 {
		return failf("-6 used before -f\n")
	}
	s.family, s.netmask = ipvs.IPv6, 128
	return nil
}

func (s *state) mcastGroup(val string) *Error {
	if strings.Contains(val, ":") {
		a, ok := inetPton6(val)
		// IN6_IS_ADDR_MULTICAST looks at the first byte only (netip's
		// IsMulticast would unmap ::ffff:224.0.0.1).
		if !ok || a.As16()[0] != 0xff {
			return failf("invalid IPv6 mcast-group `%s'", val)
		}
		s.daemon.Group = a
		return nil
	}
	a, ok := inetPton4(val)
	if !ok || a.As4()[0]&0xf0 != 0xe0 {
		return failf("invalid IPv4 mcast-group `%s'", val)
	}
	s.daemon.Group = a
	return nil
}

func (s *state) tunnelType(val string) *Error {
	t, err := ipvs.ParseTunnelType(val)
	if err != nil {
		return failf("illegal tunnel type specified")
	}
	s.dest.TunnelType = t
	return nil
}
