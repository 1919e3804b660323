package restore

import (
	"bytes"
	"net/netip"

	"github.com/goipvsadm/goipvsadm/internal/compact"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Nearly every line ipvsadm -S writes has one of a few forms:
//
//	-A -t 10.0.0.1:80 -s wlc
//	-A -u 10.0.0.1:53 -s rr -p 300 -M 255.255.255.0
//	-a -t 10.0.0.1:80 -r 192.168.0.1:8080 -m -w 1
//	-a -f 7 -r 192.168.0.1 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
//	-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -g -w 1
//
// ParseRules reads such a line with readSavedLine, without the general
// parser's option machinery, when the line holds nothing that could make
// the two read it differently: numeric addresses (IPv6 without a zone)
// and numbers without leading zeros, single spaces, a newline at its end,
// the options in the order -S writes them and none twice, a destination
// in its service's family. Any other line goes to the general parser.
// TestSavedForm, TestSavedFormOfSavedTables and FuzzSavedForm check that
// both give the same rules.

// savedLine is what readSavedLine reads from a line: a new service, or a
// new destination of the service of key. Rules keeps one for all its
// lines, with the words of the line read last: a line clears nothing.
type savedLine struct {
	kind  ipvs.OpKind // OpCreateService or OpCreateDestination
	svc   ipvs.Service
	key   ipvs.ServiceKey
	dest  destSpec
	words [maxSavedWords][]byte
	// schedulers holds the scheduler names read so far, so that the
	// services of a table share a few strings.
	schedulers map[string]string
}

// maxSchedulerNames bounds savedLine.schedulers: a table uses a few.
const maxSchedulerNames = 64

// scheduler returns b as a string, shared with the services before that
// named the same scheduler.
func (l *savedLine) scheduler(b []byte) string {
	if s, ok := l.schedulers[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(l.schedulers) < maxSchedulerNames {
		if l.schedulers == nil {
			l.schedulers = make(map[string]string)
		}
		l.schedulers[s] = s
	}
	return s
}

// maxSavedWords is how many words the longest line readSavedLine reads
// has: -a, the service, -r, the destination, its forwarding method, -w,
// -x, -y and three tunnel options.
const maxSavedWords = 17

// readSavedLine reads line, with its newline, into l if it has one of the
// forms above; false means the general parser must read it.
func readSavedLine(line []byte, l *savedLine) bool {
	w := &l.words
	n, ok := savedWords(line, w)
	if !ok || n < 3 {
		return false
	}
	key, ok := savedService(w[1], w[2])
	if !ok {
		return false
	}
	l.key = key
	switch string(w[0]) {
	case "-A":
		l.kind = ipvs.OpCreateService
		return readSavedService(w[3:n], l)
	case "-a":
		l.kind = ipvs.OpCreateDestination
		return readSavedDest(w[3:n], l)
	}
	return false
}

// savedService reads the service option and its value: -t or -u and an
// address with a port (savedEndpoint), or -f and a mark.
func savedService(opt, val []byte) (ipvs.ServiceKey, bool) {
	k := ipvs.ServiceKey{Family: ipvs.IPv4}
	switch string(opt) {
	case "-t":
		k.Protocol = ipvs.TCP
	case "-u":
		k.Protocol = ipvs.UDP
	case "-f":
		mark, ok := savedNumber(val, 1<<32-1)
		k.FWMark = uint32(mark)
		return k, ok && mark != 0
	default:
		return k, false
	}
	addr, port, hasPort := savedEndpoint(val)
	k.Addr, k.Port = addr, port
	if addr.Is6() {
		k.Family = ipvs.IPv6
	}
	return k, addr.IsValid() && hasPort
}

// readSavedService reads what follows the service of an -A line:
// "-s sched", then "-p timeout -M mask" or "-p timeout" if any.
func readSavedService(w [][]byte, l *savedLine) bool {
	const maxTimeout = 86400 * 31
	k := l.key
	l.svc = ipvs.Service{Family: k.Family, Protocol: k.Protocol, Addr: k.Addr, Port: k.Port, FWMark: k.FWMark}
	if len(w) < 2 || string(w[0]) != "-s" || !savedName(w[1], 15) {
		return false
	}
	l.svc.Scheduler = l.scheduler(w[1])
	w = w[2:]
	if len(w) >= 2 && string(w[0]) == "-p" {
		t, ok := savedNumber(w[1], maxTimeout)
		if !ok || t == 0 {
			return false
		}
		l.svc.Flags, l.svc.Timeout = ipvs.FlagPersistent, uint32(t)
		w = w[2:]
		if len(w) >= 2 && string(w[0]) == "-M" {
			if !savedMask(w[1], k.Family, &l.svc.Netmask) {
				return false
			}
			w = w[2:]
		}
	}
	// A service that is not persistent and not a firewall mark needs a
	// port: left to the general parser, which says so.
	return len(w) == 0 && (k.Port != 0 || k.FWMark != 0 || l.svc.Flags != 0)
}

// savedMask reads the value of -M: an IPv4 mask as an address, or an IPv6
// prefix length from 1 to 128.
func savedMask(b []byte, fam ipvs.Family, m *ipvs.Netmask) bool {
	if fam == ipvs.IPv6 {
		n, ok := savedNumber(b, 128)
		*m = ipvs.IPv6Prefix(int(n))
		return ok && n != 0
	}
	mask, _, hasPort := savedEndpoint(b)
	if !mask.Is4() || hasPort {
		return false
	}
	a := mask.As4()
	*m = ipvs.IPv4NetmaskBits(uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]))
	return true
}

