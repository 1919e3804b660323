package cmdgen

import (
	"net/netip"
	"strconv"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// A line is built from what it names first (a service key, a real
// server's key, a forwarding method), then written with the names and
// numbers ipvsadm reads for them, so that the generator knows what a line
// does to the table.

// target is what a line names.
type target struct {
	svc      ipvs.ServiceKey
	svcText  string // a value past an edge, given as it is (svc is then unknown)
	dest     ipvs.DestinationKey
	destText string // as svcText, for the real server
	fwd      option // optMasq, optGate, optIPIP, or none given (direct routing)
}

// The guest's /etc/hosts (e2e/guest/etc/hosts): names gethostbyname finds
// (IPv4 only).
var hostNames = map[netip.Addr][]string{
	netip.MustParseAddr("10.0.0.1"):    {"vip1.example", "vip1"},
	netip.MustParseAddr("10.0.0.10"):   {"vip2.example", "vip2"},
	netip.MustParseAddr("10.0.0.2"):    {"rs1.example", "rs1"},
	netip.MustParseAddr("192.168.1.2"): {"rs2.example", "rs2"},
	netip.MustParseAddr("192.168.1.3"): {"rs3.example", "rs3"},
}

// The guest's /etc/services (e2e/guest/etc/services), by port and protocol.
var portNames = map[string][]string{
	"53/tcp": {"domain"}, "53/udp": {"domain"},
	"80/tcp":  {"http", "www"},
	"443/tcp": {"https"}, "443/udp": {"https"},
	"5060/tcp": {"sip"}, "5060/udp": {"sip"},
	"8080/tcp": {"http-alt", "webcache"},
}

// Pools of keys: small, so that lines often name what exists.
var (
	vipAddrs   = addrs("10.0.0.1", "10.0.0.1", "10.0.0.10", "10.0.0.3", "192.168.1.2")
	v6VIPAddrs = addrs("2001:db8::1", "2001:db8::1", "2001:db8::10")
	rsAddrs    = addrs("10.0.0.2", "10.0.0.2", "192.168.1.2", "192.168.1.3", "10.0.0.4")
	v6RSAddrs  = addrs("2001:db8::2", "2001:db8::2", "2001:db8::3")
	portPool   = []uint16{80, 80, 80, 443, 53, 8080, 5060}
	markPool   = []uint32{1, 7, 42, 42, 4294967295, 2147483648}
)

func addrs(texts ...string) []netip.Addr {
	out := make([]netip.Addr, len(texts))
	for i, s := range texts {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// poolService is a service key from the pools.
func (g *Gen) poolService() ipvs.ServiceKey {
	k := ipvs.ServiceKey{Family: ipvs.IPv4}
	switch x := g.r.Float64(); {
	case x < 0.25:
		// As the kernel keys a mark: no protocol.
		k.FWMark = pick(g, markPool)
		if g.chance(0.1) {
			k.FWMark = uint32(1 + g.r.IntN(100000))
		}
		if g.chance(0.25) {
			k.Family = ipvs.IPv6
		}
		return k
	case x < 0.45:
		k.Protocol = ipvs.UDP
	case x < 0.5:
		k.Protocol = ipvs.SCTP
	default:
		k.Protocol = ipvs.TCP
	}
	k.Addr = pick(g, vipAddrs)
	if g.chance(0.2) {
		k.Family, k.Addr = ipvs.IPv6, pick(g, v6VIPAddrs)
	}
	if !g.chance(0.05) {
		k.Port = pick(g, portPool)
	}
	return k
}

// poolDest is a real server's key from the pools for svc and a forwarding
// method: of svc's family (a tunnel may cross families), with svc's port
// where ipvsadm forces it.
func (g *Gen) poolDest(svc ipvs.ServiceKey, fwd option) ipvs.DestinationKey {
	six := svc.Family == ipvs.IPv6
	if fwd == optIPIP && g.chance(0.15) {
		six = !six
	}
	d := ipvs.DestinationKey{Addr: pick(g, rsAddrs), Port: pick(g, portPool)}
	if six {
		d.Addr = pick(g, v6RSAddrs)
	}
	if svc.FWMark != 0 && g.chance(0.2) {
		d.Port = 0
	}
	if svc.FWMark == 0 && fwd != optMasq {
		d.Port = svc.Port
	}
	return d
}

// serviceItems are the options naming t's service: -t/-u/--sctp-service
// with an address, or -f with a mark (and -6).
func (g *Gen) serviceItems(t target) []item {
	o := optTCP
	switch {
	case t.svc.FWMark != 0:
		o = optFWMark
	case t.svc.Protocol == ipvs.UDP:
		o = optUDP
	case t.svc.Protocol == ipvs.SCTP:
		o = optSCTP
	}
	if t.svcText != "" {
		return []item{{opt: o, value: t.svcText, hasValue: true}}
	}
	if t.svc.FWMark != 0 {
		items := []item{{opt: o, value: strconv.FormatUint(uint64(t.svc.FWMark), 10), hasValue: true}}
		if t.svc.Family == ipvs.IPv6 {
			items = append(items, item{opt: optIPv6})
		}
		return items
	}
	proto := protoName(t.svc.Protocol)
	return []item{{opt: o, value: g.addrPort(t.svc.Addr, t.svc.Port, proto, t.svc.Port != 0), hasValue: true}}
}

// destItem is -r naming t's real server. Its port may be left out, or be
// another, where ipvsadm puts in the service's port whatever the order of
// the options (forcing: for -a and -e, not for -d).
func (g *Gen) destItem(t target, forcing bool) item {
	if t.destText != "" {
		return item{opt: optReal, value: t.destText, hasValue: true}
	}
	// For -r, the protocol of a port name is the service's as parsed so
	// far: only names that mean the same port for TCP and UDP.
	proto := "tcp"
	if _, udp := portNames[strconv.Itoa(int(t.dest.Port))+"/udp"]; !udp {
		proto = "none"
	}
	forced := forcing && t.svc.FWMark == 0 && t.fwd != optMasq && t.dest.Port == t.svc.Port
	needPort := !forced && !(t.svc.FWMark != 0 && t.dest.Port == 0)
	if forced && g.chance(0.2) {
		// A port ipvsadm replaces with the service's.
		return item{opt: optReal, value: g.addrPort(t.dest.Addr, pick(g, portPool), "none", true), hasValue: true}
	}
	return item{opt: optReal, value: g.addrPort(t.dest.Addr, t.dest.Port, proto, needPort), hasValue: true}
}

func protoName(p ipvs.Protocol) string {
	switch p {
	case ipvs.UDP:
		return "udp"
	case ipvs.SCTP:
		return "sctp"
	}
	return "tcp"
}

// addrPort writes host[:port] as ipvsadm reads it: IPv6 in brackets, a
// host name or a port name now and then (and, unless needPort, sometimes
// leaves the port out).
func (g *Gen) addrPort(a netip.Addr, port uint16, proto string, needPort bool) string {
	host := a.String()
	if a.Is6() {
		host = "[" + host + "]"
	} else if names := hostNames[a]; names != nil && g.chance(0.3) {
		host = pick(g, names)
	}
	if !needPort && g.chance(0.3) {
		return a.String() // [v6] alone is not an address, v6 unbracketed is
	}
	p := strconv.Itoa(int(port))
	if names := portNames[p+"/"+proto]; names != nil && g.chance(0.4) {
		p = pick(g, names)
	}
	return host + ":" + p
}
