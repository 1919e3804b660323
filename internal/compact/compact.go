// Package compact holds values in forms without pointers, for the
// packages that keep a million of them (restore's rules, reconcile's
// tables): the garbage collector need not look inside them, and they take
// less room.
package compact

import (
	"encoding/binary"
	"net/netip"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Addr is a netip.Addr without its zone, which IPVS does not keep: 17
// bytes where a netip.Addr takes 24 and holds a pointer.
type Addr struct {
	b    [16]byte
	bits uint8 // 32, 128, or 0 for the zero netip.Addr
}

// AddrOf returns a's compact form, without its zone.
func AddrOf(a netip.Addr) Addr { return Addr{b: a.As16(), bits: uint8(a.BitLen())} }

// Addr returns the address.
func (a Addr) Addr() netip.Addr {
	switch a.bits {
	case 0:
		return netip.Addr{}
	case 32:
		return netip.AddrFrom16(a.b).Unmap()
	}
	return netip.AddrFrom16(a.b)
}

// Low64 returns the address's last 8 bytes, which tell the addresses of
// one network apart: an IPv4 address, or an IPv6 interface identifier.
func (a Addr) Low64() uint64 { return binary.LittleEndian.Uint64(a.b[8:]) }

// Service is an ipvs.Service without its counters, which mean nothing in
// a change or a table, and with a compact address: 80 bytes where an
// ipvs.Service takes 168.
type Service struct {
	scheduler, peName string
	fwmark, timeout   uint32
	flags             ipvs.ServiceFlags
	netmask           ipvs.Netmask
	addr              Addr
	family            ipvs.Family
	protocol          ipvs.Protocol
	port              uint16
}

// ServiceOf returns s's compact form, without its counters.
func ServiceOf(s ipvs.Service) Service {
	return Service{
		scheduler: s.Scheduler, peName: s.PEName, fwmark: s.FWMark, timeout: s.Timeout,
		flags: s.Flags, netmask: s.Netmask, addr: AddrOf(s.Addr),
		family: s.Family, protocol: s.Protocol, port: s.Port,
	}
}

// Service returns the service, with zero counters.
func (s *Service) Service() ipvs.Service {
	return ipvs.Service{
		Family: s.family, Protocol: s.protocol, Addr: s.addr.Addr(), Port: s.port, FWMark: s.fwmark,
		Scheduler: s.scheduler, Flags: s.flags, Timeout: s.timeout, Netmask: s.netmask, PEName: s.peName,
	}
}

// Key returns the service's key.
func (s *Service) Key() ipvs.ServiceKey {
	k := ipvs.Service{Family: s.family, Protocol: s.protocol, Addr: s.addr.Addr(), Port: s.port, FWMark: s.fwmark}
	return k.Key()
}

// Key is an ipvs.ServiceKey without pointers and without the address's
// zone (IPVS keeps none): a map key that hashes and compares as plain
// memory, for which it must have no padding (hence zero).
type Key struct {
	addr     Addr
	zero     uint8
	family   ipvs.Family
	protocol ipvs.Protocol
	port     uint16
	fwmark   uint32
}

// KeyOf returns k's compact form.
func KeyOf(k ipvs.ServiceKey) Key {
	return Key{addr: AddrOf(k.Addr), family: k.Family, protocol: k.Protocol, port: k.Port, fwmark: k.FWMark}
}

// CompactKey returns KeyOf(s.Key()) without going through a netip.Addr.
func (s *Service) CompactKey() Key {
	k := Key{family: s.family}
	if s.fwmark != 0 {
		k.fwmark = s.fwmark
		if k.family == 0 {
			k.family = ipvs.IPv4
		}
		return k
	}
	k.protocol, k.addr, k.port = s.protocol, s.addr, s.port
	if k.family == 0 {
		switch s.addr.bits {
		case 32:
			k.family = ipvs.IPv4
		case 128:
			k.family = ipvs.IPv6
		}
	}
	return k
}
