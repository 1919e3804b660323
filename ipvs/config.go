package ipvs

import (
	"fmt"
	"net/netip"
	"time"
)

// Info describes the kernel's IPVS.
type Info struct {
	Version       Version
	ConnTableSize uint32 // size of the connection hash table
}

// Version is the IPVS version the kernel reports (1.2.1 on every current
// kernel).
type Version struct {
	Major, Minor, Patch uint8
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Timeouts are the connection timeouts for TCP, TCP after FIN, and UDP.
// The kernel keeps whole seconds. When setting, a zero field leaves that
// timeout as it is.
type Timeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// Daemon is a connection synchronisation daemon.
type Daemon struct {
	State     DaemonState
	Interface string // multicast interface, e.g. "eth0"
	SyncID    uint32 // 0..255

	// The rest needs Linux 4.3+; zero means the kernel's default.
	MaxLen uint16     // sync message length (default from the MTU)
	Group  netip.Addr // multicast group (default 224.0.0.81)
	Port   uint16     // UDP port (default 8848)
	TTL    uint8      // multicast TTL (default 1)
}
