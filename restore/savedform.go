package restore

import (
	"net/netip"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// The lines ipvsadm -S writes are nearly all destinations of one form:
//
//	-a -t 10.0.0.1:80 -r 192.168.0.1:8080 -m -w 1
//	-a -f 7 -r 192.168.0.1 -g -w 1 -x 100 -y 10
//
// ParseRules reads such a line with readSavedDest, without the general
// parser's option machinery, when the line holds nothing that could make
// the two read it differently: numeric IPv4 addresses and numbers without
// leading zeros, single spaces, a newline at its end, the options in
// the order -S writes them and none twice. Any other line goes to the
// general parser. TestParseRulesIsParse and FuzzSavedForm check that both
// give the same rules.

// savedDest is what readSavedDest reads from a line.
type savedDest struct {
	key  ipvs.ServiceKey
	dest ipvs.Destination
}

// maxSavedWords is how many words the longest line readSavedDest reads
// has: -a, the service, -r, the destination, its forwarding method, -w,
// -x and -y.
const maxSavedWords = 12

// readSavedDest reads line, with its newline, into d if it is an -a line
// of the form above; false means the general parser must read it.
func readSavedDest(line []byte, d *savedDest) bool {
	var w [maxSavedWords][]byte
	n, ok := savedWords(line, &w)
	if !ok || n < 8 || string(w[0]) != "-a" || string(w[3]) != "-r" || string(w[6]) != "-w" {
		return false
	}
	fwmark := false
	switch string(w[1]) {
	case "-t":
		d.key.Protocol = ipvs.TCP
	case "-u":
		d.key.Protocol = ipvs.UDP
	case "-f":
		fwmark = true
	default:
		return false
	}
	d.key.Family = ipvs.IPv4
	if fwmark {
		mark, ok := savedNumber(w[2], 1<<32-1)
		if !ok || mark == 0 {
			return false
		}
		d.key.Protocol, d.key.Addr, d.key.Port, d.key.FWMark = 0, netip.Addr{}, 0, uint32(mark)
	} else {
		addr, port, hasPort := savedEndpoint(w[2])
		if !addr.IsValid() || !hasPort {
			return false
		}
		d.key.Addr, d.key.Port, d.key.FWMark = addr, port, 0
	}
	d.dest = ipvs.Destination{}
	addr, port, hasPort := savedEndpoint(w[4])
	if !addr.IsValid() || !hasPort && !fwmark {
		return false
	}
	d.dest.Addr, d.dest.Port = addr, port
	switch string(w[5]) {
	case "-m":
		d.dest.ForwardMethod = ipvs.Masquerade
	case "-g":
		d.dest.ForwardMethod = ipvs.DirectRoute
	case "-i":
		d.dest.ForwardMethod = ipvs.Tunnel
	default:
		return false
	}
	// A direct-routing or tunnelled destination of a service that is not
	// a firewall mark takes the service's port, whatever the line says:
	// left to the general parser unless they are the same.
	if !fwmark && d.dest.ForwardMethod != ipvs.Masquerade && port != d.key.Port {
		return false
	}
	return savedNumbers(w[7:n], &d.dest)
}

// savedNumbers reads the weight and the optional thresholds: "W", "W -x X",
// "W -y Y" or "W -x X -y Y".
func savedNumbers(w [][]byte, d *ipvs.Destination) bool {
	const maxInt = 1<<31 - 1
	v, ok := savedNumber(w[0], maxInt)
	if !ok {
		return false
	}
	d.Weight = uint32(v)
	w = w[1:]
	if len(w) >= 2 && string(w[0]) == "-x" {
		if v, ok = savedNumber(w[1], maxInt); !ok {
			return false
		}
		d.UpperThreshold = uint32(v)
		w = w[2:]
	}
	if len(w) >= 2 && string(w[0]) == "-y" {
		if v, ok = savedNumber(w[1], maxInt); !ok {
			return false
		}
		d.LowerThreshold = uint32(v)
		w = w[2:]
	}
	return len(w) == 0
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
// without leading zeros; an invalid address if it is neither.
func savedEndpoint(b []byte) (addr netip.Addr, port uint16, hasPort bool) {
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
