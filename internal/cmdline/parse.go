package cmdline

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
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
	cmd := new(Command)
	if err := p.ParseInto(cmd, argv0, args); err != nil {
		return nil, err
	}
	return cmd, nil
}

// ParseInto is Parse into cmd, which it overwrites (a caller parsing many
// lines reuses one Command). On error cmd is unspecified.
func (p *Parser) ParseInto(cmd *Command, argv0 string, args []string) error {
	if err := p.parse(cmd, argv0, args); err != nil {
		return err
	}
	return nil
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

	argv []string // the buffer of the line's words, kept for the next parse
}

// statePool holds parse states: the option handlers are func values, so a
// state escapes to the heap, and a restore parses one line after another.
var statePool = sync.Pool{New: func() any { return new(state) }}

func (p *Parser) parse(cmd *Command, argv0 string, args []string) *Error {
	s := statePool.Get().(*state)
	defer func() {
		clear(s.argv[:cap(s.argv)]) // the pool keeps no line's words
		statePool.Put(s)
	}()
	argv := cStrings(append(append(s.argv[:0], argv0), args...))
	argv0 = argv[0]

	if len(args) == 0 {
		// A bare ipvsadm lists the table, as -L does.
		*cmd = Command{Kind: List}
		return nil
	}

	r := p.Resolver
	if r == nil {
		r = NamesResolver{names.New()}
	}
	*s = state{
		argv:       argv[:0],
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
	if perr != 0 || spec == nil || spec.kind == 0 {
		return tryHelp(argv0)
	}
	s.kind = spec.kind
	if s.kind == Help || s.kind == Version {
		*cmd = Command{Kind: s.kind}
		return nil
	}
	if err := s.apply(spec, arg); err != nil {
		return err
	}
	if err := s.readOptions(po); err != nil {
		return err
	}
	if s.kind == SetTimeouts {
		if err := s.timeoutValues(po); err != nil {
			return err
		}
	}
	if extra, ok := po.arg(); ok {
		return failf("unexpected argument %s", extra)
	}
	if err := s.check(); err != nil {
		return err
	}
	s.command(cmd)
	return nil
}

// cStrings cuts each word of argv at its first NUL, where a C string
// ends, in place.
func cStrings(argv []string) []string {
	for i, a := range argv {
		if j := strings.IndexByte(a, 0); j >= 0 {
			argv[i] = a[:j]
		}
	}
	return argv
}

// check checks the options read, in ipvsadm's order: the scheduler
// flags, the option table of the command, the values together, and the
// extensions' options.
func (s *state) check() *Error {
	if s.schedFlags != "" {
		flags, err := parseSchedFlags(s.sched, s.schedFlags)
		if err != nil {
			return err
		}
		s.flags = s.flags&^ipvs.FlagSchedMask | flags
	}
	if err := checkOptionTable(s.kind, s.opts); err != nil {
		return err
	}
	if err := s.checkSemantics(); err != nil {
		return err
	}
	return checkExtensions(s.kind, s.ext)
}

// readOptions applies the options after the command, in argv order.
func (s *state) readOptions(po *popt) *Error {
	for {
		spec, arg, perr := po.nextOpt()
		if perr != 0 {
			return poptFailure(po.badOption(), perr)
		}
		if spec == nil {
			return nil
		}
		if spec.kind != 0 {
			return failf("invalid option `%s'", po.badOption())
		}
		if err := s.apply(spec, arg); err != nil {
			return err
		}
	}
}

// timeoutValues reads the three values of --set from the arguments.
func (s *state) timeoutValues(po *popt) *Error {
	var values [3]string
	for i := range values {
		v, ok := po.arg()
		if !ok {
			return failf("--set option requires 3 timeout values")
		}
		values[i] = v
	}
	var secs [3]uint32
	for i, v := range values {
		n, err := parseTimeout(&v, 0)
		if err != nil {
			return err
		}
		secs[i] = n
	}
	s.timeouts = ipvs.Timeouts{
		TCP:    time.Duration(secs[0]) * time.Second,
		TCPFin: time.Duration(secs[1]) * time.Second,
		UDP:    time.Duration(secs[2]) * time.Second,
	}
	return nil
}

// apply carries out one option in argv order, as the loop in ipvsadm's
// parse_options does. arg is nil for options without a value and for -p
// without one.
func (s *state) apply(spec *optionSpec, arg *string) *Error {
	if spec.apply == nil {
		return nil
	}
	val := ""
	if arg != nil {
		val = *arg
	}
	return spec.apply(s, val, arg)
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
// are checked against the final scheduler (ipvs.DefaultScheduler when none
// was given).
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

func (s *state) command(cmd *Command) {
	svc := ipvs.Service{
		Family:    s.family,
		FWMark:    s.fwmark,
		Scheduler: s.sched,
		Flags:     s.flags,
		Timeout:   s.timeout,
		PEName:    s.pe,
	}
	if s.fwmark == 0 {
		svc.Protocol, svc.Addr, svc.Port = s.protocol, s.addr, s.port
	}
	if s.family == ipvs.IPv6 {
		svc.Netmask = ipvs.IPv6Prefix(int(s.netmask))
	} else {
		svc.Netmask = ipvs.IPv4NetmaskBits(s.netmask)
	}
	*cmd = Command{
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
