package cmdline

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Limits from ipvsadm.
const (
	maxTimeout          = 86400 * 31 // -p and --set, seconds
	defaultPersistence  = 360        // -p without a value
	maxInt              = 1<<31 - 1
	schedNameMax        = 15 // IP_VS_SCHEDNAME_MAXLEN - 1
	peNameMax           = 16 // IP_VS_PENAME_MAXLEN
	ifNameMax           = 15 // IP_VS_IFNAME_MAXLEN - 1
	schedFlagsBufferMax = 127
	defaultInterface    = "eth0"
)

// Parser parses command lines; the zero value is not usable, use NewParser
// or set Resolver.
type Parser struct {
	// Resolver resolves host and service names.
	Resolver Resolver
	// PosixlyCorrect makes the first non-option word end the options, as
	// popt does when POSIXLY_CORRECT or POSIX_ME_HARDER is set.
	PosixlyCorrect bool
	// IpvsadmOnly recognises ipvsadm 1.31's options alone: goipvsadm's
	// own (--json, --sync, --lossless, ...) are then unknown options, as
	// they are to ipvsadm ("--json: unknown option", a PoptError). Set
	// it for the lines of -R input: those options are for the command
	// line of the whole run, never for a single rule.
	IpvsadmOnly bool
	// SavedMarks also reads the negative firewall marks ipvsadm -S
	// writes for marks of 2^31 and more (it prints them with %d):
	// -1294967296 is mark 3000000000, the same 32 bits. Set it for the
	// lines of -R input; on the command line a negative mark stays an
	// error, as in ipvsadm.
	SavedMarks bool
}

// NewParser returns a Parser that uses the system's name databases and the
// process environment, as ipvsadm does.
func NewParser() *Parser {
	return &Parser{
		Resolver:       NamesResolver{names.New()},
		PosixlyCorrect: os.Getenv("POSIXLY_CORRECT") != "" || os.Getenv("POSIX_ME_HARDER") != "",
	}
}

// Parse interprets one ipvsadm command line (args without argv[0]) exactly
// as ipvsadm 1.31 does, with the system's name databases. argv0 is used in
// messages. An empty args is the full listing, as a bare "ipvsadm" is.
// Errors are of type *Error.
func Parse(argv0 string, args []string) (*Command, error) {
	return NewParser().Parse(argv0, args)
}

// Parse interprets one command line; see the package function Parse.
func (p *Parser) Parse(argv0 string, args []string) (*Command, error) {
	cmd, err := p.parse(argv0, args)
	if err != nil {
		return nil, err
	}
	return cmd, nil
}

// state is ipvsadm's struct ipvs_command_entry plus its option and format
// bits while the options are read.
type state struct {
	r          Resolver
	savedMarks bool // Parser.SavedMarks
	kind       Kind
	opts       OptionSet

	family   ipvs.Family
	protocol ipvs.Protocol
	addr     netip.Addr
	port     uint16
	fwmark   uint32
	sched    string
	flags    ipvs.ServiceFlags
	timeout  uint32
	netmask  uint32 // IPv4: the mask as a number; IPv6: the prefix length
	pe       string

	dest ipvs.Destination

	timeouts ipvs.Timeouts
	daemon   ipvs.Daemon
	format   Format
	sort     bool
	ext      ExtensionSet
	restore  RestoreOptions

	schedFlags string // the -b argument, as kept in ipvsadm's buffer
}

