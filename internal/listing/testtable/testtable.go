// Package testtable holds the IPVS table behind the ipvsadm 1.31 captures
// in the behaviour reference (§4.10 and §5), for the listing and save
// tests.
package testtable

import (
	"net/netip"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Info is what the kernel reports: IPVS 1.2.1, 4096 hash buckets.
var Info = ipvs.Info{Version: ipvs.Version{Major: 1, Minor: 2, Patch: 1}, ConnTableSize: 4096}

// Capture returns the table, in an order a kernel could dump it (not the
// sorted order). With full64 set, destination counters carry the 64-bit
// values the kernel holds; otherwise the low 32 bits libipvs keeps of
// them, which is what the captures show.
func Capture(full64 bool) []ipvs.ServiceEntry {
	low := func(v uint64) uint64 {
		if full64 {
			return v
		}
		return v & 0xffffffff
	}
	a := netip.MustParseAddr
	mask24 := ipvs.IPv4NetmaskBits(0xffffff00)

	tcp := ipvs.ServiceEntry{
		Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: a("10.0.0.1"), Port: 80, Scheduler: "wlc",
			Stats: ipvs.Stats{Conns: 12345, InPkts: 99999999, OutPkts: 100000000, InBytes: 999999999, OutBytes: 1000000000,
				CPS: 5, InPPS: 6, OutPPS: 7, InBPS: 8, OutBPS: 9}},
		Destinations: []ipvs.Destination{
			// Newest first, as the kernel lists them.
			{Addr: a("192.168.1.3"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1,
				UpperThreshold: 1000, LowerThreshold: 500,
				ActiveConns: 123456789, InactiveConns: 4294967295, PersistentConns: 12,
				Stats: ipvs.Stats{Conns: low(99999999999), InPkts: low(100000000000), OutPkts: low(99999999999999),
					InBytes: 100000000000000, OutBytes: 18446744073709551615,
					CPS: low(4294967296), InPPS: low(123456789012), OutPPS: 3, InBPS: 4, OutBPS: 5}},
			{Addr: a("192.168.1.2"), Port: 80, ForwardMethod: ipvs.Masquerade, Weight: 1,
				ActiveConns: 3, InactiveConns: 4, PersistentConns: 5,
				Stats: ipvs.Stats{Conns: 1, InPkts: 2, OutPkts: 3, InBytes: 4, OutBytes: 5,
					CPS: 6, InPPS: 7, OutPPS: 8, InBPS: 9, OutBPS: 10}},
		},
	}
	udp := ipvs.ServiceEntry{
		Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.UDP, Addr: a("10.0.0.2"), Port: 53, Scheduler: "rr",
			Flags: ipvs.FlagPersistent, Timeout: 300,
			Stats: ipvs.Stats{Conns: 4294967296, InPkts: 5000000000, OutPkts: 0, InBytes: 123456789012345, OutBytes: 1,
				CPS: 123456789, InPPS: 0, OutPPS: 0, InBPS: 1000000000, OutBPS: 0}},
		Destinations: []ipvs.Destination{
			{Addr: a("192.168.1.6"), Port: 53, ForwardMethod: ipvs.Tunnel, Weight: 5, TunnelType: ipvs.IPIP},
			{Addr: a("192.168.1.4"), Port: 53, ForwardMethod: ipvs.Tunnel, Weight: 5, TunnelType: ipvs.GUE,
				TunnelPort: 6080, TunnelFlags: ipvs.TunnelCsum},
			{Addr: a("192.168.1.5"), Port: 53, ForwardMethod: ipvs.Tunnel, Weight: 5, TunnelType: ipvs.GRE,
				TunnelFlags: ipvs.TunnelCsum},
		},
	}
	v6 := ipvs.ServiceEntry{
		Service: ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.TCP, Addr: a("2001:db8::1"), Port: 443, Scheduler: "sh",
			Flags: ipvs.FlagPersistent | ipvs.FlagSched1 | ipvs.FlagSched2, Timeout: 300},
		Destinations: []ipvs.Destination{
			{Addr: a("2001:db8::10"), Port: 443, ForwardMethod: ipvs.Masquerade, Weight: 1},
		},
	}
	fwm42 := ipvs.ServiceEntry{
		Service: ipvs.Service{Family: ipvs.IPv4, FWMark: 42, Scheduler: "wlc", Flags: ipvs.FlagPersistent, Timeout: 300,
			Netmask: mask24, PEName: "sip"},
		Destinations: []ipvs.Destination{
			{Addr: a("192.168.1.9"), Port: 0, ForwardMethod: ipvs.DirectRoute, Weight: 1},
		},
	}
	fwm43 := ipvs.ServiceEntry{
		Service: ipvs.Service{Family: ipvs.IPv6, FWMark: 43, Scheduler: "wlc",
			Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: 300, Netmask: ipvs.IPv6Prefix(64)},
	}
	return []ipvs.ServiceEntry{fwm43, udp, v6, fwm42, tcp}
}

// More returns the services behind the reference's second -S capture
// (scheduler flags, pe and ops quirks), in kernel order: hash order for
// the protocol services, firewall marks last.
func More() []ipvs.ServiceEntry {
	a := netip.MustParseAddr("1.2.3.4")
	svc := func(p ipvs.Protocol, port uint16, sched string, flags ipvs.ServiceFlags) ipvs.ServiceEntry {
		return ipvs.ServiceEntry{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: p, Addr: a, Port: port,
			Scheduler: sched, Flags: flags}}
	}
	pe := svc(ipvs.TCP, 98, "rr", 0)
	pe.Service.PEName = "sip"
	sip := svc(ipvs.UDP, 5060, "mh", ipvs.FlagPersistent|ipvs.FlagOnePacket|ipvs.FlagSched1)
	sip.Service.Timeout, sip.Service.PEName = 30, "sip"
	return []ipvs.ServiceEntry{
		sip,
		svc(ipvs.TCP, 97, "sh", ipvs.FlagSched3),
		pe,
		svc(ipvs.TCP, 90, "rr", ipvs.FlagSched1|ipvs.FlagSched3),
		svc(ipvs.TCP, 91, "sh", ipvs.FlagSched1|ipvs.FlagSched2),
		{Service: ipvs.Service{Family: ipvs.IPv4, FWMark: 3000000000, Scheduler: "rr"}},
	}
}
