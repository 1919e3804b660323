package cmdline

import (
	"math"
	"net/netip"
	"strings"
)

// The parsers in this file follow the C library functions ipvsadm uses, so
// that exactly the same strings are accepted.

// isCSpace is C's isspace in the "C" locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// strtol is C's strtol(s, &end, 10) for a 64-bit long: it skips leading
// white space, takes an optional sign and the longest run of digits. It
// reports the value, the unparsed rest, whether any digit was read, and
// whether the value was out of range (ERANGE; the value is then clamped).
func strtol(s string) (v int64, rest string, ok, erange bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var mag uint64
	for i < len(s) && isDigit(s[i]) {
		d := uint64(s[i] - '0')
		if mag > (math.MaxUint64-d)/10 {
			erange = true
			mag = math.MaxUint64
		} else if !erange {
			mag = mag*10 + d
		}
		i++
	}
	if i == start {
		return 0, s, false, false
	}
	switch {
	case !neg && (erange || mag > math.MaxInt64):
		return math.MaxInt64, s[i:], true, true
	case neg && (erange || mag > 1<<63):
		return math.MinInt64, s[i:], true, true
	case neg:
		return -int64(mag), s[i:], true, false
	}
	return int64(mag), s[i:], true, false
}

// stringToNumber is ipvsadm's string_to_number: a whole decimal number
// (after optional blanks and sign) within [min, max].
func stringToNumber(s string, min, max int64) (int64, bool) {
	v, rest, ok, erange := strtol(s)
	if !ok || rest != "" || erange || v < min || v > max {
		return 0, false
	}
	return v, true
}

// atoi is C's atoi: strtol's value, truncated to an int, ignoring errors.
func atoi(s string) int32 {
	v, _, _, _ := strtol(s)
	return int32(v)
}

// strtoul0 is C's strtoul(s, &end, 0) on an unsigned 64-bit long, for a
// string that starts with a digit (the only way inet_aton calls it): it
// reads a hexadecimal (0x), octal (0) or decimal number.
func strtoul0(s string) (v uint64, n int, erange bool) {
	base := uint64(10)
	i := 0
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		if len(s) > 2 && hexValue(s[2]) < 16 {
			base, i = 16, 2
		}
	} else if strings.HasPrefix(s, "0") {
		base = 8
	}
	for ; i < len(s); i++ {
		d := uint64(hexValue(s[i]))
		if d >= base {
			break
		}
		if v > (math.MaxUint64-d)/base {
			erange = true
		}
		v = v*base + d
	}
	return v, i, erange
}

func hexValue(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// inetAton is glibc's inet_aton: one to four parts separated by dots, each
// in C notation (hex 0x.., octal 0.., decimal), the last part filling the
// remaining bytes; the address may be followed by white space and anything.
func inetAton(s string) (netip.Addr, bool) {
	var parts [4]byte
	n := 0
	var val uint64
	for {
		if s == "" || !isDigit(s[0]) {
			return netip.Addr{}, false
		}
		v, used, erange := strtoul0(s)
		if erange || v > math.MaxUint32 {
			return netip.Addr{}, false
		}
		val = v
		s = s[used:]
		if !strings.HasPrefix(s, ".") {
			break
		}
		if n > 2 || val > 0xff {
			return netip.Addr{}, false
		}
		parts[n] = byte(val)
		n++
		s = s[1:]
	}
	if s != "" && !isCSpace(s[0]) {
		return netip.Addr{}, false
	}
	max := [4]uint64{0xffffffff, 0xffffff, 0xffff, 0xff}
	if val > max[n] {
		return netip.Addr{}, false
	}
	word := uint32(parts[0])<<24 | uint32(parts[1])<<16 | uint32(parts[2])<<8 | uint32(parts[3])
	word |= uint32(val)
	return netip.AddrFrom4([4]byte{byte(word >> 24), byte(word >> 16), byte(word >> 8), byte(word)}), true
}

// inetPton4 is inet_pton(AF_INET): exactly four decimal parts, no leading
// zeros, nothing else.
func inetPton4(s string) (netip.Addr, bool) {
	if strings.Contains(s, ":") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// inetPton6 is inet_pton(AF_INET6). Go's parser agrees with glibc's except
// that it also accepts a zone ("%eth0"), which glibc does not.
func inetPton6(s string) (netip.Addr, bool) {
	// Every IPv6 address has two colons at least; "10.0.0.1:80", which
	// parse_service tries first, need not fail (and allocate) in ParseAddr.
	if strings.Contains(s, "%") || strings.Count(s, ":") < 2 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// endpoint is what parse_service fills in: an address and maybe a port.
type endpoint struct {
	addr    netip.Addr
	port    uint16
	hasPort bool
}

// parseEndpoint is ipvsadm's parse_service for "host[:port]",
// "[v6addr]:port" or a bare IPv6 address; proto is the protocol whose
// service names are used for a named port ("" when none is known yet, in
// which case only numeric ports work).
func parseEndpoint(s, proto string, r Resolver) (endpoint, bool) {
	var e endpoint
	if isAllDigits(s) {
		return e, false
	}
	host := s
	var port *string
	if strings.HasPrefix(host, "[") {
		host = host[1:]
		i := strings.IndexByte(host, ']')
		if i < 0 || !strings.HasPrefix(host[i+1:], ":") {
			return e, false
		}
		p := host[i+2:]
		port = &p
		host = host[:i]
	}
	if a, ok := inetPton6(host); ok {
		e.addr = a
	} else {
		// The text after "]:" is dropped for a bracketed IPv4 address;
		// a port can only come from a colon inside the brackets.
		port = nil
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			p := host[i+1:]
			port = &p
			host = host[:i]
		}
		a, ok := inetAton(host)
		if !ok {
			a, ok = r.LookupIPv4(host)
		}
		if !ok {
			return e, false
		}
		e.addr = a
	}
	if port != nil {
		e.hasPort = true
		if n, ok := stringToNumber(*port, 0, 65535); ok {
			e.port = uint16(n)
		} else if n, ok := lookupPort(r, *port, proto); ok {
			e.port = n
		} else {
			return e, false
		}
	}
	return e, true
}

func lookupPort(r Resolver, name, proto string) (uint16, bool) {
	if proto == "" {
		return 0, false
	}
	return r.LookupPort(name, proto)
}

// isAllDigits is ipvsadm's str_is_digit: true also for "".
func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// truncate is strncpy into a fixed buffer: at most n bytes are kept.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
