package cmdline

import (
	"fmt"
	"strings"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Kind is the command a command line asks for.
type Kind int

// Commands, numbered and named as in ipvsadm (the order matters: it is the
// row order of the option table).
const (
	AddService Kind = iota + 1
	EditService
	DeleteService
	Flush
	List
	AddServer
	DeleteServer
	EditServer
	SetTimeouts
	StartDaemon
	StopDaemon
	Restore
	Save
	Zero
	Help    // -h: print Usage, exit 0
	Version // -v: print the version line, exit 0
)

var kindNames = [...]string{
	AddService:    "add-service",
	EditService:   "edit-service",
	DeleteService: "delete-service",
	Flush:         "flush",
	List:          "list",
	AddServer:     "add-server",
	DeleteServer:  "delete-server",
	EditServer:    "edit-server",
	SetTimeouts:   "set",
	StartDaemon:   "start-daemon",
	StopDaemon:    "stop-daemon",
	Restore:       "restore",
	Save:          "save",
	Zero:          "zero",
	Help:          "help",
	Version:       "version",
}

// String returns the name ipvsadm uses for the command in messages.
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Option is one of the 34 option classes ipvsadm checks against the command
// (a column of its option table). Several flags may share one: -t, -u,
// --sctp-service and -f are all OptService.
type Option uint

// Options, in ipvsadm's column order; this order decides which error is
// reported first.
const (
	OptNumeric Option = iota
	OptConnection
	OptService
	OptScheduler
	OptPersistent
	OptNetmask
	OptRealServer
	OptForward
	OptWeight
	OptUThreshold
	OptLThreshold
	OptMcastInterface
	OptTimeout
	OptDaemon
	OptStats
	OptRate
	OptThresholds
	OptPersistentConn
	OptNoSort
	OptSyncID
	OptExact
	OptOnePacket
	OptPE
	OptSchedFlags
	OptMcastGroup
	OptMcastPort
	OptMcastTTL
	OptSyncMaxLen
	OptTunInfo
	OptTunType
	OptTunPort
	OptTunNoCsum
	OptTunCsum
	OptTunRemCsum
	numOptions
)

var optionNames = [numOptions]string{
	"numeric", "connection", "service-address", "scheduler", "persistent",
	"netmask", "real-server", "forwarding-method", "weight", "u-threshold",
	"l-threshold", "mcast-interface", "timeout", "daemon", "stats", "rate",
	"thresholds", "persistent-conn", "nosort", "syncid", "exact", "ops", "pe",
	"sched-flags", "mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen",
	"tun-info", "tun-type", "tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
}

// String returns the name ipvsadm uses for the option in messages.
func (o Option) String() string {
	if o < numOptions {
		return optionNames[o]
	}
	return fmt.Sprintf("Option(%d)", uint(o))
}

// OptionSet is a set of Options; bit n is Option n, as in ipvsadm.
type OptionSet uint64

// Has reports whether o is in the set.
func (s OptionSet) Has(o Option) bool { return s&(1<<o) != 0 }

// HasAny reports whether any of os is in the set.
func (s OptionSet) HasAny(os ...Option) bool {
	for _, o := range os {
		if s.Has(o) {
			return true
		}
	}
	return false
}

// String lists the options' names, e.g. "numeric,stats".
func (s OptionSet) String() string {
	var names []string
	for o := Option(0); o < numOptions; o++ {
		if s.Has(o) {
			names = append(names, o.String())
		}
	}
	return strings.Join(names, ",")
}

// optionTableRows is ipvsadm's table of legal command/option combinations,
// one row per command (Kind order) and one column per Option:
// '+' required, 'x' illegal, '1' at most one of the '1' columns, '.' optional.
var optionTableRows = [...]string{
	AddService:    "xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx",
	EditService:   "xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx",
	DeleteService: "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	Flush:         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	List:          ".11xxxxxxxxx11.......xxxxxxx.xxxxx",
	AddServer:     "xx+xxx+....xxxxxxxxxxxxxxxxxx.....",
	DeleteServer:  "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx",
	EditServer:    "xx+xxx+....xxxxxxxxxxxxxxxxxx.....",
	SetTimeouts:   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	StartDaemon:   "xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxx",
	StopDaemon:    "xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxx",
	Restore:       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	Save:          ".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	Zero:          "xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
}

// Format holds the listing options of -L and -S.
type Format struct {
	Numeric        bool // -n
	Stats          bool // --stats
	Rate           bool // --rate
	Thresholds     bool // --thresholds
	PersistentConn bool // --persistent-conn
	NoSort         bool // --nosort
	Exact          bool // --exact, -X
	TunInfo        bool // --tun-info

	// JSON (--json, goipvsadm's own) prints the -L listing as one JSON
	// document. The listing is always numeric and carries every field,
	// so the options above other than NoSort do not change it.
	JSON bool
	// Lossless (--lossless, goipvsadm's own) makes -S save every
	// attribute the kernel keeps, and the timeouts, in a form -R reads
	// back exactly. It implies Numeric.
	Lossless bool
}

// Command is a parsed command line. Its fields hold exactly what ipvsadm
// would send to the kernel for the command, defaults included: for -E and
// -e that is a full replacement of the object, not a patch.
type Command struct {
	Kind Kind
	// Options are the option classes given (for -L: OptService says a
	// single service was named).
	Options OptionSet

	// Service is the virtual service (all commands that take one). A
	// fwmark service has no protocol, address or port, and Family IPv4
	// unless -6 was given; Scheduler is ipvs.DefaultScheduler by default
	// only for -A and -E.
	// Addr is the zero Addr when no address was given.
	Service ipvs.Service
	// Dest is the real server of -a, -e and -d.
	Dest ipvs.Destination
	// Timeouts are the three --set values (0 = leave unchanged).
	Timeouts ipvs.Timeouts
	// Daemon is the sync daemon of --start-daemon and --stop-daemon (and
	// the --syncid of -L, which ipvsadm accepts and ignores).
	Daemon ipvs.Daemon
	// Format holds the -L and -S output options.
	Format Format
	// Sort is set when the no-op --sort was given.
	Sort bool
	// Restore holds goipvsadm's own -R options (--sync, --atomic,
	// --dry-run); all false for ipvsadm's -R.
	Restore RestoreOptions
}

// Op returns the change to the table the command makes, for the commands
// that make one as a single change (-A, -E, -D, -a, -e, -d and --set).
func (c *Command) Op() (ipvs.Op, bool) {
	k := c.Service.Key()
	switch c.Kind {
	case AddService:
		return ipvs.CreateService(c.Service), true
	case EditService:
		return ipvs.UpdateService(c.Service), true
	case DeleteService:
		return ipvs.DeleteService(k), true
	case AddServer:
		return ipvs.CreateDestination(k, c.Dest), true
	case EditServer:
		return ipvs.UpdateDestination(k, c.Dest), true
	case DeleteServer:
		return ipvs.DeleteDestination(k, c.Dest.Key()), true
	case SetTimeouts:
		return ipvs.SetTimeouts(c.Timeouts), true
	}
	return ipvs.Op{}, false
}

// ListMode is what a List command lists.
type ListMode int

// List modes in ipvsadm's order of precedence.
const (
	ListAll         ListMode = iota // the whole table
	ListConnections                 // -c: /proc/net/ip_vs_conn
	ListService                     // one service
	ListTimeouts                    // --timeout
	ListDaemons                     // --daemon
)

// ListMode says what a List command lists.
func (c *Command) ListMode() ListMode {
	switch {
	case c.Options.Has(OptConnection):
		return ListConnections
	case c.Options.Has(OptService):
		return ListService
	case c.Options.Has(OptTimeout):
		return ListTimeouts
	case c.Options.Has(OptDaemon):
		return ListDaemons
	}
	return ListAll
}

// ErrorKind classifies parse errors by what ipvsadm does after them.
type ErrorKind int

const (
	// Fail is ipvsadm's fail(): the message, exit status 2. In -R it
	// aborts the restore.
	Fail ErrorKind = iota + 1
	// TryHelp is the "Try `ipvsadm -h' ..." hint, exit status 255: the
	// first option is not a command. In -R it aborts the restore.
	TryHelp
	// PoptError is a popt error after the command ("--foo: unknown
	// option"), exit status 255. In -R, ipvsadm prints it, skips the line
	// and goes on.
	PoptError
)

// Error is a command-line error as ipvsadm reports it.
type Error struct {
	Kind ErrorKind
	// Msg is the exact text ipvsadm writes to stderr, without the final
	// newline. (For "-6 used before -f" it ends in a newline of its own,
	// so an empty line follows, as in ipvsadm.)
	Msg string
	// Exit is ipvsadm's exit status.
	Exit int
}

func (e *Error) Error() string { return e.Msg }

func failf(format string, args ...any) *Error {
	return &Error{Kind: Fail, Msg: fmt.Sprintf(format, args...), Exit: 2}
}

func tryHelp(argv0 string) *Error {
	return &Error{
		Kind: TryHelp,
		Msg:  fmt.Sprintf("Try `%s -h' or '%s --help' for more information.", argv0, argv0),
		Exit: 255,
	}
}

func poptFailure(token string, kind poptErrorKind) *Error {
	return &Error{Kind: PoptError, Msg: token + ": " + kind.String(), Exit: 255}
}

// TryHelpError returns the "Try `argv0 -h' ..." error ipvsadm reports when
// the first option is not a command (and, in -R, for a nested -R).
func TryHelpError(argv0 string) *Error { return tryHelp(argv0) }
