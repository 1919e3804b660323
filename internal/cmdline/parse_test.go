package cmdline

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func parseWords(t *testing.T, line string) (*Command, error) {
	t.Helper()
	return testParser().Parse("ipvsadm", strings.Fields(line))
}

func errorOf(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *Error", err)
	}
	return e
}

// TestReferenceExamples checks the examples the behaviour reference gives
// verbatim.
func TestReferenceExamples(t *testing.T) {
	tests := []struct {
		line string
		kind ErrorKind
		msg  string
	}{
		{"-L --start-daemon master", Fail, "invalid option `master'"},
		{"-LA", Fail, "invalid option `-LA'"},
		{"-Lnx", PoptError, "-Lnx: missing argument"},
		{"-L -n5", PoptError, "-n5: unknown option"},
		{"-A -t 1.2.3.4:80 -p -1", PoptError, "-1: unknown option"},
		{"-L --stats=5", PoptError, "--stats=5: option does not take an argument"},
		{"-L --numer", PoptError, "--numer: unknown option"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -w -1", Fail, "illegal weight specified"},
		{"foo -L", Fail, "unexpected argument foo"},
		{"foo", TryHelp, "Try `ipvsadm -h' or 'ipvsadm --help' for more information."},
		{"-- -L", TryHelp, "Try `ipvsadm -h' or 'ipvsadm --help' for more information."},
		{"-n5", TryHelp, "Try `ipvsadm -h' or 'ipvsadm --help' for more information."},
		{"-A -n", Fail, "Illegal 'numeric' option with the 'add-service' command"},
		{"-a -w 5", Fail, "You need to supply the 'service-address' option for the 'add-server' command"},
		{"-L -c -t 1.2.3.4:80", Fail, "The option 'service-address' conflicts with the 'connection' option in the 'list' command"},
		{"-L --timeout -c", Fail, "The option 'timeout' conflicts with the 'connection' option in the 'list' command"},
		{"-S --nosort", Fail, "Illegal 'nosort' option with the 'save' command"},
		{"--stop-daemon backup --mcast-interface eth0", Fail, "Illegal 'mcast-interface' option with the 'stop-daemon' command"},
		{"-A -t 1.2.3.4:80 -6", Fail, "-6 used before -f\n"},
		{"--stop-daemon slave", Fail, "illegal start_daemon specified"},
		{"--start-daemon slave", Fail, "illegal start-daemon parameter specified"},
		{"-Ltn 1.2.3.4:80", Fail, "illegal virtual server address[:port] specified"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, err := parseWords(t, tt.line)
			e := errorOf(t, err)
			wantExit := map[ErrorKind]int{Fail: 2, TryHelp: 255, PoptError: 255}[tt.kind]
			if e.Kind != tt.kind || e.Msg != tt.msg || e.Exit != wantExit {
				t.Errorf("got kind %d %q exit %d, want kind %d %q exit %d", e.Kind, e.Msg, e.Exit, tt.kind, tt.msg, wantExit)
			}
		})
	}
}

