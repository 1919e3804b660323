package cmdgen

import "strconv"

// Pools of values. Most picks come from small pools, so that generated
// commands often name services and real servers that exist; the rest are
// values at and past the edges ipvsadm checks.

// Hosts of the e2e guest's /etc/hosts (e2e/guest/etc/hosts) and numbers.
var (
	vipHosts = []string{"10.0.0.1", "10.0.0.1", "10.0.0.10", "10.0.0.3", "vip1.example", "vip2", "192.168.1.2"}
	v6VIPs   = []string{"2001:db8::1", "2001:db8::1", "2001:db8::10"}
	rsHosts  = []string{"10.0.0.2", "10.0.0.2", "192.168.1.2", "192.168.1.3", "10.0.0.4", "rs1.example", "rs2", "rs3.example"}
	v6RSs    = []string{"2001:db8::2", "2001:db8::2", "2001:db8::3"}
	oddHosts = []string{"0.0.0.0", "255.255.255.255", "224.0.0.1", "127.0.0.1", "localhost", "10.1",
		"0x0a000001", "012.0.0.1", "10.0.0.1 ", "nosuchhost.invalid", "v6vip.example", "vip1.example.",
		"rs1.example.", "1.2.3.4.5", "256.0.0.1", "10.0.0.1x", "VIP1.EXAMPLE", "-10.0.0.1"}
	oddV6    = []string{"::1", "::", "fe80::1", "ff02::1", "::ffff:10.0.0.1", "2001:db8::1%eth0", "2001:db8:::1", "v6vip.example"}
	ports    = []string{"80", "80", "80", "443", "53", "8080", "5060", "http", "http", "https", "domain", "sip"}
	oddPorts = []string{"0", "65535", "65536", "-1", "+80", " 80", "080", "0x50", "", "nosuchport",
		"ssh", "mdns", "diameter", "www", "HTTP", "99999999999999999999", "http-alt"}
	schedulers    = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}
	oddSchedulers = []string{"none", "twos", "nosuch", "", "RR", "rr ", "abcdefghijklmno",
		"abcdefghijklmnop", "wlcwlcwlcwlcwlcw", "wlcwlcwlcwlcwlc", "sh\tsh"}
	sipPE  = []string{"sip"}
	oddPEs = []string{"nosuch", "", "SIP", "sipsipsipsipsip", "sipsipsipsipsips", "sipsipsipsipsipsip"}
)

// value makes a value of kind k: mostly sensible, sometimes past an edge.
func (g *Gen) value(k valueKind) string {
	return g.valueOf(k, g.chance(g.mutate))
}

// valueOf makes a value of kind k, past an edge if odd.
func (g *Gen) valueOf(k valueKind, odd bool) string {
	switch k {
	case serviceAddr:
		return g.address(vipHosts, v6VIPs, odd)
	case realServer:
		return g.address(rsHosts, v6RSs, odd)
	case fwmark:
		return g.number(odd, []string{"1", "7", "42", "42", "4294967295", "2147483648"},
			[]string{"0", "4294967296", "-1", " 5", "+5", "5x", "", "0x10", "-0", "007"})
	case scheduler:
		return g.either(odd, schedulers, oddSchedulers)
	case netmask:
		return g.either(odd, []string{"255.255.255.0", "255.255.0.0", "255.255.255.255", "64", "96", "128", "24"},
			[]string{"0", "129", "0.0.0.0", "abc", "", "vip1.example", "-1", "255.255.255.256", "1000"})
	case integer31:
		return g.number(odd, []string{"0", "1", "1", "5", "100", "65535", "65536", "2147483647"},
			[]string{"2147483648", "-1", "", "abc", " 3", "+3", "4294967296", "3.5"})
	case ifname:
		return g.either(odd, []string{"eth0", "eth0", "eth1"},
			[]string{"lo", "nosuch0", "", "abcdefghijklmnop", "abcdefghijklmno", "eth0.100"})
	case syncid:
		return g.number(odd, []string{"0", "1", "7", "255"}, []string{"256", "-1", "", "x"})
	case peName:
		return g.either(odd, sipPE, oddPEs)
	case schedFlags:
		return g.schedFlags(pick(g, []string{"wlc", "sh", "mh"}), odd)
	case mcastGroup:
		return g.either(odd, []string{"224.0.0.81", "239.1.2.3", "ff02::1234"},
			[]string{"10.0.0.1", "2001:db8::1", "224.0.0", "abc", "", "239.1.2.3:80", "ff02::1234%eth0"})
	case port16:
		return g.number(odd, []string{"1", "6080", "8848", "65535"}, []string{"0", "65536", "-1", "", "p"})
	case ttl:
		return g.number(odd, []string{"1", "4", "255"}, []string{"0", "256", "-1", ""})
	case maxlen:
		return g.number(odd, []string{"1", "1400", "1472", "65507"}, []string{"0", "65508", "-1", ""})
	case tunType:
		return g.either(odd, []string{"ipip", "gue", "gue", "gre"}, []string{"vxlan", "", "GUE"})
	case daemonState:
		return g.either(odd, []string{"master", "backup"}, []string{"foo", "", "MASTER"})
	}
	return ""
}

