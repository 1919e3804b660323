// Package names turns addresses and ports into the names ipvsadm prints,
// and port names back into numbers, the way glibc's NSS does it with the
// usual "hosts: files dns" and "services: files" configuration:
//
//   - a reverse host lookup (gethostbyaddr) takes the first name of the
//     first /etc/hosts line carrying the address, then asks DNS for a PTR
//     record, and otherwise falls back to the numeric text;
//   - a port name (getservbyport) is the first /etc/services entry for that
//     exact port and protocol: Debian lists http for tcp only, so UDP port
//     80 stays 80.
//
// A Resolver caches every answer: ipvsadm resolves the same few addresses
// thousands of times in a large table, and a listing must stay fast.
package names

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default locations of the tables, as glibc reads them.
const (
	DefaultHostsPath    = "/etc/hosts"
	DefaultServicesPath = "/etc/services"
)

// AddrPortMax is the longest address:port text ipvsadm prints: it formats
// into a 60-byte buffer, so everything past 59 bytes is lost, even the
// ":port" of a long IPv6 host name.
const AddrPortMax = 59

// Resolver answers name lookups. The zero value is not usable; call New or
// fill in the fields and use it (a Resolver must not be copied after its
// first use).
type Resolver struct {
	// HostsPath and ServicesPath name the tables to read. An empty path
	// means no such table (every lookup in it misses); a table that cannot
	// be read is treated the same way, as glibc treats it.
	HostsPath    string
	ServicesPath string

	// LookupPTR is the DNS step of a reverse lookup, asked only when the
	// hosts table has no entry. It returns the host name (a trailing dot
	// is removed) or false. Nil means no DNS.
	LookupPTR func(addr netip.Addr) (string, bool)

	// LookupA is the DNS step of a forward lookup (gethostbyname): the
	// first IPv4 address of name. Nil means no DNS.
	LookupA func(name string) (netip.Addr, bool)

	loadOnce sync.Once
	hosts    map[netip.Addr]string // address -> h_name of its first line
	hostsFwd map[string]netip.Addr // lower-cased name or alias -> first IPv4 address
	byPort   map[portKey]string    // (port, proto) -> first name
	byName   map[nameKey]uint16    // (name or alias, proto) -> port

	mu       sync.Mutex
	dnsCache map[netip.Addr]hostAnswer
	fwdCache map[string]fwdAnswer
}

type portKey struct {
	port  uint16
	proto string
}

type nameKey struct {
	name  string
	proto string
}

type hostAnswer struct {
	name string
	ok   bool
}

type fwdAnswer struct {
	addr netip.Addr
	ok   bool
}

// dnsTimeout bounds one DNS question. glibc's resolver gives up after
// 5 seconds times 2 attempts per server by default; a listing must not
// hang much longer than ipvsadm would.
const dnsTimeout = 10 * time.Second

// New returns a Resolver reading /etc/hosts and /etc/services and asking
// the system's DNS servers through Go's resolver.
func New() *Resolver {
	return &Resolver{
		HostsPath:    DefaultHostsPath,
		ServicesPath: DefaultServicesPath,
		LookupPTR:    systemLookupPTR,
		LookupA:      systemLookupA,
	}
}

// systemLookupPTR asks DNS for the name of addr. Go's resolver consults
// /etc/hosts first as well; that is harmless, since the Resolver already
// found nothing there.
func systemLookupPTR(addr netip.Addr) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), dnsTimeout)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, addr.String())
	if err != nil || len(names) == 0 {
		return "", false
	}
	return strings.TrimSuffix(names[0], "."), true
}

func systemLookupA(name string) (netip.Addr, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), dnsTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", name)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, false
	}
	return addrs[0].Unmap(), true
}

func (r *Resolver) load() {
	r.loadOnce.Do(func() {
		r.hosts = make(map[netip.Addr]string)
		r.hostsFwd = make(map[string]netip.Addr)
		r.byPort = make(map[portKey]string)
		r.byName = make(map[nameKey]uint16)
		r.dnsCache = make(map[netip.Addr]hostAnswer)
		r.fwdCache = make(map[string]fwdAnswer)
		if r.HostsPath != "" {
			readTable(r.HostsPath, r.addHostsLine)
		}
		if r.ServicesPath != "" {
			readTable(r.ServicesPath, r.addServicesLine)
		}
	})
}