// referenceTable is §3 of the behaviour reference, kept here independently
// of the package's copy.
var referenceTable = map[Kind]string{
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

// TestOptionTable tries every option with every command: an illegal option
// must give exactly the table's message, an allowed one must not give any
// table message, and leaving out a required one must say so.
func TestOptionTable(t *testing.T) {
	base := map[Kind][]string{
		AddService:    {"-A", "-t", "1.2.3.4:80"},
		EditService:   {"-E", "-t", "1.2.3.4:80"},
		DeleteService: {"-D", "-t", "1.2.3.4:80"},
		Flush:         {"-C"},
		List:          {"-L"},
		AddServer:     {"-a", "-t", "1.2.3.4:80", "-r", "1.2.3.5"},
		DeleteServer:  {"-d", "-t", "1.2.3.4:80", "-r", "1.2.3.5"},
		EditServer:    {"-e", "-t", "1.2.3.4:80", "-r", "1.2.3.5"},
		SetTimeouts:   {"--set", "1", "2", "3"},
		StartDaemon:   {"--start-daemon", "master"},
		StopDaemon:    {"--stop-daemon", "master"},
		Restore:       {"-R"},
		Save:          {"-S"},
		Zero:          {"-Z"},
	}
	sample := [numOptions][]string{
		OptNumeric: {"-n"}, OptConnection: {"-c"}, OptService: {"-t", "1.2.3.9:80"},
		OptScheduler: {"-s", "rr"}, OptPersistent: {"-p"}, OptNetmask: {"-M", "255.255.255.0"},
		OptRealServer: {"-r", "1.2.3.5"}, OptForward: {"-m"}, OptWeight: {"-w", "1"},
		OptUThreshold: {"-x", "1"}, OptLThreshold: {"-y", "0"}, OptMcastInterface: {"--mcast-interface", "eth1"},
		OptTimeout: {"--timeout"}, OptDaemon: {"--daemon"}, OptStats: {"--stats"}, OptRate: {"--rate"},
		OptThresholds: {"--thresholds"}, OptPersistentConn: {"--persistent-conn"}, OptNoSort: {"--nosort"},
		OptSyncID: {"--syncid", "1"}, OptExact: {"--exact"}, OptOnePacket: {"-o"}, OptPE: {"--pe", "sip"},
		OptSchedFlags: {"-b", "flag-1"}, OptMcastGroup: {"--mcast-group", "224.0.0.1"},
		OptMcastPort: {"--mcast-port", "1"}, OptMcastTTL: {"--mcast-ttl", "1"}, OptSyncMaxLen: {"--sync-maxlen", "100"},
		OptTunInfo: {"--tun-info"}, OptTunType: {"--tun-type", "ipip"}, OptTunPort: {"--tun-port", "1"},
		OptTunNoCsum: {"--tun-nocsum"}, OptTunCsum: {"--tun-csum"}, OptTunRemCsum: {"--tun-remcsum"},
	}
	isTableMessage := func(msg string) bool {
		return strings.HasSuffix(msg, " command") &&
			(strings.HasPrefix(msg, "Illegal ") || strings.HasPrefix(msg, "You need ") || strings.HasPrefix(msg, "The option "))
	}
	p := testParser()
	for kind := AddService; kind <= Zero; kind++ {
		row := referenceTable[kind]
		for o := Option(0); o < numOptions; o++ {
			t.Run(fmt.Sprintf("%v/%v", kind, o), func(t *testing.T) {
				args := append([]string(nil), base[kind]...)
				var wantMsg string
				switch row[o] {
				case '+':
					args = removeOption(args, sample[o][0])
					wantMsg = fmt.Sprintf("You need to supply the '%s' option for the '%s' command", o, kind)
				case 'x':
					args = append(args, sample[o]...)
					wantMsg = fmt.Sprintf("Illegal '%s' option with the '%s' command", o, kind)
				default:
					args = append(args, sample[o]...)
				}
				cmd, err := p.Parse("ipvsadm", args)
				if wantMsg != "" {
					if err == nil || errorOf(t, err).Msg != wantMsg {
						t.Fatalf("%q: got %v, want %q", args, err, wantMsg)
					}
					return
				}
				if err != nil {
					if isTableMessage(errorOf(t, err).Msg) {
						t.Fatalf("%q: unexpected table error %v", args, err)
					}
					return
				}
				if !cmd.Options.Has(o) {
					t.Fatalf("%q: option %v not recorded in %v", args, o, cmd.Options)
				}
			})
		}
	}
}

// removeOption drops a flag and its value (the word after it) from args.
func removeOption(args []string, flag string) []string {
	for i, a := range args {
		if a == flag {
			return append(append([]string(nil), args[:i]...), args[i+2:]...)
		}
	}
	return args
}

// TestOptionForms checks that every option gives the same result in each of
// popt's spellings.
func TestOptionForms(t *testing.T) {
	type form struct {
		base  string // command line the option is added to
		long  string
		short string
		value string // "" for options without a value
	}
	forms := []form{
		{"-L", "numeric", "n", ""}, {"-L", "connection", "c", ""}, {"-L", "exact", "X", ""},
		{"-L", "tcp-service", "t", "1.2.3.4:80"}, {"-L", "udp-service", "u", "1.2.3.4:53"},
		{"-L", "fwmark-service", "f", "7"}, {"-L", "sctp-service", "", "1.2.3.4:80"},
		{"-L", "stats", "", ""}, {"-L", "rate", "", ""}, {"-L", "thresholds", "", ""},
		{"-L", "persistent-conn", "", ""}, {"-L", "nosort", "", ""}, {"-L", "sort", "", ""},
		{"-L", "timeout", "", ""}, {"-L", "daemon", "", ""}, {"-L", "tun-info", "", ""}, {"-L", "syncid", "", "9"},
		{"-A -t 1.2.3.4:80", "scheduler", "s", "rr"}, {"-A -t 1.2.3.4:80", "persistent", "p", "50"},
		{"-A -t 1.2.3.4:80", "netmask", "M", "255.0.0.0"}, {"-A -u 1.2.3.4:80", "ops", "o", ""},
		{"-A -t 1.2.3.4:80", "pe", "", "sip"}, {"-A -t 1.2.3.4:80 -s sh", "sched-flags", "b", "sh-port"},
		{"-A -f 5", "ipv6", "6", ""},
		{"-a -t 1.2.3.4:80", "real-server", "r", "1.2.3.5:80"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5", "masquerading", "m", ""}, {"-a -t 1.2.3.4:80 -r 1.2.3.5", "ipip", "i", ""},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5", "gatewaying", "g", ""}, {"-a -t 1.2.3.4:80 -r 1.2.3.5", "weight", "w", "5"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5", "u-threshold", "x", "5"}, {"-a -t 1.2.3.4:80 -r 1.2.3.5", "l-threshold", "y", "5"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -i", "tun-type", "", "gre"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -i --tun-type gue", "tun-port", "", "6080"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -i --tun-type gre", "tun-csum", "", ""},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -i --tun-type gre", "tun-nocsum", "", ""},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -i --tun-type gue --tun-port 1", "tun-remcsum", "", ""},
		{"--start-daemon master", "mcast-interface", "", "eth3"}, {"--start-daemon master", "mcast-group", "", "ff02::9"},
		{"--start-daemon master", "mcast-port", "", "99"}, {"--start-daemon master", "mcast-ttl", "", "9"},
		{"--start-daemon master", "sync-maxlen", "", "999"},
	}
	p := testParser()
	for _, f := range forms {
		t.Run(f.long, func(t *testing.T) {
			base := strings.Fields(f.base)
			var spellings [][]string
			if f.value == "" {
				spellings = append(spellings, []string{"--" + f.long})
				if f.short != "" {
					spellings = append(spellings, []string{"-" + f.short})
					// Cluster with the command letter when it is a
					// single short option without value.
					if len(base) == 1 && len(base[0]) == 2 {
						spellings = append(spellings, []string{"CLUSTER"})
					}
				}
			} else {
				spellings = append(spellings, []string{"--" + f.long, f.value}, []string{"--" + f.long + "=" + f.value})
				if f.short != "" {
					spellings = append(spellings, []string{"-" + f.short, f.value}, []string{"-" + f.short + f.value}, []string{"-" + f.short + "=" + f.value})
				}
			}
			var first *Command
			for _, sp := range spellings {
				args := append(append([]string(nil), base...), sp...)
				if sp[0] == "CLUSTER" {
					args = []string{base[0] + f.short}
				}
				cmd, err := p.Parse("ipvsadm", args)
				if err != nil {
					t.Fatalf("%q: %v", args, err)
				}
				if first == nil {
					first = cmd
					continue
				}
				if diff := cmp.Diff(first, cmd, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b ipvs.Netmask) bool { return a == b })); diff != "" {
					t.Errorf("%q differs from the long form (-long +this):\n%s", args, diff)
				}
			}
			if len(f.short) == 1 && f.value != "" {
				// A required value may also start with '-'.
				args := append(append([]string(nil), base...), "-"+f.short, "-")
				if _, err := p.Parse("ipvsadm", args); err != nil && errorOf(t, err).Kind == PoptError {
					t.Errorf("%q: a required value starting with '-' was not taken: %v", args, err)
				}
			}
		})
	}
}

