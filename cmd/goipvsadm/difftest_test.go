package main

// A differential script is a list of ipvsadm command lines. Running one
// records, for every line, what the tool printed and its exit status, and at
// the end the state the kernel was left in. The same scripts run under the
// e2e suite against Debian's ipvsadm and goipvsadm on one real kernel, and
// (the cases the in-memory kernel can reproduce) in plain `go test` against
// ipvstest, compared with golden transcripts.
//
// Script syntax, one command per line:
//
//	-A -t 10.0.0.1:80 -s rr        a command line, split at blanks
//	-A -t "" -s rr                 Go-quoted tokens for blanks or empty words
//	! -a -t ...                    setup: run with the reference ipvsadm, not recorded
//	-R <<EOF                       the following lines, up to EOF, are stdin
//	# comment                      ignored (the script's own comments)

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

type scriptLine struct {
	setup bool
	args  []string
	stdin string
}

func parseScript(script string) ([]scriptLine, error) {
	var lines []scriptLine
	sc := bufio.NewScanner(strings.NewReader(script))
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		var l scriptLine
		if strings.HasPrefix(text, "!") {
			l.setup = true
			text = strings.TrimSpace(text[1:])
		}
		if i := strings.Index(text, "<<EOF"); i >= 0 {
			text = strings.TrimSpace(text[:i])
			var in strings.Builder
			for sc.Scan() && sc.Text() != "EOF" {
				in.WriteString(sc.Text())
				in.WriteByte('\n')
			}
			l.stdin = in.String()
		}
		args, err := splitArgs(text)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", text, err)
		}
		l.args = args
		lines = append(lines, l)
	}
	return lines, sc.Err()
}

// splitArgs splits at blanks; a token starting with a double quote is a Go
// string literal.
func splitArgs(s string) ([]string, error) {
	var args []string
	for s = strings.TrimLeft(s, " \t"); s != ""; s = strings.TrimLeft(s, " \t") {
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, err
			}
			v, _ := strconv.Unquote(q)
			args = append(args, v)
			s = s[len(q):]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		args = append(args, s[:end])
		s = s[end:]
	}
	return args, nil
}

// result is what one command line did.
type result struct {
	stdout, stderr string
	exit           int
}