// readTable feeds each line of the file, comments removed, split into
// fields, to add. A missing file is an empty table.
func readTable(path string, add func(fields []string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) > 0 {
			add(fields)
		}
	}
}

// addHostsLine records one /etc/hosts line. glibc parses the address
// strictly (inet_pton: dotted quads only) and, for IPv4 lookups, also
// accepts IPv4-mapped IPv6 lines and lets ::1 stand for 127.0.0.1. A line
// without a name still matches; its h_name is empty.
func (r *Resolver) addHostsLine(fields []string) {
	addr, err := netip.ParseAddr(fields[0])
	if err != nil || addr.Zone() != "" {
		return
	}
	name := ""
	if len(fields) > 1 {
		name = fields[1]
	}
	keys := []netip.Addr{addr}
	if addr.Is6() {
		switch {
		case addr.Is4In6():
			keys = append(keys, addr.Unmap())
		case addr == netip.IPv6Loopback():
			keys = append(keys, netip.AddrFrom4([4]byte{127, 0, 0, 1}))
		}
	}
	for _, k := range keys {
		if _, seen := r.hosts[k]; !seen {
			r.hosts[k] = name
		}
	}
	// Forward lookups (gethostbyname, IPv4 only) match the name and
	// every alias, ignoring case.
	if v4 := addr.Unmap(); v4.Is4() && (addr.Is4() || addr.Is4In6()) {
		for _, n := range fields[1:] {
			n = strings.ToLower(n)
			if _, seen := r.hostsFwd[n]; !seen {
				r.hostsFwd[n] = v4
			}
		}
	}
}

// addServicesLine records one /etc/services line: "name port/proto
// aliases...".
func (r *Resolver) addServicesLine(fields []string) {
	if len(fields) < 2 {
		return
	}
	portText, proto, ok := strings.Cut(fields[1], "/")
	if !ok || proto == "" {
		return
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return
	}
	pk := portKey{uint16(port), proto}
	if _, seen := r.byPort[pk]; !seen {
		r.byPort[pk] = fields[0]
	}
	names := append([]string{fields[0]}, fields[2:]...)
	for _, n := range names {
		nk := nameKey{n, proto}
		if _, seen := r.byName[nk]; !seen {
			r.byName[nk] = uint16(port)
		}
	}
}

