package restore_test

import (
	"strings"
	"testing"

	"github.com/goipvsadm/goipvsadm/internal/cmdgen"
	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
	"github.com/goipvsadm/goipvsadm/save"
)

// savedFormLines are lines in and near the form ipvsadm -S writes
// destinations in: taken, ParseRules reads them without the general
// parser.
var savedFormLines = []struct {
	line  string
	taken bool
}{
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:8080 -m -w 1\n", true},
	{"-a -u 10.0.0.1:53 -r 192.168.0.1:53 -g -w 0\n", true},
	{"-a -u 10.0.0.1:53 -r 192.168.0.1:53 -i -w 3\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 5 -x 100 -y 10\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -g -w 5 -x 100\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:9 -m -w 5 -y 7\n", true},
	{"-a -f 7 -r 192.168.0.1 -g -w 1\n", true},
	{"-a -f 7 -r 192.168.0.1 -m -w 1\n", true},
	{"-a -f 4294967295 -r 192.168.0.1:99 -i -w 2147483647 -y 3\n", true},
	{"-a -t 0.0.0.0:0 -r 255.255.255.255:65535 -m -w 0 -x 0\n", true},
	{"-a -u 10.0.0.1:80 -r 192.168.0.2:80 -m -w 1\n", true}, // after a TCP line of the same address

	{"-A -t 10.0.0.1:80 -s wlc\n", true},
	{"-A -u 10.0.0.1:53 -s rr -p 300 -M 255.255.255.0\n", true},
	{"-A -t 10.0.0.2:0 -s sh -p 360\n", true},
	{"-A -f 7 -s lc\n", true},
	{"-A -f 9 -s wrr -p 1 -M 255.255.0.0\n", true},
	{"-A -t 10.0.0.3:80 -s abcdefghijklmno\n", true},
	{"-A -t 10.0.0.3:81 -s rr -p 2678400 -M 0.0.0.0\n", true},
	{"-A -t 10.0.0.4:80 -s rr -p 5 -M 255.128.0.0\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 9 --tun-type gue --tun-port 6080 --tun-nocsum\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.2:80 -i -w 9 --tun-type gue --tun-port 1 --tun-csum\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.3:80 -i -w 9 --tun-type gue --tun-port 65535 --tun-remcsum\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.4:80 -i -w 2 --tun-type gre --tun-csum\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.5:80 -i -w 2 --tun-type gre --tun-nocsum\n", true},
	{"-a -t 10.0.0.1:80 -r 192.168.0.6:80 -i -w 2 --tun-type ipip\n", true},
	{"-a -f 7 -r 192.168.0.1 -i -w 1 -x 5 --tun-type gue --tun-port 6080 --tun-nocsum\n", true},

	{"-A -t [2001:db8::1]:80 -s wlc\n", true},
	{"-A -u [2001:db8::1]:53 -s rr -p 300 -M 64\n", true},
	{"-A -t [2001:db8::5]:0 -s rr -p 300 -M 128\n", true},
	{"-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 1\n", true},
	{"-a -u [2001:db8::1]:53 -r [2001:db8:0:0:0:0:0:3]:53 -g -w 1 -x 9\n", true},
	{"-a -t [2001:db8::1]:80 -r [2001:db8::3]:80 -i -w 1 --tun-type ipip\n", true},
	{"-a -t [::ffff:1.2.3.4]:80 -r [::ffff:1.2.3.5]:80 -m -w 1\n", true},

	{"-A -t 10.0.0.1:0 -s wlc\n", false}, // zero port
	{"-A -t 10.0.0.3:80 -s abcdefghijklmnop\n", false},
	{"-A -t 10.0.0.1:80 -s Wlc\n", false},
	{"-A -t 10.0.0.1:80\n", false},
	{"-A -t 10.0.0.1:80 -s rr -p 0\n", false},
	{"-A -t 10.0.0.1:80 -s rr -p 2678401\n", false},
	{"-A -t 10.0.0.1:80 -s rr -M 255.255.255.0\n", false},
	{"-A -t 10.0.0.1:80 -s rr -p 300 -M 255.255.255.0:5\n", false},
	{"-A -t 10.0.0.1:80 -s rr -p 300 -M 0xffffff00\n", false},
	{"-A -t 10.0.0.1:80 -s rr -p 300 -M\n", false},
	{"-A -t 10.0.0.1:80 -s rr -b sh-port\n", false},
	{"-A -t 10.0.0.1:80 -s rr -p\n", false},
	{"-A -t 10.0.0.1:80 -s -p 300\n", false},
	{"-A -t 10.0.0.1:80 -s rr --pe sip\n", false},
	{"-A -t 10.0.0.1:80 -s rr -p 300 -s wlc\n", false},
	{"-E -t 10.0.0.1:80 -s rr\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type gre --tun-remcsum\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type gre --tun-port 5 --tun-csum\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type gre\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type gue --tun-nocsum\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type gue --tun-port 0 --tun-nocsum\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type gue --tun-port 5\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type gue --tun-port 5 --tun-csum --tun-csum\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 2 --tun-type ipip\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type vxlan\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i -w 2 --tun-type ipip --tun-csum\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -i --tun-type gre --tun-csum -w 2\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:8080 -g -w 1\n", false}, // direct routing takes the service's port
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:8080 -i -w 1\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1 -m -w 1\n", false},
	{"-a -t 10.0.0.1 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 010.0.0.1:80 -r 192.168.0.1:80 -m -w 1\n", false}, // octal to inet_aton
	{"-a -t 10.0.0.1:80 -r 0x7f.0.0.1:80 -m -w 1\n", false},
	{"-a -t 10.0.0.1:080 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 10.0.0.1:65536 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 10.0.0.256:80 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 10.0.1:80 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 1.2.3.4.5:80 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 10.0.0.1:http -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t [2001:db8::1]:80 -r 10.0.0.2:80 -i -w 1\n", false}, // another family: tunnels only
	{"-a -t [2001:db8::1]:80 -r [2001:db8::2] -m -w 1\n", false},
	{"-a -t [fe80::1%eth0]:80 -r [fe80::2]:80 -m -w 1\n", false},
	{"-a -t [fe80::1]:80 -r [fe80::2%1]:80 -m -w 1\n", false},
	{"-a -t [2001:db8::1]80 -r [2001:db8::2]:80 -m -w 1\n", false},
	{"-a -t [2001:db8::1:80 -r [2001:db8::2]:80 -m -w 1\n", false},
	{"-a -f 7 -r [2001:db8::2]:80 -m -w 1\n", false},
	{"-a -f 7 -6 -r [2001:db8::2]:80 -m -w 1\n", false},
	{"-A -t [2001:db8::1]:80 -s rr -p 300 -M 0\n", false},
	{"-A -t [2001:db8::1]:80 -s rr -p 300 -M 129\n", false},
	{"-A -t [2001:db8::1]:80 -s rr -p 300 -M 255.255.255.0\n", false},
	{"-A -t [10.0.0.1]:80 -s rr\n", false},
	{"-A -t [2001:db8::1] -s rr\n", false},
	{"-A -t 2001:db8::1 -s rr\n", false},
	{"-A -t [2001:db8::1]:0 -s rr\n", false},
	{"-a  -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1 \n", false},
	{"-a\t-t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\r\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\x00\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1 -y 3 -x 4\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1 -x 3 -x 4\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1 -w 2\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1 -x\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 2147483648\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 99999999999\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w +1\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 01\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -w 1 -m\n", false},
	{"-a -t 10.0.0.1:80 -m -r 192.168.0.1:80 -w 1\n", false},
	{"-a -f 0 -r 192.168.0.1 -m -w 1\n", false},
	{"-a -f -5 -r 192.168.0.1 -m -w 1\n", false},
	{"-a -f 4294967296 -r 192.168.0.1 -m -w 1\n", false},
	{"-a -s 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-e -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\n", false},
	{"ipvsadm -a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1 ipvsadm\n", false},
	{"-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1 -x 1 -y 2 -z\n", false},
}

