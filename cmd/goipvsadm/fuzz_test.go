package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/cmdgen"
)

// ipvsadmMessages are the lines ipvsadm 1.31 writes to stderr (its own
// messages, popt's, the kernel errors per operation), and the ones
// goipvsadm adds to -R (README.md, "Intentional differences" and "Beyond
// ipvsadm").
var ipvsadmMessages = regexp.MustCompile(`^(` + strings.Join([]string{
	// popt and the command line
	"Try `ipvsadm -h' or 'ipvsadm --help' for more information\\.",
	`.+: (unknown option|missing argument|option does not take an argument)`,
	"invalid option `.*'",
	`multiple '[a-z0-9-]+' options specified`,
	`You need to supply the '[a-z0-9-]+' option for the '[a-z-]+' (command|tunnel type)`,
	`Illegal '[a-z0-9-]+' option with the '[a-z-]+' (command|tunnel type)`,
	`The option '[a-z0-9-]+' conflicts with the '[a-z0-9-]+' option in the '[a-z-]+' (command|tunnel type)`,
	`illegal (start-daemon parameter|start_daemon|virtual server address\[:port\]|real server address\[:port\]|virtual server persistent mask|ipv6 netmask|weight|u_threshold|l_threshold|syncid|mcast-port|mcast-ttl|sync-maxlen|tunnel type|tunnel port) specified`,
	"invalid IPv[46] mcast-group `.*'",
	"invalid (timeout|fwmark) value `.*' specified",
	"(incompatible|invalid) scheduler flag `.*'",
	`-6 used before -f`, ``,
	`--set option requires 3 timeout values`,
	`unexpected argument .*`,
	`Zero port specified for non-persistent service`,
	`One-Packet Scheduling is only for UDP virtual services`,
	`Different address family is allowed only for tunneling servers`,
	`Tunnel options conflict with forward method`,
	`options conflicts in the list command`,
	`cannot open file /proc/net/ip_vs_conn`,
	`unexpected input from /proc/net/ip_vs_conn`,
	// the kernel's errors as ipvsadm words them
	`Service already exists`, `Scheduler or persistence engine not found`, `No such service`,
	`Service not defined`, `Destination already exists`, `No such destination`,
	`Daemon has already run`, `No daemon is running`, `Permission denied \(you must be root\)`,
	`Invalid operation\.  Possibly wrong module version, address not unicast, \.\.\.`,
	`Protocol not available`, `Memory allocation problem`, `Operation not supported with IPv6`,
	`Operation not supported with specified address family`, `Module is wrong version`,
	`Numerical result out of range`, `No such device`, `No such process`, `File exists`,
	`No such file or directory`, `Invalid argument`,
	// goipvsadm's -R: the line that stopped it, its own options' outcomes
	`line \d+: .*`,
	`only -A, -E, -D, -a, -e, -d, -C and --set can be part of an all-or-nothing restore or a sync`,
	`change: .*`,
	`every change of this restore was undone: the table is as it was`,
	`undoing this restore failed: .*: the table is NOT as it was`,
}, "|") + `)$`)

// FuzzCommand runs the whole command in-process on the in-memory kernel
// with any argv (and -R input): it must not panic, must exit with one of
// ipvsadm's statuses and say why in one of ipvsadm's messages, and a
// command line that is refused must leave the table as it was.
func FuzzCommand(f *testing.F) {
	g := cmdgen.New(1)
	for i := 0; i < 300; i++ {
		f.Add(strings.Join(g.Args(nil), "\x00"), "")
	}
	for i := 0; i < 50; i++ {
		f.Add(strings.Join([]string{"-R", "--sync", "--atomic", "--dry-run"}[:1+i%4], "\x00"), g.Rules(nil))
	}
	f.Add("-L\x00--json\x00-t\x0010.0.0.1:80", "")
	f.Fuzz(func(t *testing.T, argv, stdin string) {
		fr := newFakeRun(t)
		fr.run([]string{"-R"}, fuzzTable)
		before := fr.run([]string{"-Sn"}, "").stdout
		args := strings.Split(argv, "\x00")
		r := fr.run(args, stdin)
		switch r.exit {
		case 0, 1, 2, 255:
		default:
			t.Fatalf("%q: exit status %d", args, r.exit)
		}
		if r.exit != 0 && r.stderr == "" {
			t.Fatalf("%q: exit status %d without a message", args, r.exit)
		}
		if r.exit == 0 && r.stderr != "" {
			t.Fatalf("%q: exit status 0 with a message: %q", args, r.stderr)
		}
		if l, found := foreignMessage(r.stderr, args); found {
			t.Fatalf("%q: a message ipvsadm does not have: %q", args, l)
		}
		if r.exit == 2 || strings.HasPrefix(r.stderr, "Try `") {
			if after := fr.run([]string{"-Sn"}, "").stdout; after != before {
				t.Fatalf("%q: refused, yet the table changed:\n%s\nto\n%s", args, before, after)
			}
		}
	})
}

