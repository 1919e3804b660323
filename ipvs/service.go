package ipvs

import (
	"fmt"
	"net/netip"
)

// ServiceKey identifies a virtual service: either a protocol, address and
// port, or a firewall mark (with its family). It is comparable and can be
// used as a map key. A key made by Service.Key or read from the kernel is
// canonical: the family is always set, and the address, port and protocol
// are zero for fwmark services.
type ServiceKey struct {
	Family   Family
	Protocol Protocol
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
}

// String gives a short, unambiguous text for error messages: "TCP
// 10.0.0.1:80", "UDP [2001:db8::1]:53", "FWM 42", "FWM 42 IPv6".
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		if k.Family == IPv6 {
			return fmt.Sprintf("FWM %d IPv6", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	if !k.Addr.IsValid() {
		return fmt.Sprintf("%v <no address>:%d", k.Protocol, k.Port)
	}
	return k.Protocol.String() + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// Service is a virtual service. Protocol, Addr and Port (or FWMark and
// Family, with Protocol, Addr and Port zero) identify it; the rest is its
// configuration, and Stats is filled only on reads.
//
// Family may be left zero for address services: it follows from Addr. It
// must be set for IPv6 fwmark services (zero means IPv4).
type Service struct {
	Family   Family
	Protocol Protocol
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32

	// Scheduler is the scheduler's name (rr, wrr, lc, wlc, sh, mh, ...).
	// Empty means DefaultScheduler.
	Scheduler string
	// Flags are the persistence, one-packet and scheduler flags.
	Flags ServiceFlags
	// Timeout is the persistence timeout in seconds (ipvsadm -p).
	Timeout uint32
	// Netmask is the persistence granularity (ipvsadm -M).
	Netmask Netmask
	// PEName is the persistence engine (ipvsadm --pe), e.g. "sip".
	PEName string

	// Stats are the service's counters and rates; ignored on writes,
	// zero on reads with SkipStats.
	Stats Stats
}

// DefaultScheduler is the scheduler of a Service whose Scheduler is empty,
// and ipvsadm's default.
const DefaultScheduler = "wlc"

// Key returns the service's canonical identity.
func (s Service) Key() ServiceKey { return s.key() }

// key is Key without copying s, for the encoders of many ops.
func (s *Service) key() ServiceKey {
	k := ServiceKey{Family: s.Family}
	if s.FWMark != 0 {
		k.FWMark = s.FWMark
		if k.Family == 0 {
			k.Family = IPv4
		}
		return k
	}
	k.Protocol, k.Addr, k.Port = s.Protocol, s.Addr, s.Port
	if k.Family == 0 {
		k.Family = familyOf(s.Addr)
	}
	return k
}

// familyOf returns the family of a, treating IPv4-mapped IPv6 addresses as
// IPv6 (they are IPv6 addresses to the kernel); zero for the zero Addr.
func familyOf(a netip.Addr) Family {
	switch {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}

// Netmask is a service's persistence granularity: clients whose addresses
// agree under the mask share a persistent destination. For an IPv4 service
// it is a 32-bit mask (ipvsadm accepts any mask, contiguous or not), for an
// IPv6 service a prefix length from 1 to 128.
//
// The zero Netmask is the kernel's default, one client address
// (255.255.255.255 or /128), and it is what reads report for that default,
// so a service written with the zero value reads back equal.
type Netmask struct {
	v   uint32 // IPv4: mask as a big-endian number; IPv6: prefix length
	set bool
}

// IPv4NetmaskBits returns an IPv4 mask given as a number (0xffffff00 for
// 255.255.255.0). All ones gives the zero Netmask.
func IPv4NetmaskBits(mask uint32) Netmask {
	if mask == 0xffffffff {
		return Netmask{}
	}
	return Netmask{v: mask, set: true}
}

// IPv6Prefix returns the IPv6 persistence prefix of the given length; 128
// gives the zero Netmask. Lengths outside 1..128 are kept as they are and
// rejected when the service is written.
func IPv6Prefix(bits int) Netmask {
	if bits == 128 {
		return Netmask{}
	}
	return Netmask{v: uint32(bits), set: true}
}

// IsDefault reports whether m is the default, one-address mask.
func (m Netmask) IsDefault() bool { return !m.set }

// Value returns the number the kernel stores for a service of family f: the
// IPv4 mask as a number (0xffffffff when default) or the IPv6 prefix
// length (128 when default).
func (m Netmask) Value(f Family) uint32 {
	if !m.set {
		if f == IPv6 {
			return 128
		}
		return 0xffffffff
	}
	return m.v
}

// IPv4 returns the mask in dotted form for an IPv4 service.
func (m Netmask) IPv4() netip.Addr {
	v := m.Value(IPv4)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// netmaskFromKernel is the inverse of Value, used when decoding.
func netmaskFromKernel(f Family, v uint32) Netmask {
	if f == IPv6 {
		return IPv6Prefix(int(v))
	}
	return IPv4NetmaskBits(v)
}

// String gives the mask as ipvsadm would: dotted for IPv4-looking values,
// a bare number for prefixes. Use Value or IPv4 when the family is known.
func (m Netmask) String() string {
	if !m.set {
		return "default"
	}
	if m.v > 128 {
		return m.IPv4().String()
	}
	return fmt.Sprint(m.v)
}
