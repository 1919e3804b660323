package cmdline

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
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

// SystemResolver resolves names like glibc configured with
// "hosts: files dns" and "services: files".
type SystemResolver struct {
	HostsFile    string // default /etc/hosts
	ServicesFile string // default /etc/services
	// NoDNS disables the DNS fallback for host names.
	NoDNS bool
	// DNSTimeout bounds a DNS lookup; default 10 seconds.
	DNSTimeout time.Duration
}

// LookupIPv4 searches the hosts file for the first line naming the host
// (case-insensitively, as canonical name or alias) with an IPv4 address,
// then asks DNS.
func (r *SystemResolver) LookupIPv4(name string) (netip.Addr, bool) {
	if name == "" {
		return netip.Addr{}, false
	}
	// A numeric address never goes to NSS: gethostbyname parses it
	// itself, and everything inet_aton accepts was tried before.
	if _, err := netip.ParseAddr(name); err == nil {
		return netip.Addr{}, false
	}
	path := r.HostsFile
	if path == "" {
		path = "/etc/hosts"
	}
	if a, ok := lookupHostsFile(path, name); ok {
		return a, true
	}
	if r.NoDNS {
		return netip.Addr{}, false
	}
	timeout := r.DNSTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", name)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, false
	}
	return ips[0].Unmap(), true
}

// LookupPort searches the services file.
func (r *SystemResolver) LookupPort(name, proto string) (uint16, bool) {
	path := r.ServicesFile
	if path == "" {
		path = "/etc/services"
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	return scanServices(bufio.NewScanner(f), name, proto)
}

func lookupHostsFile(path, name string) (netip.Addr, bool) {
	f, err := os.Open(path)
	if err != nil {
		return netip.Addr{}, false
	}
	defer f.Close()
	return scanHosts(bufio.NewScanner(f), name)
}

func scanHosts(sc *bufio.Scanner, name string) (netip.Addr, bool) {
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		addr, ok := inetPton4(fields[0])
		if !ok {
			continue
		}
		for _, n := range fields[1:] {
			if strings.EqualFold(n, name) {
				return addr, true
			}
		}
	}
	return netip.Addr{}, false
}

func scanServices(sc *bufio.Scanner, name, proto string) (uint16, bool) {
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		portText, p, ok := strings.Cut(fields[1], "/")
		if !ok || p != proto {
			continue
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			continue
		}
		if fields[0] == name {
			return uint16(port), true
		}
		for _, alias := range fields[2:] {
			if alias == name {
				return uint16(port), true
			}
		}
	}
	return 0, false
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