// foreignMessage returns the first message in stderr that is not one of
// ipvsadm's. ipvsadm quotes arguments, or the part popt split off one
// ("-Ab\n": "invalid scheduler flag `\n'"), as given, so where arguments
// hold newlines a message may span as many lines more: stderr must split
// into messages, each a line or such a run of lines, and each, its
// newlines written as \n, one of ipvsadm's.
func foreignMessage(stderr string, args []string) (string, bool) {
	if stderr == "" {
		return "", false
	}
	span := 1
	for _, a := range args {
		span += strings.Count(a, "\n")
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	// message(i, k): lines[i:i+k] are one message.
	message := func(i, k int) bool {
		return ipvsadmMessages.MatchString(strings.Join(lines[i:i+k], `\n`))
	}
	// splits[i]: lines[i:] split into messages.
	splits := make([]bool, len(lines)+1)
	splits[len(lines)] = true
	for i := len(lines) - 1; i >= 0; i-- {
		for k := 1; k <= span && i+k <= len(lines) && !splits[i]; k++ {
			splits[i] = splits[i+k] && message(i, k)
		}
	}
	if splits[0] {
		return "", false
	}
	// Name the first line that starts no message, following a split that
	// goes on where there is one.
	for i := 0; i < len(lines); {
		next := -1
		for k := 1; k <= span && i+k <= len(lines); k++ {
			if message(i, k) && (next < 0 || splits[i+k]) {
				next = i + k
			}
		}
		if next < 0 {
			return lines[i], true
		}
		i = next
	}
	return lines[len(lines)-1], true
}

// fuzzTable is the table FuzzCommand starts from: services and real
// servers the generated command lines name.
const fuzzTable = `-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m
-a -t 10.0.0.1:80 -r 192.168.1.2:80 -i --tun-type gue --tun-port 6080
-A -u 10.0.0.1:53 -s sh -b sh-port -p 60
-A -t [2001:db8::1]:443 -s wrr
-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 3
-A -f 42 -s wlc -p 300 --pe sip
-a -f 42 -r 10.0.0.2 -g
`

// TestForeignMessage: FuzzCommand's message check finds what is not
// ipvsadm's, also next to arguments that hold newlines.
func TestForeignMessage(t *testing.T) {
	for _, c := range []struct {
		stderr string
		args   []string
		want   string // "" for none
	}{
		{"", nil, ""},
		{"Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", []string{"\n"}, ""},
		{"unexpected argument \n\n", []string{"\n"}, ""},
		{"-A\n: unknown option\n", []string{"-A\n"}, ""},
		{"-A\n: unknown option\n", []string{"-A"}, "-A"},
		{"unexpected argument \n0\n", []string{"-A", "\n0"}, ""},
		{"invalid scheduler flag `\n'\n", []string{"-Ab\n"}, ""},
		{"unexpected argument x\nsegmentation fault\n", []string{"ab"}, "segmentation fault"},
		{"No such service\nsegmentation fault\n", []string{"a\nb"}, "segmentation fault"},
		{"panic: oops\n", nil, "panic: oops"},
	} {
		got, found := foreignMessage(c.stderr, c.args)
		if got != c.want || found != (c.want != "") {
			t.Errorf("foreignMessage(%q, %q) = %q, %v; want %q", c.stderr, c.args, got, found, c.want)
		}
	}
}