// formatStep renders one recorded step of a transcript.
func formatStep(l scriptLine, r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ ipvsadm %s\n", quoteArgs(l.args))
	if l.stdin != "" {
		b.WriteString("<<<stdin\n" + l.stdin + "<<<\n")
	}
	b.WriteString(r.stdout)
	if r.stderr != "" {
		b.WriteString("[stderr]\n" + r.stderr)
	}
	fmt.Fprintf(&b, "[exit %d]\n", r.exit)
	return b.String()
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// diffScripts are the cases both tools must agree on byte for byte. They
// avoid the intentional differences (README.md): -h/-v, -R with syntax
// errors or failing lines, -b with only commas.
var diffScripts = []struct {
	name   string
	script string
	// fakeOK says the in-memory kernel reproduces this case exactly. It
	// cannot where the output follows the kernel's hash order, which mixes
	// in a per-namespace pointer: --nosort, and sorting addresses 2^31 or
	// more apart (ipvsadm's comparator then is not transitive).
	fakeOK bool
}{
	{"lvs-nat", `
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.0.3:8080 -m -w 2
-a -t 10.0.0.1:80 -r 10.0.0.4 -m
-Ln
-L
`, true},
	{"lvs-tun", `
-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.2 -i
-a -t 10.0.0.1:80 -r 192.168.1.3:8080 -i -w 3
-Ln
-Ln --tun-info
`, true},
	{"lvs-dr", `
-A -t 10.0.0.1:80 -s wlc -p
-a -t 10.0.0.1:80 -r 192.168.1.2 -g
-a -t 10.0.0.1:80 -r 192.168.1.3:9999 -g -w 5
-Ln
-E -t 10.0.0.1:80 -s wrr
-Ln
-e -t 10.0.0.1:80 -r 192.168.1.2 -w 7
-d -t 10.0.0.1:80 -r 192.168.1.3
-Ln
-D -t 10.0.0.1:80
-Ln
`, true},
	{"save-clear-restore", `
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1
-A -u 10.0.0.2:53 -s rr -p 300
-a -u 10.0.0.2:53 -r 192.168.1.4:53 -i -w 5 --tun-type gue --tun-port 6080 --tun-csum
-a -u 10.0.0.2:53 -r 192.168.1.5:53 -i -w 5 --tun-type gre --tun-csum
-a -u 10.0.0.2:53 -r 192.168.1.6:53 -i -w 5
-A -t [2001:db8::1]:443 -s sh -p 300 -b sh-fallback,sh-port
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m
-A -f 42 -s wlc -p 300 -M 255.255.255.0 --pe sip
-a -f 42 -r 192.168.1.9 -g
-A -f 43 -6 -s wlc -p 300 -M 64 -o
-Sn
-S
-C
-Ln
-R <<EOF
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1
-A -u 10.0.0.2:53 -s rr -p 300
-a -u 10.0.0.2:53 -r 192.168.1.4:53 -i -w 5 --tun-type gue --tun-port 6080 --tun-csum
-A -f 42 -s wlc -p 300 -M 255.255.255.0 --pe sip
-A -f 43 -6 -s wlc -p 300 -M 64 -o
EOF
-Sn
`, true},
	{"formats", `
! -A -t 10.0.0.1:80 -s wlc
! -a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -x 1000 -y 500
! -a -t 10.0.0.1:80 -r 192.168.1.3:80 -m
! -A -u 10.0.0.2:53 -s rr -p 300
! -a -u 10.0.0.2:53 -r 192.168.1.4:53 -i -w 5 --tun-type gue --tun-port 6080 --tun-csum
! -a -u 10.0.0.2:53 -r 192.168.1.5:53 -i -w 5 --tun-type gre --tun-nocsum
! -a -u 10.0.0.2:53 -r 192.168.1.7:53 -i -w 5 --tun-type gue --tun-port 7001 --tun-remcsum
! -a -u 10.0.0.2:53 -r 192.168.1.6:53 -i -w 5 --tun-type gue --tun-port 7000 --tun-nocsum
! -A -t [2001:db8::1]:443 -s sh -p 300 -b sh-fallback,sh-port
! -a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m
! -A -f 42 -s wlc -p 300 -M 255.255.255.0 --pe sip
! -a -f 42 -r 192.168.1.9 -g
! -A -f 43 -6 -s wlc -p 300 -M 64 -o
! -A -t 1.2.3.4:90 -s rr -b flag-1,flag-3
! -A -t 1.2.3.4:97 -s sh -b flag-3
! -A -t 1.2.3.4:98 -s rr --pe sip
! -A -u 1.2.3.4:5060 -s mh -p 30 --pe sip -o -b mh-fallback
-Ln
-Ln --stats
-Ln --stats --exact
-Ln -X --rate
-Ln --rate
-Ln --thresholds
-Ln --persistent-conn
-Ln --tun-info
-Ln --stats --rate --thresholds
-Ln --sort
-Sn
-Ln -t 10.0.0.1:80
-Ln -u 10.0.0.2:53 --tun-info
-Ln -t [2001:db8::1]:443
-L -n -f 42
-L -n -f 43 -6
-Ln -f 43
-Ln -t 10.0.0.9:80
-Lnu 10.0.0.2:53
-ln
-Zn
`, true},
	{"names", `
! -A -t 10.0.0.1:80 -s rr
! -a -t 10.0.0.1:80 -r 192.168.1.2:80 -m
! -A -u 10.0.0.1:53 -s rr
! -a -u 10.0.0.1:53 -r 192.168.1.2:53 -m
! -A -u 10.0.0.1:80 -s rr
! -A -t [2001:db8::1]:443 -s rr
! -a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m
! -A -t 10.0.0.3:0 -s rr -p
! -A -f 9 -s rr
! -a -f 9 -r 192.168.1.2:80 -g
-L
-S
-L --stats
-L -t 10.0.0.1:http
-L -u 10.0.0.1:domain
-A -t vip1.example:https -s rr
-a -t vip1.example:https -r rs2.example:https -m
-L -t 10.0.0.1:443
-a -t 10.0.0.1:80 -r nosuchhost.invalid:80
-a -t 10.0.0.1:80 -r 192.168.1.3:nosuchport
-A -u 10.0.0.1:https -s rr
`, true},
	{"mapped-addresses", `
-Z -u [::ffff:10.0.0.1]:https
-e -f 1 -6 -r [::ffff:10.0.0.1]:5060 -w 100
-a -f 92750 -r [::ffff:10.0.0.1]:https -i --tun-type=gre --tun-nocsum
-A -t [::ffff:10.0.0.1]:80 -s rr
-d -t 10.0.0.1:80 -r [::ffff:10.0.0.2]:80
-D -t [::ffff:10.0.0.1]:80
`, true},
	{"trailing-dot", `
! -A -t 10.0.0.1:82 -s rr
! -a -t 10.0.0.1:82 -r 10.0.0.2:80 -m
-A -t vip1.example.:83 -s rr
-A -t VIP1.Example.:84 -s rr
-A -t vip1.:85 -s rr
-A -t localhost.:86 -s rr
-A -t vip1.example:87 -s rr
-a -t 10.0.0.1:82 -r rs1.example.:80 -m
-a -t 10.0.0.1:82 -r rs2.:80 -m
-a -t vip1:82 -r rs2.example:http. -m
-a -t vip1:82 -r rs2.example:80 -m
-L -t vip1.example.:82
-Ln -t vip1.example:82
-Ln -t vip1.example:http.
-E -t vip1.example.:82 -s wlc
-e -t 10.0.0.1:82 -r rs1.example.:80 -w 3
-d -t 10.0.0.1:82 -r rs1.example.:80
-Z -t vip1.example.:82
-D -t vip1.example.:82
`, true},
	{"sort-order", `
! -A -t 200.0.0.1:80 -s rr
! -A -t 10.0.0.1:80 -s rr
! -A -t 100.0.0.1:80 -s rr
! -A -t 150.0.0.1:80 -s rr
! -A -t 1.0.0.1:80 -s rr
! -A -f 3000000000 -s rr
! -A -f 5 -s rr
! -A -f 2147483648 -s rr
! -A -u 10.0.0.1:53 -s rr
! -A -t 10.0.0.1:8080 -s rr
! -A -t [2001:db8::1]:80 -s rr
! -A -t [ff01::1]:80 -s rr
! -A -t [::1]:80 -s rr
! -A --sctp-service 10.0.0.1:80 -s rr
! -a -t 10.0.0.1:80 -r 200.0.0.2:80 -m
! -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m
! -a -t 10.0.0.1:80 -r 100.0.0.2:80 -m
! -a -t 10.0.0.1:80 -r 150.0.0.2:80 -m
! -a -t 10.0.0.1:80 -r 1.0.0.2:80 -m
! -a -t 10.0.0.1:80 -r 10.0.0.2:81 -m
-Ln
-Sn
`, false}, // ipvsadm's comparator is not transitive: the result follows the kernel's hash order
	{"nosort", `
! -A -t 200.0.0.1:80 -s rr
! -A -t 10.0.0.1:80 -s rr
! -A -t 100.0.0.1:80 -s rr
! -A -f 7 -s rr
! -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m
! -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m
-Ln --nosort
`, false},
	{"kernel-errors", `
-A -t 10.0.0.1:80 -s rr
-A -t 10.0.0.1:80 -s rr
-A -t 10.0.0.2:80 -s nosuch
-A -t 10.0.0.2:80 -s rr --pe nosuch
-A -t 10.0.0.2:80 -s rr --pe 123456789012345
-A -t 10.0.0.2:80 -s rr --pe 1234567890123456
-A -t 10.0.0.2:80 -s rr -p --pe 12345678901234567
-A -t 10.0.0.2:80 -s rr --pe 123456789012345678901234
-A -t 10.0.0.2:80 -s 123456789012345
-A -t 10.0.0.2:80 -s 1234567890123456 -p
-A -t 10.0.0.2:80 -s 12345678901234567890
-E -t 10.0.0.1:80 -s rr -p --pe 12345678901234567890
-E -t 10.0.0.9:80 -s rr
-E -t 10.0.0.1:80 -s nosuch
-D -t 10.0.0.9:80
-Z -t 10.0.0.9:80
-a -t 10.0.0.9:80 -r 10.0.0.2
-a -t 10.0.0.1:80 -r 10.0.0.2 -m
-a -t 10.0.0.1:80 -r 10.0.0.2 -m
-e -t 10.0.0.9:80 -r 10.0.0.2
-e -t 10.0.0.1:80 -r 10.0.0.3 -m
-d -t 10.0.0.9:80 -r 10.0.0.2
-d -t 10.0.0.1:80 -r 10.0.0.3
-a -t 10.0.0.1:80 -r 10.0.0.4 -m -y 10
-a -t 10.0.0.1:80 -r 10.0.0.4 -m -x 5 -y 10
-a -t 10.0.0.9:80 -r 10.0.0.4 -m -y 10
-a -t 10.0.0.1:80 -r 0.0.0.0 -m
-a -t 10.0.0.1:80 -r 224.0.0.1 -m
-a -t 10.0.0.1:80 -r 255.255.255.255 -m
--stop-daemon master
--start-daemon master --mcast-interface nosuch0
-Ln -t 10.0.0.9:80
-Sn
`, true},
	{"zero-set-daemons", `
-A -t 10.0.0.1:80 -s rr
-Z
-Z -t 10.0.0.1:80
-Z -t 0.0.0.0:0
-Z -f 4
--set 10 20 30
-L --timeout
--set 0 0 0
-L --timeout
--set 900 120 300
-L --timeout
--start-daemon master
--start-daemon master
--start-daemon backup --mcast-interface eth1 --syncid 7 --sync-maxlen 1400 --mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 5
-L --daemon
--stop-daemon master
-L --daemon
--stop-daemon backup --syncid 7
-L --daemon
--start-daemon backup --mcast-group ff02::1234 --mcast-interface eth0
-L --daemon
--stop-daemon backup
`, true},
	{"parse-errors", `
foo
""
-- -L
-L -A
-LA
-L --start-daemon master
-A -t 10.0.0.1:80 -t 10.0.0.1:81
-A -t 10.0.0.1:80 -n
-a -w 5
-L -c -t 1.2.3.4:80
-L --timeout -c
-S --nosort
--stop-daemon backup --mcast-interface eth0
--start-daemon foo
--stop-daemon foo
-A -t 10.0.0.1
-A -t 12345
-A -t [2001:db8::1]
-A -t [1.2.3.4]:80 -s rr
-A -t :::80 -s rr
-a -t 10.0.0.1:80 -r ::ffff:10.0.0.2:80
-Lnx
-L -n5
-A -t 10.0.0.1:80 -p -1
-L --stats=5
-L --numer
-A -t 10.0.0.1:80 -M 255.255.255.0 -s rr
-A -t [2001:db8::1]:80 -M 200
-A -t 10.0.0.1:80 -6
-A -f 0
-A -f 4294967296
-A -f -1
-A -f 5 -6 -M 129
-a -t 10.0.0.1:80 -r 10.0.0.2 -w -1
-a -t 10.0.0.1:80 -r 10.0.0.2 -w 2147483648
-a -t 10.0.0.1:80 -r 10.0.0.2 -x 2147483648
-a -t 10.0.0.1:80 -r 10.0.0.2 -y abc
--start-daemon master --syncid 256
--start-daemon master --mcast-port 0
--start-daemon master --mcast-ttl 256
--start-daemon master --sync-maxlen 65508
--start-daemon master --mcast-group 10.0.0.1
--start-daemon master --mcast-group 2001:db8::1
--set 1 2
--set 1 2 3 4
--set 1 2 x
-A -t 10.0.0.1:80 -p 2678401
-A -t 10.0.0.1:80 -b sh-port
-A -t 10.0.0.1:80 -s sh -b mh-port
-A -t 10.0.0.1:80 -b nosuch
-A -t 10.0.0.1:0 -s rr
-A -t 10.0.0.1:80 -o
-a -t 10.0.0.1:80 -r [2001:db8::2] -m
-a -t 10.0.0.1:80 -r 10.0.0.2 --tun-type gre
-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type vxlan
-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue
-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 0
-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type ipip --tun-port 5
-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-port 5
-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-remcsum
-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 5 --tun-csum --tun-nocsum
-L --timeout --stats
-L --daemon --persistent-conn
-L -c --rate
-R -n
-R foo
-d -t 10.0.0.1:80 -r 10.0.0.2 -w 3
-L --syncid 3
-C -n
-D -t 10.0.0.1:80 -s rr
`, true},
	{"restore-stops-at-failed-listing", `
-R <<EOF
-A -t 10.0.0.1:80 -s rr
-Ln -t 10.0.0.9:80
-A -t 10.0.0.2:80 -s rr
EOF
-Sn
-R <<EOF
-A -t 10.0.0.3:80 -s rr
-L -n -u 10.0.0.1:80 --stats
-D -t 10.0.0.1:80
EOF
`, true},
	{"option-forms", `
-At10.0.0.1:80 -srr
--add-service --tcp-service=10.0.0.1:81 --scheduler=wrr
-A -t=10.0.0.1:82 -s=lc -p=50
-A -t 10.0.0.1:83 -p 60 -s rr
-A -t 10.0.0.1:84 -p -s rr
-A --udp-service 10.0.0.1:85 --persistent --netmask 255.255.0.0 --ops
-A --sctp-service 10.0.0.1:86
-A --fwmark-service 12 --ipv6 --netmask 96 -p
-A -f 13 -M 255.255.255.0 -6
-A -t 10.1 -s rr -p
-A -t 0x0a000005:87
-a --tcp-service 10.0.0.1:81 --real-server 10.0.0.2:81 --masquerading --weight 3 --u-threshold 9 --l-threshold 2
-a -t 10.0.0.1:81 -r 10.0.0.3:82 --ipip
-a -t 10.0.0.1:81 -r 10.0.0.4:83 --gatewaying
-a -f 12 -6 -r [2001:db8::5]:99 -m
-a -f 13 -r 10.0.0.5:100 -m
-r 10.0.0.6 -a -t 10.0.0.1:81 -m
-Lnt 10.0.0.1:81
--list --numeric --exact --stats
-lnX
-Ln --sort
--save --numeric
`, true},
}
