package ipvs

// Forwarding methods, for Destination.ConnectionFlags.
const (
	// ConnectionFlagFwdMask masks the forwarding-method bits of the
	// connection flags.
	ConnectionFlagFwdMask = 0x0007
	// ConnectionFlagMasq is masquerading (NAT).
	ConnectionFlagMasq = 0x0000
	// ConnectionFlagLocalNode is delivery to the director itself.
	ConnectionFlagLocalNode = 0x0001
	// ConnectionFlagTunnel is IP-in-IP tunnelling.
	ConnectionFlagTunnel = 0x0002
	// ConnectionFlagDirectRoute is direct routing (gatewaying).
	ConnectionFlagDirectRoute = 0x0003
)

// Scheduler names, for Service.SchedName.
const (
	// RoundRobin gives each destination the next job in turn.
	RoundRobin = "rr"
	// LeastConnection gives the job to the destination with the fewest
	// active connections.
	LeastConnection = "lc"
	// DestinationHashing picks the destination by a hash of the
	// packet's destination address.
	DestinationHashing = "dh"
	// SourceHashing picks the destination by a hash of the packet's
	// source address.
	SourceHashing = "sh"
	// WeightedRoundRobin is round robin in proportion to the weights.
	WeightedRoundRobin = "wrr"
	// WeightedLeastConnection is least connection relative to the
	// weights.
	WeightedLeastConnection = "wlc"
)

// The same forwarding methods under moby/ipvs's other names, and the
// cache-bypass method (which the kernel accepts only for its own
// connections, not for destinations).
const (
	ConnFwdMask        = 0x0007
	ConnFwdMasq        = 0x0000
	ConnFwdLocalNode   = 0x0001
	ConnFwdTunnel      = 0x0002
	ConnFwdDirectRoute = 0x0003
	ConnFwdBypass      = 0x0004
)
