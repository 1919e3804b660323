package cmdline

import (
	"net/netip"
	"strings"

	"github.com/goipvsadm/goipvsadm/internal/names"
)

// Resolver looks up the names ipvsadm accepts in place of numbers.
type Resolver interface {
	// LookupIPv4 is gethostbyname(name) restricted to IPv4: the first
	// IPv4 address of the host.
	LookupIPv4(name string) (netip.Addr, bool)
	// LookupPort is getservbyname(name, proto) with proto "tcp", "udp"
	// or "sctp": the port of the first matching service entry.
	LookupPort(name, proto string) (uint16, bool)
}

// NamesResolver resolves through a names.Resolver: /etc/hosts and
// /etc/services as glibc's "files" NSS module reads them, then DNS for
// host names. The listings resolve with the same tables.
type NamesResolver struct{ *names.Resolver }

// LookupPort is getservbyname.
func (r NamesResolver) LookupPort(name, proto string) (uint16, bool) {
	return r.LookupService(name, proto)
}

// StaticResolver answers from fixed tables, for tests.
type StaticResolver struct {
	Hosts    map[string]netip.Addr // host name (lower case) -> address
	Services map[string]uint16     // "name/proto" -> port
}

// LookupIPv4 looks the name up case-insensitively.
func (r StaticResolver) LookupIPv4(name string) (netip.Addr, bool) {
	a, ok := r.Hosts[strings.ToLower(name)]
	return a, ok && a.Is4()
}

// LookupPort looks "name/proto" up.
func (r StaticResolver) LookupPort(name, proto string) (uint16, bool) {
	p, ok := r.Services[name+"/"+proto]
	return p, ok
}
