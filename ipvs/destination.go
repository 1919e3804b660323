package ipvs

import (
	"net/netip"
)

// DestinationKey identifies a destination (real server) within its service.
// It is comparable and can be used as a map key.
type DestinationKey struct {
	Addr netip.Addr
	Port uint16
}

// String gives "10.0.0.2:80" or "[2001:db8::2]:80".
func (k DestinationKey) String() string { return netip.AddrPortFrom(k.Addr, k.Port).String() }

// Destination is a real server of a virtual service. Addr and Port identify
// it; its family follows from Addr and may differ from the service's only
// for Tunnel destinations. Connection counts and Stats are filled on reads
// (Stats not with SkipStats) and ignored on writes.
type Destination struct {
	Addr netip.Addr
	Port uint16

	// ForwardMethod is DirectRoute (ipvsadm's default) unless set.
	ForwardMethod ForwardMethod
	// Weight is the relative capacity; the kernel accepts 0..2147483647.
	Weight uint32
	// UpperThreshold and LowerThreshold bound the connections the
	// destination takes; 0 means no limit.
	UpperThreshold uint32
	LowerThreshold uint32

	// Tunnel options, meaningful for ForwardMethod Tunnel (Linux 5.2+).
	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags

	ActiveConns     uint32
	InactiveConns   uint32
	PersistentConns uint32
	Stats           Stats
}

// Key returns the destination's identity.
func (d Destination) Key() DestinationKey { return DestinationKey{Addr: d.Addr, Port: d.Port} }

// Family returns the destination's address family.
func (d Destination) Family() Family { return familyOf(d.Addr) }

// Stats are the counters and rates of a service or destination, all
// 64 bits wide (from the kernel's STATS64 nest where it has one, else
// widened from the 32-bit nest).
type Stats struct {
	Conns    uint64 // connections scheduled
	InPkts   uint64 // packets in
	OutPkts  uint64 // packets out
	InBytes  uint64 // bytes in
	OutBytes uint64 // bytes out
	CPS      uint64 // connections per second
	InPPS    uint64 // packets in per second
	OutPPS   uint64 // packets out per second
	InBPS    uint64 // bytes in per second
	OutBPS   uint64 // bytes out per second
}

// ServiceEntry is a service together with its destinations, as a Snapshot
// returns them.
type ServiceEntry struct {
	Service      Service
	Destinations []Destination
}