// TestEveryFlagIsHandled makes sure each option of the registry does
// something (a command has its Kind, any other option a handler), and
// that Flags lists exactly the registry and the extensions.
func TestEveryFlagIsHandled(t *testing.T) {
	for _, d := range optionDefs {
		if d.kind == 0 && d.apply == nil {
			t.Errorf("--%s does nothing", d.name)
		}
		if d.kind != 0 && d.kind != StartDaemon && d.kind != StopDaemon && (d.apply != nil || d.arg != argNone) {
			t.Errorf("command --%s takes a value", d.name)
		}
	}
	n := 0
	Flags().VisitAll(func(f *pflag.Flag) {
		n++
		if options.long[f.Name] == nil {
			t.Errorf("flag --%s is not in the option table", f.Name)
		}
	})
	if want := len(optionDefs) + int(numExtensions); n != want || len(options.long) != want {
		t.Errorf("%d flags, %d options, want %d", n, len(options.long), want)
	}
}

func TestPosixlyCorrect(t *testing.T) {
	p := testParser()
	p.PosixlyCorrect = true
	_, err := p.Parse("ipvsadm", []string{"-L", "foo", "--bogus"})
	if e := errorOf(t, err); e.Msg != "unexpected argument foo" {
		t.Errorf("POSIXLY_CORRECT: got %q", e.Msg)
	}
	p.PosixlyCorrect = false
	_, err = p.Parse("ipvsadm", []string{"-L", "foo", "--bogus"})
	if e := errorOf(t, err); e.Msg != "--bogus: unknown option" {
		t.Errorf("default: got %q", e.Msg)
	}
}