func (p *Parser) parse(argv0 string, args []string) (*Command, *Error) {
	// C strings end at the first NUL.
	argv := make([]string, len(args)+1)
	argv[0] = argv0
	copy(argv[1:], args)
	for i, a := range argv {
		if j := strings.IndexByte(a, 0); j >= 0 {
			argv[i] = a[:j]
		}
	}
	argv0 = argv[0]

	if len(args) == 0 {
		// A bare ipvsadm lists the table, as -L does.
		return &Command{Kind: List}, nil
	}

	r := p.Resolver
	if r == nil {
		r = NamesResolver{names.New()}
	}
	s := &state{
		r:          r,
		savedMarks: p.SavedMarks,
		netmask:    0xffffffff,
		dest:       ipvs.Destination{ForwardMethod: ipvs.DirectRoute, Weight: 1},
	}
	table := options
	if p.IpvsadmOnly {
		table = ipvsadmOptions
	}
	po := newPopt(table, argv, p.PosixlyCorrect)

	// The first option must be a command.
	spec, arg, perr := po.nextOpt()
	if perr != 0 || spec == nil || !spec.command {
		return nil, tryHelp(argv0)
	}
	switch spec.name {
	case "help":
		return &Command{Kind: Help}, nil
	case "version":
		return &Command{Kind: Version}, nil
	case "start-daemon", "stop-daemon":
		s.kind = StartDaemon
		msg := "illegal start-daemon parameter specified"
		if spec.name == "stop-daemon" {
			// ipvsadm's message for --stop-daemon really says
			// start_daemon.
			s.kind, msg = StopDaemon, "illegal start_daemon specified"
		}
		switch *arg {
		case "master":
			s.daemon.State = ipvs.Master
		case "backup":
			s.daemon.State = ipvs.Backup
		default:
			return nil, failf("%s", msg)
		}
	default:
		s.kind = commandKinds[spec.name]
	}

	for {
		spec, arg, perr := po.nextOpt()
		if perr != 0 {
			return nil, poptFailure(po.badOption(), perr)
		}
		if spec == nil {
			break
		}
		if spec.command {
			return nil, failf("invalid option `%s'", po.badOption())
		}
		if err := s.option(spec.name, arg); err != nil {
			return nil, err
		}
	}

	if s.kind == SetTimeouts {
		var values [3]string
		for i := range values {
			v, ok := po.arg()
			if !ok {
				return nil, failf("--set option requires 3 timeout values")
			}
			values[i] = v
		}
		var secs [3]uint32
		for i, v := range values {
			n, err := parseTimeout(&v, 0)
			if err != nil {
				return nil, err
			}
			secs[i] = n
		}
		s.timeouts = ipvs.Timeouts{
			TCP:    time.Duration(secs[0]) * time.Second,
			TCPFin: time.Duration(secs[1]) * time.Second,
			UDP:    time.Duration(secs[2]) * time.Second,
		}
	}
	if extra, ok := po.arg(); ok {
		return nil, failf("unexpected argument %s", extra)
	}

	if s.schedFlags != "" {
		flags, err := parseSchedFlags(s.sched, s.schedFlags)
		if err != nil {
			return nil, err
		}
		s.flags = s.flags&^ipvs.FlagSchedMask | flags
	}

	if err := checkOptionTable(s.kind, s.opts); err != nil {
		return nil, err
	}
	if err := s.checkSemantics(); err != nil {
		return nil, err
	}
	if err := checkExtensions(s.kind, s.ext); err != nil {
		return nil, err
	}
	return s.command(), nil
}

// commandKinds maps the long names of the command flags to their command.
var commandKinds = map[string]Kind{
	"add-service":    AddService,
	"edit-service":   EditService,
	"delete-service": DeleteService,
	"clear":          Flush,
	"list":           List,
	"zero":           Zero,
	"add-server":     AddServer,
	"edit-server":    EditServer,
	"delete-server":  DeleteServer,
	"set":            SetTimeouts,
	"restore":        Restore,
	"save":           Save,
}

// set records an option class, refusing a second use of it.
func (s *state) set(o Option) *Error {
	if s.opts.Has(o) {
		return failf("multiple '%s' options specified", o)
	}
	s.opts |= 1 << o
	return nil
}