// LookupHost is gethostbyaddr: the host name of addr, or false. The name
// may be empty (an /etc/hosts line with an address only).
func (r *Resolver) LookupHost(addr netip.Addr) (string, bool) {
	r.load()
	if name, ok := r.hosts[addr]; ok {
		return name, true
	}
	if r.LookupPTR == nil {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.dnsCache[addr]; ok {
		return a.name, a.ok
	}
	name, ok := r.LookupPTR(addr)
	name = strings.TrimSuffix(name, ".")
	r.dnsCache[addr] = hostAnswer{name, ok}
	return name, ok
}

// HostName is ipvsadm's addr_to_anyname: the host name of addr, or its
// numeric text.
func (r *Resolver) HostName(addr netip.Addr) string {
	if name, ok := r.LookupHost(addr); ok {
		return name
	}
	return NumericHost(addr)
}

// LookupPort is getservbyport: the first name /etc/services gives port
// under proto ("tcp", "udp" or "sctp"), or false.
func (r *Resolver) LookupPort(port uint16, proto string) (string, bool) {
	r.load()
	name, ok := r.byPort[portKey{port, proto}]
	return name, ok
}

// PortName is ipvsadm's port_to_anyname: the port's service name under
// proto, or the decimal number. An empty proto (fwmark services, unknown
// protocols) always gives the number.
func (r *Resolver) PortName(port uint16, proto string) string {
	if proto != "" {
		if name, ok := r.LookupPort(port, proto); ok {
			return name
		}
	}
	return strconv.FormatUint(uint64(port), 10)
}

// LookupService is getservbyname: the port of the service called name
// (its name or an alias, case-sensitive) under proto, or false.
func (r *Resolver) LookupService(name, proto string) (uint16, bool) {
	r.load()
	port, ok := r.byName[nameKey{name, proto}]
	return port, ok
}

// LookupIPv4 is gethostbyname as ipvsadm uses it: the first IPv4 address
// of the host called name (case-insensitive in /etc/hosts), from the
// hosts table, then DNS.
//
// glibc's hosts table compares names exactly, so "vip1.example." does not
// find a "vip1.example" line; Go's resolver, which does the DNS step,
// reads the hosts file too and ignores a final dot. A name that differs
// from a hosts-table name only by its final dot is therefore not asked
// further: the answer would come from the file, not from DNS.
func (r *Resolver) LookupIPv4(name string) (netip.Addr, bool) {
	r.load()
	lower := strings.ToLower(name)
	if a, ok := r.hostsFwd[lower]; ok {
		return a, true
	}
	// glibc answers a name with a colon itself, as an IPv6 literal, which
	// an IPv4 lookup does not find; Go's resolver would map "::" to
	// 0.0.0.0 and "::ffff:10.0.0.1" to 10.0.0.1.
	if r.LookupA == nil || strings.Contains(name, ":") || r.inHostsButForDot(lower) {
		return netip.Addr{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.fwdCache[name]; ok {
		return a.addr, a.ok
	}
	a, ok := r.LookupA(name)
	r.fwdCache[name] = fwdAnswer{a, ok}
	return a, ok
}

// inHostsButForDot reports whether the lower-case name with its final dot
// removed, or added, is a name of the hosts table.
func (r *Resolver) inHostsButForDot(lower string) bool {
	other := lower + "."
	if trimmed, ok := strings.CutSuffix(lower, "."); ok {
		other = trimmed
	}
	_, ok := r.hostsFwd[other]
	return ok
}

// ProtoName returns the protocol name getservbyport takes for an IP
// protocol number: "tcp", "udp", "sctp", or "" for any other number.
func ProtoName(proto uint16) string {
	switch proto {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 132:
		return "sctp"
	}
	return ""
}

// AppendAddrPort appends ipvsadm's addrport_to_anyname text for addr and
// port: "host:port", with IPv6 hosts in brackets even when named. With
// numeric set, both parts are numbers; otherwise the host is resolved and
// the port named under proto (see PortName). The text is cut at
// AddrPortMax bytes. A 4-byte address is IPv4; any 16-byte address,
// IPv4-mapped ones included, is IPv6, as it is to the kernel. The zero
// Addr prints as 0.0.0.0. A nil Resolver works and always prints numbers.
func (r *Resolver) AppendAddrPort(dst []byte, addr netip.Addr, port uint16, proto string, numeric bool) []byte {
	if r == nil {
		numeric = true
	}
	return AppendAddrPort(dst, r, addr, port, proto, numeric)
}

// Lookup answers the reverse lookups of AppendAddrPort; *Resolver is one.
type Lookup interface {
	LookupHost(addr netip.Addr) (string, bool)
	LookupPort(port uint16, proto string) (string, bool)
}

// AppendAddrPort is Resolver.AppendAddrPort with the lookups of l, which
// may be nil when numeric is set.
func AppendAddrPort(dst []byte, l Lookup, addr netip.Addr, port uint16, proto string, numeric bool) []byte {
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	start := len(dst)
	v6 := addr.Is6()
	if v6 {
		dst = append(dst, '[')
	}
	if name, ok := lookupHost(l, addr, numeric); ok {
		dst = append(dst, name...)
	} else {
		dst = AppendNumericHost(dst, addr)
	}
	if v6 {
		dst = append(dst, ']')
	}
	dst = append(dst, ':')
	if name, ok := lookupPort(l, port, proto, numeric); ok {
		dst = append(dst, name...)
	} else {
		dst = strconv.AppendUint(dst, uint64(port), 10)
	}
	if len(dst)-start > AddrPortMax {
		dst = dst[:start+AddrPortMax]
	}
	return dst
}

func lookupHost(l Lookup, addr netip.Addr, numeric bool) (string, bool) {
	if numeric {
		return "", false
	}
	return l.LookupHost(addr)
}

func lookupPort(l Lookup, port uint16, proto string, numeric bool) (string, bool) {
	if numeric || proto == "" {
		return "", false
	}
	return l.LookupPort(port, proto)
}

// AddrPort is AppendAddrPort returning a string.
func (r *Resolver) AddrPort(addr netip.Addr, port uint16, proto string, numeric bool) string {
	var buf [80]byte
	return string(r.AppendAddrPort(buf[:0], addr, port, proto, numeric))
}