// readSavedDest reads what follows the service of an -a line.
func readSavedDest(w [][]byte, l *savedLine) bool {
	if len(w) < 5 || string(w[0]) != "-r" || string(w[3]) != "-w" {
		return false
	}
	fwmark := l.key.FWMark != 0
	addr, port, hasPort := savedEndpoint(w[1])
	if !addr.IsValid() || !hasPort && !fwmark || addr.Is6() != (l.key.Family == ipvs.IPv6) {
		// A family other than the service's is for tunnels only: left
		// to the general parser, which checks that.
		return false
	}
	var fwd ipvs.ForwardMethod
	switch string(w[2]) {
	case "-m":
		fwd = ipvs.Masquerade
	case "-g":
		fwd = ipvs.DirectRoute
	case "-i":
		fwd = ipvs.Tunnel
	default:
		return false
	}
	// A direct-routing or tunnelled destination of a service that is not
	// a firewall mark takes the service's port, whatever the line says:
	// left to the general parser unless they are the same.
	if !fwmark && fwd != ipvs.Masquerade && port != l.key.Port {
		return false
	}
	l.dest = destSpec{addr: compact.AddrOf(addr), port: port, fwd: uint8(fwd)}
	w, ok := savedNumbers(w[4:], &l.dest)
	if !ok {
		return false
	}
	if fwd == ipvs.Tunnel {
		w, ok = savedTunnel(w, &l.dest)
	}
	return ok && len(w) == 0
}

// savedNumbers reads the weight and the optional thresholds: "W", "W -x X",
// "W -y Y" or "W -x X -y Y", and returns the words after them.
func savedNumbers(w [][]byte, d *destSpec) ([][]byte, bool) {
	const maxInt = 1<<31 - 1
	v, ok := savedNumber(w[0], maxInt)
	if !ok {
		return nil, false
	}
	d.weight = uint32(v)
	w = w[1:]
	for _, o := range [...]struct {
		opt string
		to  *uint32
	}{{"-x", &d.upper}, {"-y", &d.lower}} {
		if len(w) >= 2 && string(w[0]) == o.opt {
			if v, ok = savedNumber(w[1], maxInt); !ok {
				return nil, false
			}
			*o.to = uint32(v)
			w = w[2:]
		}
	}
	return w, true
}

