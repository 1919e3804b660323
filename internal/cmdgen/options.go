package cmdgen

// ipvsadm 1.31's option table: every command and option, their short and
// long names, what value each takes, and which options each command
// allows and requires.

// option is one entry of the option table.
type option struct {
	long  string
	short string // "" if it has none
	value valueKind
}

// valueKind says what value an option takes and how to make one.
type valueKind int

const (
	noValue valueKind = iota
	optionalTimeout
	serviceAddr
	fwmark
	scheduler
	netmask
	realServer
	integer31 // weight, thresholds: 0..2^31-1
	ifname
	syncid
	peName
	schedFlags
	mcastGroup
	port16 // mcast-port, tun-port: 1..65535
	ttl
	maxlen
	tunType
	daemonState
)

var (
	optTCP        = option{"tcp-service", "t", serviceAddr}
	optUDP        = option{"udp-service", "u", serviceAddr}
	optSCTP       = option{"sctp-service", "", serviceAddr}
	optFWMark     = option{"fwmark-service", "f", fwmark}
	optScheduler  = option{"scheduler", "s", scheduler}
	optPersistent = option{"persistent", "p", optionalTimeout}
	optNetmask    = option{"netmask", "M", netmask}
	optReal       = option{"real-server", "r", realServer}
	optMasq       = option{"masquerading", "m", noValue}
	optIPIP       = option{"ipip", "i", noValue}
	optGate       = option{"gatewaying", "g", noValue}
	optWeight     = option{"weight", "w", integer31}
	optUThresh    = option{"u-threshold", "x", integer31}
	optLThresh    = option{"l-threshold", "y", integer31}
	optNumeric    = option{"numeric", "n", noValue}
	optConn       = option{"connection", "c", noValue}
	optMcastIf    = option{"mcast-interface", "", ifname}
	optSyncID     = option{"syncid", "", syncid}
	optTimeout    = option{"timeout", "", noValue}
	optDaemon     = option{"daemon", "", noValue}
	optStats      = option{"stats", "", noValue}
	optRate       = option{"rate", "", noValue}
	optThresholds = option{"thresholds", "", noValue}
	optPConn      = option{"persistent-conn", "", noValue}
	optNosort     = option{"nosort", "", noValue}
	optSort       = option{"sort", "", noValue}
	optExact      = option{"exact", "X", noValue}
	optIPv6       = option{"ipv6", "6", noValue}
	optOps        = option{"ops", "o", noValue}
	optPE         = option{"pe", "", peName}
	optSchedFlags = option{"sched-flags", "b", schedFlags}
	optMcastGroup = option{"mcast-group", "", mcastGroup}
	optMcastPort  = option{"mcast-port", "", port16}
	optMcastTTL   = option{"mcast-ttl", "", ttl}
	optMaxlen     = option{"sync-maxlen", "", maxlen}
	optTunInfo    = option{"tun-info", "", noValue}
	optTunType    = option{"tun-type", "", tunType}
	optTunPort    = option{"tun-port", "", port16}
	optTunNocsum  = option{"tun-nocsum", "", noValue}
	optTunCsum    = option{"tun-csum", "", noValue}
	optTunRemcsum = option{"tun-remcsum", "", noValue}
)

// allOptions are the options that are not commands.
var allOptions = []option{
	optTCP, optUDP, optSCTP, optFWMark, optScheduler, optPersistent, optNetmask, optReal,
	optMasq, optIPIP, optGate, optWeight, optUThresh, optLThresh, optNumeric, optConn,
	optMcastIf, optSyncID, optTimeout, optDaemon, optStats, optRate, optThresholds, optPConn,
	optNosort, optSort, optExact, optIPv6, optOps, optPE, optSchedFlags, optMcastGroup,
	optMcastPort, optMcastTTL, optMaxlen, optTunInfo, optTunType, optTunPort, optTunNocsum,
	optTunCsum, optTunRemcsum,
}