// option applies one option (not a command) in argv order, as the loop in
// ipvsadm's parse_options does. arg is nil for options without a value and
// for -p without one.
func (s *state) option(name string, arg *string) *Error {
	val := ""
	if arg != nil {
		val = *arg
	}
	switch name {
	case "tcp-service", "udp-service", "sctp-service":
		if err := s.set(OptService); err != nil {
			return err
		}
		s.protocol = map[string]ipvs.Protocol{"tcp-service": ipvs.TCP, "udp-service": ipvs.UDP, "sctp-service": ipvs.SCTP}[name]
		e, ok := parseEndpoint(val, protoName(s.protocol), s.r)
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
	case "fwmark-service":
		if err := s.set(OptService); err != nil {
			return err
		}
		s.family, s.protocol = ipvs.IPv4, ipvs.TCP
		mark, ok := parseFWMark(val)
		if !ok && s.savedMarks {
			mark, ok = parseSavedFWMark(val)
		}
		if !ok {
			return failf("invalid fwmark value `%s' specified", val)
		}
		s.fwmark = mark
	case "scheduler":
		if err := s.set(OptScheduler); err != nil {
			return err
		}
		s.sched = truncate(val, schedNameMax)
	case "persistent":
		if err := s.set(OptPersistent); err != nil {
			return err
		}
		s.flags |= ipvs.FlagPersistent
		t, err := parseTimeout(arg, 1)
		if err != nil {
			return err
		}
		s.timeout = t
	case "netmask":
		if err := s.set(OptNetmask); err != nil {
			return err
		}
		if s.family != ipvs.IPv6 {
			a, ok := inetAton(val)
			if !ok {
				a, ok = s.r.LookupIPv4(val)
			}
			if !ok {
				return failf("illegal virtual server persistent mask specified")
			}
			b := a.As4()
			s.netmask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		} else {
			s.netmask = uint32(atoi(val))
			if s.netmask < 1 || s.netmask > 128 {
				return failf("illegal ipv6 netmask specified")
			}
		}
	case "real-server":
		if err := s.set(OptRealServer); err != nil {
			return err
		}
		e, ok := parseEndpoint(val, protoName(s.protocol), s.r)
		if !ok {
			return failf("illegal real server address[:port] specified")
		}
		s.dest.Addr, s.dest.Port = e.addr, s.port
		if e.hasPort {
			s.dest.Port = e.port
		}
	case "ipip", "gatewaying", "masquerading":
		if err := s.set(OptForward); err != nil {
			return err
		}
		s.dest.ForwardMethod = map[string]ipvs.ForwardMethod{"ipip": ipvs.Tunnel, "gatewaying": ipvs.DirectRoute, "masquerading": ipvs.Masquerade}[name]
	case "weight":
		if err := s.set(OptWeight); err != nil {
			return err
		}
		n, ok := stringToNumber(val, 0, maxInt)
		if !ok {
			return failf("illegal weight specified")
		}
		s.dest.Weight = uint32(n)
	case "u-threshold":
		if err := s.set(OptUThreshold); err != nil {
			return err
		}
		n, ok := stringToNumber(val, 0, maxInt)
		if !ok {
			return failf("illegal u_threshold specified")
		}
		s.dest.UpperThreshold = uint32(n)
	case "l-threshold":
		if err := s.set(OptLThreshold); err != nil {
			return err
		}
		n, ok := stringToNumber(val, 0, maxInt)
		if !ok {
			return failf("illegal l_threshold specified")
		}
		s.dest.LowerThreshold = uint32(n)
	case "connection":
		return s.set(OptConnection)
	case "numeric":
		s.format.Numeric = true
		return s.set(OptNumeric)
	case "mcast-interface":
		if err := s.set(OptMcastInterface); err != nil {
			return err
		}
		s.daemon.Interface = truncate(val, ifNameMax)
	case "syncid":
		if err := s.set(OptSyncID); err != nil {
			return err
		}
		n, ok := stringToNumber(val, 0, 255)
		if !ok {
			return failf("illegal syncid specified")
		}
		s.daemon.SyncID = uint32(n)
	case "timeout":
		return s.set(OptTimeout)
	case "daemon":
		return s.set(OptDaemon)
	case "stats":
		s.format.Stats = true
		return s.set(OptStats)
	case "rate":
		s.format.Rate = true
		return s.set(OptRate)
	case "thresholds":
		s.format.Thresholds = true
		return s.set(OptThresholds)
	case "persistent-conn":
		s.format.PersistentConn = true
		return s.set(OptPersistentConn)
	case "nosort":
		s.format.NoSort = true
		return s.set(OptNoSort)
	case "sort":
		// Sorting is the default; accepted with every command.
		s.sort = true
	case "exact":
		s.format.Exact = true
		return s.set(OptExact)
	case "ipv6":
		if s.fwmark == 0 {
			return failf("-6 used before -f\n")
		}
		s.family, s.netmask = ipvs.IPv6, 128
	case "ops":
		if err := s.set(OptOnePacket); err != nil {
			return err
		}
		s.flags |= ipvs.FlagOnePacket
	case "pe":
		if err := s.set(OptPE); err != nil {
			return err
		}
		s.pe = truncate(val, peNameMax)
	case "sched-flags":
		if err := s.set(OptSchedFlags); err != nil {
			return err
		}
		s.schedFlags = truncate(val, schedFlagsBufferMax)
	case "mcast-group":
		if err := s.set(OptMcastGroup); err != nil {
			return err
		}
		if strings.Contains(val, ":") {
			a, ok := inetPton6(val)
			// IN6_IS_ADDR_MULTICAST looks at the first byte only
			// (netip's IsMulticast would unmap ::ffff:224.0.0.1).
			if !ok || a.As16()[0] != 0xff {
				return failf("invalid IPv6 mcast-group `%s'", val)
			}
			s.daemon.Group = a
		} else {
			a, ok := inetPton4(val)
			if !ok || a.As4()[0]&0xf0 != 0xe0 {
				return failf("invalid IPv4 mcast-group `%s'", val)
			}
			s.daemon.Group = a
		}
	case "mcast-port":
		if err := s.set(OptMcastPort); err != nil {
			return err
		}
		n, ok := stringToNumber(val, 1, 65535)
		if !ok {
			return failf("illegal mcast-port specified")
		}
		s.daemon.Port = uint16(n)
	case "mcast-ttl":
		if err := s.set(OptMcastTTL); err != nil {
			return err
		}
		n, ok := stringToNumber(val, 1, 255)
		if !ok {
			return failf("illegal mcast-ttl specified")
		}
		s.daemon.TTL = uint8(n)
	case "sync-maxlen":
		if err := s.set(OptSyncMaxLen); err != nil {
			return err
		}
		n, ok := stringToNumber(val, 1, 65535-20-8)
		if !ok {
			return failf("illegal sync-maxlen specified")
		}
		s.daemon.MaxLen = uint16(n)
	case "tun-info":
		s.format.TunInfo = true
		return s.set(OptTunInfo)
	case "tun-type":
		if err := s.set(OptTunType); err != nil {
			return err
		}
		t, err := ipvs.ParseTunnelType(val)
		if err != nil {
			return failf("illegal tunnel type specified")
		}
		s.dest.TunnelType = t
	case "tun-port":
		if err := s.set(OptTunPort); err != nil {
			return err
		}
		n, ok := stringToNumber(val, 1, 65535)
		if !ok {
			return failf("illegal tunnel port specified")
		}
		s.dest.TunnelPort = uint16(n)
	case "tun-nocsum":
		return s.set(OptTunNoCsum)
	case "tun-csum":
		if err := s.set(OptTunCsum); err != nil {
			return err
		}
		s.dest.TunnelFlags |= ipvs.TunnelCsum
	case "tun-remcsum":
		if err := s.set(OptTunRemCsum); err != nil {
			return err
		}
		s.dest.TunnelFlags |= ipvs.TunnelRemCsum
	case "json", "sync", "atomic", "dry-run", "lossless":
		return s.setExtension(extensionByName[name])
	default:
		// Every flag of Flags is handled above; reaching this is a bug
		// in this package, reported like ipvsadm's default case.
		return failf("invalid option `--%s'", name)
	}
	return nil
}

