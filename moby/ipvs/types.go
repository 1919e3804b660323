package ipvs

import (
	"net"
	"time"
)

// Service is a virtual service: Address, Protocol and Port, or FWMark,
// identify it (with AddressFamily); the rest is its configuration, and
// Stats is filled on reads.
type Service struct {
	Address  net.IP
	Protocol uint16 // IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP
	Port     uint16
	FWMark   uint32 // firewall mark; non-zero makes a fwmark service

	SchedName string // scheduler; empty means wlc
	// Flags are the kernel's IP_VS_SVC_F_* bits. Reads include the
	// kernel's internal "hashed" bit (0x2), which writes ignore.
	Flags   uint32
	Timeout uint32 // persistence timeout in seconds
	// Netmask is the persistence granularity as the kernel keeps it: an
	// IPv4 mask as a number (0xffffffff: one address) or an IPv6 prefix
	// length (128: one address).
	Netmask       uint32
	AddressFamily uint16 // AF_INET or AF_INET6; zero: from Address (IPv4 for fwmark)
	PEName        string // persistence engine, e.g. "sip"
	Stats         SvcStats
}

// SvcStats are a service's counters and rates, with the kernel's 32-bit
// statistics widths: the 32-bit fields wrap as the kernel's do.
type SvcStats struct {
	Connections uint32
	PacketsIn   uint32
	PacketsOut  uint32
	BytesIn     uint64
	BytesOut    uint64
	CPS         uint32
	BPSOut      uint32
	PPSIn       uint32
	PPSOut      uint32
	BPSIn       uint32
}

// Destination is a real server of a service.
type Destination struct {
	Address net.IP
	Port    uint16
	Weight  int
	// ConnectionFlags holds the forwarding method (ConnectionFlagMasq,
	// ...) in its ConnectionFlagFwdMask bits.
	ConnectionFlags uint32
	// AddressFamily is the destination's own family; zero means the one
	// Address has. It may differ from the service's for tunnels.
	AddressFamily       uint16
	UpperThreshold      uint32
	LowerThreshold      uint32
	ActiveConnections   int
	InactiveConnections int
	Stats               DstStats
}

// DstStats are a destination's counters and rates.
type DstStats SvcStats

// Config holds the connection timeouts (whole seconds to the kernel). In
// SetConfig a zero field leaves that timeout as it is.
type Config struct {
	TimeoutTCP    time.Duration
	TimeoutTCPFin time.Duration
	TimeoutUDP    time.Duration
}