// command is one of ipvsadm's commands with what it allows.
type command struct {
	opt      option   // the command option itself (value: daemonState or none)
	aliases  []string // other short names (-l for -L)
	service  bool     // requires a service (-t/-u/--sctp-service/-f)
	optional []option // may be given
	required []option // must be given besides the service
	// positional are the words after the options (--set's timeouts).
	positional int
}

var (
	serviceOptions = []option{optScheduler, optPersistent, optNetmask, optOps, optPE, optSchedFlags}
	// The forwarding method and the tunnel options of a real server come
	// from its target (lineFor), as they go together.
	serverOptions = []option{optWeight, optUThresh, optLThresh}
	listOptions   = []option{optNumeric, optStats, optRate, optThresholds, optPConn, optNosort,
		optSyncID, optExact, optTunInfo, optSort}
	daemonOptions = []option{optMcastIf, optSyncID, optMcastGroup, optMcastPort, optMcastTTL, optMaxlen}
)

var (
	cmdAddService    = command{opt: option{"add-service", "A", noValue}, service: true, optional: serviceOptions}
	cmdEditService   = command{opt: option{"edit-service", "E", noValue}, service: true, optional: serviceOptions}
	cmdDeleteService = command{opt: option{"delete-service", "D", noValue}, service: true}
	cmdFlush         = command{opt: option{"clear", "C", noValue}}
	cmdList          = command{opt: option{"list", "L", noValue}, aliases: []string{"l"}, optional: listOptions}
	cmdZero          = command{opt: option{"zero", "Z", noValue}}
	cmdAddServer     = command{opt: option{"add-server", "a", noValue}, service: true, required: []option{optReal}, optional: serverOptions}
	cmdEditServer    = command{opt: option{"edit-server", "e", noValue}, service: true, required: []option{optReal}, optional: serverOptions}
	cmdDeleteServer  = command{opt: option{"delete-server", "d", noValue}, service: true, required: []option{optReal}}
	cmdSet           = command{opt: option{"set", "", noValue}, positional: 3}
	cmdRestore       = command{opt: option{"restore", "R", noValue}}
	cmdSave          = command{opt: option{"save", "S", noValue}, optional: []option{optNumeric}}
	cmdStartDaemon   = command{opt: option{"start-daemon", "", daemonState}, optional: daemonOptions}
	cmdStopDaemon    = command{opt: option{"stop-daemon", "", daemonState}, optional: []option{optSyncID}}
	cmdHelp          = command{opt: option{"help", "h", noValue}}
	cmdVersion       = command{opt: option{"version", "v", noValue}}
)

// commands are weighted by how much there is to test in each.
var commands = []command{
	cmdAddService, cmdAddService, cmdAddService, cmdAddService,
	cmdEditService, cmdEditService, cmdDeleteService, cmdDeleteService,
	cmdFlush,
	cmdList, cmdList, cmdList, cmdList, cmdList,
	cmdZero, cmdZero,
	cmdAddServer, cmdAddServer, cmdAddServer, cmdAddServer, cmdAddServer,
	cmdEditServer, cmdEditServer, cmdDeleteServer, cmdDeleteServer,
	cmdSet, cmdSave, cmdSave,
	cmdRestore,
}

// rareCommands are picked now and then: there is little to test in -h and
// -v, and a sync daemon that starts is a kernel thread (each start is
// stopped again to put the table back, which the kernel does not always
// survive: see e2e/README.md).
var rareCommands = []command{cmdHelp, cmdVersion, cmdStartDaemon, cmdStopDaemon, cmdStartDaemon, cmdStopDaemon}

// allCommands is every command once, for mistakes that add a second one.
var allCommands = []command{
	cmdAddService, cmdEditService, cmdDeleteService, cmdFlush, cmdList, cmdZero,
	cmdAddServer, cmdEditServer, cmdDeleteServer, cmdSet, cmdRestore, cmdSave,
	cmdStartDaemon, cmdStopDaemon, cmdHelp, cmdVersion,
}

// unknownOptions are options ipvsadm does not have (none of them is one
// of goipvsadm's own, which are documented extensions).
var unknownOptions = []string{"--foo", "--numer", "--list-all", "-V", "-q", "--ipv4", "-", "-1", "---L", "--", "-N", "--tcp"}