func (g *Gen) either(odd bool, usual, unusual []string) string {
	if odd {
		return pick(g, unusual)
	}
	return pick(g, usual)
}

// number is either with, now and then, any number of the edges' size.
func (g *Gen) number(odd bool, usual, unusual []string) string {
	if !odd && g.chance(0.1) {
		return strconv.Itoa(g.r.IntN(100000))
	}
	return g.either(odd, usual, unusual)
}

// schedFlags is a -b value for scheduler sched (past an edge if odd: a
// flag of another scheduler, a mistake in the list).
func (g *Gen) schedFlags(sched string, odd bool) string {
	if odd {
		return pick(g, []string{"nosuch", "", ",", ",flag-1", "flag-1,,flag-2", "sh-port,mh-port", "flag-1 ",
			"FLAG-1", "sh-port", "mh-fallback"})
	}
	flags := []string{"flag-1", "flag-2", "flag-3", "flag-1,flag-3"}
	switch sched {
	case "sh":
		flags = append(flags, "sh-fallback", "sh-port", "sh-fallback,sh-port", "sh-port")
	case "mh":
		flags = append(flags, "mh-fallback", "mh-port", "mh-port,mh-fallback", "mh-port")
	}
	return pick(g, flags)
}

// timeout is a -p or --set value (optional: -p's, 1..2678400; else
// --set's, 0..2678400).
func (g *Gen) timeout(optional bool) string {
	if g.chance(g.mutate) {
		return pick(g, []string{"2678401", "-1", "abc", "", " 5", "+5", "99999999999"})
	}
	if optional {
		return pick(g, []string{"1", "30", "300", "360", "2678400"})
	}
	return pick(g, []string{"0", "0", "1", "10", "120", "300", "900", "2678400"})
}

// address is host[:port] as ipvsadm parses it, IPv6 in brackets.
func (g *Gen) address(v4, v6 []string, odd bool) string {
	host := pick(g, v4)
	bracket := false
	if g.chance(0.2) {
		host, bracket = pick(g, v6), true
	}
	port := pick(g, ports)
	if odd {
		switch g.r.IntN(4) {
		case 0:
			host, bracket = pick(g, oddHosts), false
		case 1:
			host, bracket = pick(g, oddV6), g.chance(0.7)
		case 2:
			port = pick(g, oddPorts)
		default:
			return pick(g, []string{"", "12345", "[2001:db8::1]", "[10.0.0.1]:80", "2001:db8::1:80",
				":80", "10.0.0.1:", "[2001:db8::1]:", "[2001:db8::1", "2001:db8::1]:80", "[]:80", "10.0.0.1:80:80"})
		}
	}
	if bracket {
		host = "[" + host + "]"
	}
	if g.chance(0.1) {
		return host // no port
	}
	return host + ":" + port
}