func TestNoArguments(t *testing.T) {
	cmd, err := testParser().Parse("ipvsadm", nil)
	if err != nil || cmd.Kind != List || cmd.ListMode() != ListAll || cmd.Options != 0 {
		t.Errorf("got %+v, %v; want a plain full listing", cmd, err)
	}
}

func TestListMode(t *testing.T) {
	for line, want := range map[string]ListMode{
		"-L": ListAll, "-Lc": ListConnections, "-L -t 1.2.3.4:80": ListService,
		"-L --timeout": ListTimeouts, "-L --daemon": ListDaemons, "-L -n --stats": ListAll,
	} {
		cmd, err := parseWords(t, line)
		if err != nil || cmd.ListMode() != want {
			t.Errorf("%s: got %v, %v; want mode %v", line, cmd, err, want)
		}
	}
}

func TestUsage(t *testing.T) {
	u := Usage("/sbin/goipvsadm")
	lines := strings.Split(u, "\n")
	if lines[0] != VersionLine() || !strings.HasPrefix(VersionLine(), "goipvsadm v"+ProgramVersion+" ") {
		t.Errorf("first line %q", lines[0])
	}
	if lines[2] != "  /sbin/goipvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]" {
		t.Errorf("usage line %q", lines[2])
	}
	// ipvsadm's 82 lines, then goipvsadm's paragraph (6 lines).
	if len(lines) != 89 || lines[88] != "" {
		t.Errorf("got %d lines, want 88 and a final newline", len(lines)-1)
	}
	compat := UsageWithVersion(VersionLine(), "/sbin/goipvsadm")
	if !strings.HasPrefix(u, compat) {
		t.Errorf("-h does not start with ipvsadm's text")
	}
	compareGolden(t, "help-extensions.golden", strings.TrimPrefix(u, compat))
	for i, l := range lines {
		if strings.HasSuffix(l, " ") {
			t.Errorf("line %d has trailing blanks: %q", i+1, l)
		}
	}
}