func protoName(p ipvs.Protocol) string {
	switch p {
	case ipvs.TCP:
		return "tcp"
	case ipvs.UDP:
		return "udp"
	case ipvs.SCTP:
		return "sctp"
	}
	return ""
}

// parseTimeout is ipvsadm's parse_timeout: nil (-p without a value) is the
// default persistence timeout.
func parseTimeout(arg *string, min int64) (uint32, *Error) {
	if arg == nil {
		return defaultPersistence, nil
	}
	n, ok := stringToNumber(*arg, min, maxTimeout)
	if !ok {
		return 0, failf("invalid timeout value `%s' specified", *arg)
	}
	return uint32(n), nil
}

// parseFWMark is ipvsadm's parse_fwmark: strtol, then the value taken as an
// unsigned long must be 1..UINT_MAX (so negative numbers fail).
func parseFWMark(s string) (uint32, bool) {
	v, rest, ok, erange := strtol(s)
	if !ok || rest != "" || erange || v <= 0 || v > 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// parseSavedFWMark reads a mark as ipvsadm -S prints it with %d: a
// negative number from -2^31 to -1 is the mark of the same 32 bits.
func parseSavedFWMark(s string) (uint32, bool) {
	v, rest, ok, erange := strtol(s)
	if !ok || rest != "" || erange || v < -1<<31 || v >= 0 {
		return 0, false
	}
	return uint32(int32(v)), true
}

// parseSchedFlags is ipvsadm's parse_sched_flags: the comma-separated names
// are checked against the final scheduler (wlc when none was given).
func parseSchedFlags(sched, arg string) (ipvs.ServiceFlags, *Error) {
	if sched == "" {
		sched = ipvs.DefaultScheduler
	}
	var flags ipvs.ServiceFlags
	names := 0
	for _, name := range strings.Split(arg, ",") {
		if name == "" {
			continue
		}
		names++
		f, err := ipvs.ParseSchedFlag(name, sched)
		switch {
		case errors.Is(err, ipvs.ErrSchedFlagIncompatible):
			return 0, failf("incompatible scheduler flag `%s'", name)
		case err != nil:
			return 0, failf("invalid scheduler flag `%s'", name)
		}
		flags |= f
	}
	if names == 0 {
		// Only commas: ipvsadm 1.31 crashes here (strtok returns NULL
		// and it is dereferenced). We report it instead.
		return 0, failf("invalid scheduler flag `%s'", arg)
	}
	return flags, nil
}

// checkOptionTable is ipvsadm's generic_opt_check.
func checkOptionTable(k Kind, opts OptionSet) *Error {
	row := optionTableRows[k]
	first := Option(0)
	exclusive := 0
	for o := Option(0); o < numOptions; o++ {
		cell := row[o]
		if !opts.Has(o) {
			if cell == '+' {
				return failf("You need to supply the '%s' option for the '%s' command", o, k)
			}
			continue
		}
		switch cell {
		case 'x':
			return failf("Illegal '%s' option with the '%s' command", o, k)
		case '1':
			exclusive++
			if exclusive == 1 {
				first = o
				continue
			}
			return failf("The option '%s' conflicts with the '%s' option in the '%s' command", o, first, k)
		}
	}
	return nil
}

// tunnelOptionRows is ipvsadm's tunnel type / option table; columns are
// tun-port, tun-nocsum, tun-csum, tun-remcsum.
var tunnelOptionRows = map[ipvs.TunnelType]string{
	ipvs.IPIP: "xxxx",
	ipvs.GUE:  "+111",
	ipvs.GRE:  "x11x",
}

var tunnelOptions = [4]Option{OptTunPort, OptTunNoCsum, OptTunCsum, OptTunRemCsum}

// checkTunnelOptions is ipvsadm's tunnel_opt_check.
func checkTunnelOptions(t ipvs.TunnelType, opts OptionSet) *Error {
	row := tunnelOptionRows[t]
	first := Option(0)
	exclusive := 0
	for i, o := range tunnelOptions {
		cell := row[i]
		if !opts.Has(o) {
			if cell == '+' {
				return failf("You need to supply the '%s' option for the '%s' tunnel type", o, t)
			}
			continue
		}
		switch cell {
		case 'x':
			return failf("Illegal '%s' option with the '%s' tunnel type", o, t)
		case '1':
			exclusive++
			if exclusive == 1 {
				first = o
				continue
			}
			return failf("The option '%s' conflicts with the '%s' option in the '%s' tunnel type", o, first, t)
		}
	}
	return nil
}

// checkSemantics is the part of ipvsadm's process_options between the
// option table check and the execution, defaults included.
func (s *state) checkSemantics() *Error {
	switch s.kind {
	case AddService, EditService:
		if s.fwmark == 0 && s.port == 0 && s.flags&ipvs.FlagPersistent == 0 {
			return failf("Zero port specified for non-persistent service")
		}
		if s.flags&ipvs.FlagOnePacket != 0 && s.fwmark == 0 && s.protocol != ipvs.UDP {
			return failf("One-Packet Scheduling is only for UDP virtual services")
		}
		if s.sched == "" {
			s.sched = ipvs.DefaultScheduler
		}
	case StartDaemon:
		if s.daemon.Interface == "" {
			s.daemon.Interface = defaultInterface
		}
	case AddServer, EditServer:
		fwd := s.dest.ForwardMethod
		if s.fwmark == 0 && (fwd == ipvs.Tunnel || fwd == ipvs.DirectRoute) {
			s.dest.Port = s.port
		}
		if s.dest.Family() != s.family && fwd != ipvs.Tunnel {
			return failf("Different address family is allowed only for tunneling servers")
		}
		if s.opts.HasAny(OptTunType, OptTunPort, OptTunNoCsum, OptTunCsum, OptTunRemCsum) && fwd != ipvs.Tunnel {
			return failf("Tunnel options conflict with forward method")
		}
		if err := checkTunnelOptions(s.dest.TunnelType, s.opts); err != nil {
			return err
		}
	case List:
		if s.opts.HasAny(OptConnection, OptTimeout, OptDaemon) && s.opts.HasAny(OptStats, OptRate, OptThresholds) ||
			s.opts.HasAny(OptTimeout, OptDaemon) && s.opts.Has(OptPersistentConn) {
			return failf("options conflicts in the list command")
		}
	}
	return nil
}

func (s *state) command() *Command {
	svc := ipvs.Service{
		Family:    s.family,
		Protocol:  s.protocol,
		FWMark:    s.fwmark,
		Scheduler: s.sched,
		Flags:     s.flags,
		Timeout:   s.timeout,
		PEName:    s.pe,
	}
	if s.fwmark == 0 {
		svc.Addr, svc.Port = s.addr, s.port
	}
	if s.family == ipvs.IPv6 {
		svc.Netmask = ipvs.IPv6Prefix(int(s.netmask))
	} else {
		svc.Netmask = ipvs.IPv4NetmaskBits(s.netmask)
	}
	return &Command{
		Kind:     s.kind,
		Options:  s.opts,
		Service:  svc,
		Dest:     s.dest,
		Timeouts: s.timeouts,
		Daemon:   s.daemon,
		Format:   s.format,
		Sort:     s.sort,
		Restore:  s.restore,
	}
}