// TestSavedForm: ParseRules reads the lines of ipvsadm -S's form itself
// and gives what Parse gives for them, alone and one after another (a
// line names the service of the line before it, or another).
func TestSavedForm(t *testing.T) {
	var all strings.Builder // the lines Parse accepts
	for _, c := range savedFormLines {
		if got := restore.ReadsSavedForm(c.line); got != c.taken {
			t.Errorf("%q: taken %v, want %v", c.line, got, c.taken)
		}
		compactRules(t, c.line, reconcile.State{})
		_, err := restore.Parse(strings.NewReader(c.line), restore.Options{Resolver: cmdline.StaticResolver{}})
		if err == nil && strings.HasSuffix(c.line, "\n") {
			all.WriteString(c.line)
		}
	}
	if n := strings.Count(all.String(), "\n"); n < 30 {
		t.Fatalf("only %d lines parse", n)
	}
	compactRules(t, all.String(), reconcile.State{})
	compactRules(t, "-A -t 10.0.0.1:80 -s rr\n"+all.String()+"-E -t 10.0.0.1:80 -s wlc\n"+all.String(), reconcile.State{})
}

// TestSavedFormOfSavedTables: the -S -n and -S --lossless output of random
// tables (cmdgen's), a good part of whose lines the shortcut reads, gives what
// Parse gives.
func TestSavedFormOfSavedTables(t *testing.T) {
	tables, lines, taken := 0, 0, 0
	for seed := range uint64(1000) {
		text := cmdgen.New(seed).TableRules()
		rules, err := restore.Parse(strings.NewReader(text), restore.Options{Resolver: cmdline.StaticResolver{}})
		if err != nil {
			continue // a host or port name: no names here
		}
		tables++
		table := reconcile.NewTable(reconcile.State{})
		for _, r := range rules {
			if err := table.Apply(r.Op); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
		}
		for _, opts := range []save.Options{{Numeric: true}, {Lossless: true}} {
			var b strings.Builder
			if err := save.Write(&b, table.State().Services, opts); err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.SplitAfter(b.String(), "\n") {
				if l != "" {
					lines++
					if restore.ReadsSavedForm(l) {
						taken++
					}
				}
			}
			compactRules(t, b.String(), reconcile.State{})
		}
	}
	if tables < 150 || taken < lines/5 {
		t.Errorf("%d tables; the shortcut read %d of %d saved lines", tables, taken, lines)
	}
	if testing.Verbose() {
		t.Logf("%d tables; the shortcut read %d of %d saved lines", tables, taken, lines)
	}
}

// FuzzSavedForm: any text, read by ParseRules (which reads the lines of
// ipvsadm -S's form itself), gives the rules and plans Parse gives.
func FuzzSavedForm(f *testing.F) {
	for _, c := range savedFormLines {
		f.Add(c.line)
	}
	f.Add("-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\n-a -u 10.0.0.1:80 -r 1.2.3.4:80 -g -w 2\n-a -u 10.0.0.1:80 -r 1.2.3.5:80 -g -w 2\n")
	f.Fuzz(func(t *testing.T, text string) {
		compactRules(t, text, reconcile.State{})
	})
}