func TestValueParsers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // "" = rejected
	}{
		{"1.2.3.4", "1.2.3.4"}, {"10.1", "10.0.0.1"}, {"10.1.2", "10.1.0.2"}, {"167772161", "10.0.0.1"},
		{"0x0A000001", "10.0.0.1"}, {"012.0.0.01", "10.0.0.1"}, {"0x", ""}, {"09", ""}, {"1.2.3.4 x", "1.2.3.4"},
		{"1.2.3.4\tx", "1.2.3.4"}, {"1.2.3.4x", ""}, {" 1.2.3.4", ""}, {"1..2", ""}, {"", ""}, {"1.2.3.4.", ""},
		{"255.255.255.255", "255.255.255.255"}, {"1.2.65535", "1.2.255.255"}, {"1.2.65536", ""},
		{"+1.2.3.4", ""}, {"1.+2.3.4", ""}, {"99999999999999999999", ""},
	} {
		a, ok := inetAton(tt.in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("inetAton(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in     string
		min    int64
		max    int64
		want   int64
		wantOK bool
	}{
		{"5", 0, 10, 5, true}, {" 5", 0, 10, 5, true}, {"+5", 0, 10, 5, true}, {"-0", 0, 10, 0, true},
		{"\n\v\f\r\t 7", 0, 10, 7, true}, {"5 ", 0, 10, 0, false}, {"", 0, 10, 0, false}, {"-", 0, 10, 0, false},
		{"0x10", 0, 100, 0, false}, {"11", 0, 10, 0, false}, {"-1", 0, 10, 0, false},
		{"9223372036854775808", 0, 1 << 62, 0, false}, {"2147483647", 0, maxInt, maxInt, true},
	} {
		got, ok := stringToNumber(tt.in, tt.min, tt.max)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("stringToNumber(%q, %d, %d) = %d, %v; want %d, %v", tt.in, tt.min, tt.max, got, ok, tt.want, tt.wantOK)
		}
	}
	for in, want := range map[string]int32{"64": 64, " 64x": 64, "x": 0, "4294967360": 64, "-5": -5, "99999999999999999999": -1} {
		if got := atoi(in); got != want {
			t.Errorf("atoi(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestNamesResolver(t *testing.T) {
	r := testParser().Resolver
	for name, want := range map[string]string{"localhost": "127.0.0.1", "VM": "127.0.0.1", "nosuchhost": "", "": "", "127.0.0.1": ""} {
		a, ok := r.LookupIPv4(name)
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("LookupIPv4(%q) = %q, want %q", name, got, want)
		}
	}
	for _, tt := range []struct {
		name, proto string
		want        uint16
		ok          bool
	}{
		{"http", "tcp", 80, true}, {"www", "tcp", 80, true}, {"http", "udp", 0, false}, {"domain", "udp", 53, true},
		{"mail", "tcp", 25, true}, {"HTTP", "tcp", 0, false}, {"amqp", "sctp", 5672, true}, {"80", "tcp", 0, false},
	} {
		got, ok := r.LookupPort(tt.name, tt.proto)
		if got != tt.want || ok != tt.ok {
			t.Errorf("LookupPort(%q, %q) = %d, %v; want %d, %v", tt.name, tt.proto, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStaticResolver(t *testing.T) {
	p := &Parser{Resolver: StaticResolver{
		Hosts:    map[string]netip.Addr{"web": netip.MustParseAddr("10.9.8.7"), "six": netip.MustParseAddr("2001:db8::1")},
		Services: map[string]uint16{"alt/udp": 8080},
	}}
	cmd, err := p.Parse("ipvsadm", []string{"-A", "-u", "WEB:alt"})
	if err != nil || cmd.Service.Addr.String() != "10.9.8.7" || cmd.Service.Port != 8080 {
		t.Errorf("got %+v, %v", cmd, err)
	}
	// gethostbyname is used for IPv4 only.
	if _, err := p.Parse("ipvsadm", []string{"-A", "-u", "six:alt"}); err == nil {
		t.Error("an IPv6-only host name was accepted")
	}
}

// FuzzParse checks that Parse never panics and always reports its errors
// as *Error with one of ipvsadm's exit statuses.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"-A\x00-t\x001.2.3.4:80", "-Lnt\x00[::1]:80", "-a\x00-t\x001.2.3.4:80\x00-r\x001.2.3.5\x00-i\x00--tun-type\x00gue",
		"--set\x001\x002\x003", "-A\x00-s\x00!#:+\x00-b\x00,,", "-L\x00--\x00-n", "-p=\x00-A", "-At=[::1]:http\x00-p",
	} {
		f.Add(s)
	}
	p := &Parser{Resolver: StaticResolver{
		Hosts:    map[string]netip.Addr{"localhost": netip.MustParseAddr("127.0.0.1")},
		Services: map[string]uint16{"http/tcp": 80},
	}}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		cmd, err := p.Parse("ipvsadm", args)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Exit != 2 && e.Exit != 255) || e.Msg == "" {
				t.Fatalf("%q: bad error %#v", args, err)
			}
			if strings.HasPrefix(e.Msg, "invalid option `--") && !strings.Contains(joined, "--") {
				t.Fatalf("%q: internal unhandled flag: %v", args, e)
			}
			return
		}
		if cmd == nil || cmd.Kind < AddService || cmd.Kind > Version {
			t.Fatalf("%q: bad command %+v", args, cmd)
		}
	})
}