// savedTunnel reads the tunnel options -S writes, and returns the words
// after them: "--tun-type ipip", "--tun-type gue --tun-port P" and a
// checksum option, or "--tun-type gre" and --tun-nocsum or --tun-csum.
// Any other combination is left to the general parser, which checks
// them against ipvsadm's table of tunnel options.
func savedTunnel(w [][]byte, d *destSpec) ([][]byte, bool) {
	if len(w) < 2 || string(w[0]) != "--tun-type" {
		return w, true
	}
	switch string(w[1]) {
	case "ipip":
		d.tunType = ipvs.IPIP
		return w[2:], true
	case "gue":
		d.tunType = ipvs.GUE
		if len(w) < 5 || string(w[2]) != "--tun-port" {
			return nil, false
		}
		p, ok := savedNumber(w[3], 65535)
		if !ok || p == 0 {
			return nil, false
		}
		d.tunPort = uint16(p)
		w = w[4:]
	case "gre":
		d.tunType = ipvs.GRE
		w = w[2:]
		if len(w) == 0 || string(w[0]) == "--tun-remcsum" {
			return nil, false
		}
	default:
		return nil, false
	}
	switch string(w[0]) {
	case "--tun-nocsum":
	case "--tun-csum":
		d.tunFlags = ipvs.TunnelCsum
	case "--tun-remcsum":
		d.tunFlags = ipvs.TunnelRemCsum
	default:
		return nil, false
	}
	return w[1:], true
}

// savedWords splits a line into its words if it is words of printable
// ASCII separated by single spaces and ended by a newline, and has at most
// maxSavedWords words.
func savedWords(line []byte, w *[maxSavedWords][]byte) (int, bool) {
	if len(line) < 2 || line[len(line)-1] != '\n' {
		return 0, false
	}
	line = line[:len(line)-1]
	n, start := 0, 0
	for i := 0; i <= len(line); i++ {
		if i < len(line) {
			c := line[i]
			if c > ' ' && c < 0x7f {
				continue
			}
			if c != ' ' {
				return 0, false
			}
		}
		if i == start || n == maxSavedWords {
			return 0, false
		}
		w[n] = line[start:i]
		n++
		start = i + 1
	}
	return n, true
}

// savedName reports whether b is a name of 1 to max lower-case letters,
// digits and underscores.
func savedName(b []byte, max int) bool {
	if len(b) == 0 || len(b) > max {
		return false
	}
	for _, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// savedNumber reads a decimal number without a sign or leading zeros, at
// most max.
func savedNumber(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 10 || len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v <= max
}

// savedEndpoint reads "a.b.c.d" or "a.b.c.d:port", each part a number
// without leading zeros, or "[IPv6 address]:port" (without a zone); an
// invalid address if it is none of them.
func savedEndpoint(b []byte) (addr netip.Addr, port uint16, hasPort bool) {
	if len(b) > 0 && b[0] == '[' {
		return savedEndpoint6(b[1:])
	}
	var ip [4]byte
	for i := range ip {
		j := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		v, ok := savedNumber(b[:j], 255)
		if !ok {
			return netip.Addr{}, 0, false
		}
		ip[i] = byte(v)
		b = b[j:]
		if i < 3 {
			if len(b) == 0 || b[0] != '.' {
				return netip.Addr{}, 0, false
			}
			b = b[1:]
		}
	}
	if len(b) == 0 {
		return netip.AddrFrom4(ip), 0, false
	}
	if b[0] != ':' {
		return netip.Addr{}, 0, false
	}
	p, ok := savedNumber(b[1:], 65535)
	if !ok {
		return netip.Addr{}, 0, false
	}
	return netip.AddrFrom4(ip), uint16(p), true
}

// savedEndpoint6 reads "IPv6 address]:port", which inet_pton reads as Go
// does when there is no zone.
func savedEndpoint6(b []byte) (addr netip.Addr, port uint16, hasPort bool) {
	end := bytes.IndexByte(b, ']')
	if end < 0 || end+1 == len(b) || b[end+1] != ':' || bytes.IndexByte(b[:end], '%') >= 0 {
		return netip.Addr{}, 0, false
	}
	a, err := netip.ParseAddr(string(b[:end]))
	p, ok := savedNumber(b[end+2:], 65535)
	if err != nil || !a.Is6() || !ok {
		return netip.Addr{}, 0, false
	}
	return a, uint16(p), true
}