// TestIpvsadmOnly: with IpvsadmOnly, goipvsadm's options are unknown, as
// in ipvsadm, and every ipvsadm command line parses as without it.
func TestIpvsadmOnly(t *testing.T) {
	p := testParser()
	p.IpvsadmOnly = true
	for line, want := range map[string]string{
		"-L --json":            "--json: unknown option",
		"-R --sync":            "--sync: unknown option",
		"-R --atomic":          "--atomic: unknown option",
		"-R --sync --dry-run":  "--sync: unknown option",
		"-L -n --json --bogus": "--json: unknown option",
	} {
		_, err := p.Parse("ipvsadm", splitWords(line))
		e := errorOf(t, err)
		if e.Kind != PoptError || e.Exit != 255 || e.Msg != want {
			t.Errorf("%s: got %+v, want the popt error %q", line, e, want)
		}
	}
	all := testParser()
	for _, line := range readCases(t) {
		c1, e1 := p.Parse("ipvsadm", splitWords(line))
		c2, e2 := all.Parse("ipvsadm", splitWords(line))
		if s1, s2 := summarize(c1, e1), summarize(c2, e2); s1 != s2 {
			t.Errorf("%s: IpvsadmOnly %s, default %s", line, s1, s2)
		}
	}
}

// TestExtensionsAreLongOnly: goipvsadm's options have no shorthand and take
// no value, and none of them is a command.
func TestExtensionsAreLongOnly(t *testing.T) {
	n := 0
	Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[annotationExtension]; !ok {
			return
		}
		n++
		if f.Shorthand != "" || f.Value.Type() != "bool" || f.Annotations[annotationCommand] != nil {
			t.Errorf("--%s: shorthand %q, type %s, annotations %v", f.Name, f.Shorthand, f.Value.Type(), f.Annotations)
		}
		if _, ok := ipvsadmOptions.long[f.Name]; ok {
			t.Errorf("--%s is in ipvsadm's option table", f.Name)
		}
		if spec := options.long[f.Name]; spec == nil || !spec.extension {
			t.Errorf("--%s is not in the option table as an extension", f.Name)
		}
	})
	if n != int(numExtensions) {
		t.Errorf("%d extension flags, want %d", n, numExtensions)
	}
}

// TestSavedMarks: with SavedMarks, -f also takes ipvsadm -S's negative
// marks as the same 32 bits; without it (the command line) they fail.
func TestSavedMarks(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want uint32 // 0: an error
	}{
		{"-1294967296", 3000000000},
		{"-1", 4294967295},
		{"-2147483648", 2147483648},
		{"-2147483649", 0},
		{"-0", 0},
		{"0", 0},
		{"4294967295", 4294967295},
		{"4294967296", 0},
		{"-1x", 0},
	} {
		for _, saved := range []bool{false, true} {
			p := &Parser{Resolver: NamesResolver{}, SavedMarks: saved}
			cmd, err := p.Parse("ipvsadm", []string{"-A", "-f", tc.arg})
			want := tc.want
			if !saved && strings.HasPrefix(tc.arg, "-") {
				want = 0
			}
			switch {
			case want == 0 && err == nil:
				t.Errorf("SavedMarks=%v -f %s: mark %d, want an error", saved, tc.arg, cmd.Service.FWMark)
			case want != 0 && err != nil:
				t.Errorf("SavedMarks=%v -f %s: %v", saved, tc.arg, err)
			case want != 0 && cmd.Service.FWMark != want:
				t.Errorf("SavedMarks=%v -f %s: mark %d, want %d", saved, tc.arg, cmd.Service.FWMark, want)
			}
			if err != nil && err.Error() != "invalid fwmark value `"+tc.arg+"' specified" {
				t.Errorf("-f %s: error %q", tc.arg, err)
			}
		}
	}
}
