package ipvs

import (
	"fmt"
	"strings"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// Family is an address family: IPv4 or IPv6.
type Family uint16

// Address families, with Linux's AF_* numbers.
const (
	IPv4 Family = 2  // AF_INET
	IPv6 Family = 10 // AF_INET6
)

// String returns "IPv4", "IPv6", or "Family(N)" for any other number.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("Family(%d)", uint16(f))
}

// Protocol is the layer-4 protocol of a virtual service.
type Protocol uint16

// Protocols IPVS balances, with their IP protocol numbers.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns the name ipvsadm prints in listings: TCP, UDP, SCTP, or
// "Protocol(N)" for any other number.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return fmt.Sprintf("Protocol(%d)", uint16(p))
}

// ParseProtocol accepts "tcp", "udp" and "sctp" in any case.
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	case "sctp":
		return SCTP, nil
	}
	return 0, fmt.Errorf("ipvs: unknown protocol %q", s)
}

// ForwardMethod is how packets reach a destination. The zero value is
// DirectRoute, ipvsadm's default. The numbers are this package's own, not
// the kernel's (whose zero is masquerading); reads convert, so a
// destination read back compares equal to the one written.
type ForwardMethod uint32

// Forwarding methods.
const (
	DirectRoute ForwardMethod = 0 // gatewaying, ipvsadm -g (the default)
	Masquerade  ForwardMethod = 1 // NAT, ipvsadm -m
	Tunnel      ForwardMethod = 2 // encapsulation, ipvsadm -i
	Local       ForwardMethod = 3 // the director itself (the kernel's choice for local addresses)
)

// String returns ipvsadm's listing spelling: Route, Masq, Tunnel, Local,
// or "ForwardMethod(N)" for any other number.
func (m ForwardMethod) String() string {
	switch m {
	case Masquerade:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case DirectRoute:
		return "Route"
	}
	return fmt.Sprintf("ForwardMethod(%d)", uint32(m))
}

// kernel is the kernel's number for m (m must be valid).
func (m ForwardMethod) kernel() uint32 { return uapi.FwdMethods[m] }

// forwardFromKernel is the inverse of ForwardMethod.kernel.
func forwardFromKernel(v uint32) ForwardMethod { return ForwardMethod(uapi.FwdMethodIndex(v)) }

// TunnelType is the encapsulation of a Tunnel destination (Linux 5.2+).
type TunnelType uint8

// Tunnel types.
const (
	IPIP TunnelType = 0
	GUE  TunnelType = 1
	GRE  TunnelType = 2
)

// String returns ipvsadm's spelling: ipip, gue, gre, or "TunnelType(N)"
// for any other number.
func (t TunnelType) String() string {
	switch t {
	case IPIP:
		return "ipip"
	case GUE:
		return "gue"
	case GRE:
		return "gre"
	}
	return fmt.Sprintf("TunnelType(%d)", uint8(t))
}

// ParseTunnelType accepts ipvsadm's spellings ipip, gue and gre.
func ParseTunnelType(s string) (TunnelType, error) {
	switch s {
	case "ipip":
		return IPIP, nil
	case "gue":
		return GUE, nil
	case "gre":
		return GRE, nil
	}
	return 0, fmt.Errorf("ipvs: unknown tunnel type %q", s)
}

// TunnelFlags are the checksum options of GUE and GRE tunnels (Linux 5.3+).
// The zero value is ipvsadm's --tun-nocsum.
type TunnelFlags uint16

// Tunnel flags.
const (
	TunnelCsum    TunnelFlags = 0x1 // --tun-csum
	TunnelRemCsum TunnelFlags = 0x2 // --tun-remcsum
)

// String returns the flag as ipvsadm's --tun-info shows it: -c, +c or
// r+c, or "TunnelFlags(0xN)" for any other combination.
func (f TunnelFlags) String() string {
	switch f {
	case 0:
		return "-c"
	case TunnelCsum:
		return "+c"
	case TunnelRemCsum:
		return "r+c"
	}
	return fmt.Sprintf("TunnelFlags(%#x)", uint16(f))
}

// ServiceFlags are a service's IP_VS_SVC_F_* flags. The kernel's internal
// "hashed" bit is never reported: reads mask it, so a service read back
// compares equal to the one written.
type ServiceFlags uint32

// Service flags.
const (
	FlagPersistent ServiceFlags = 0x01 // ipvsadm -p
	FlagOnePacket  ServiceFlags = 0x04 // ipvsadm -o
	FlagSched1     ServiceFlags = 0x08 // sh-fallback, mh-fallback, flag-1
	FlagSched2     ServiceFlags = 0x10 // sh-port, mh-port, flag-2
	FlagSched3     ServiceFlags = 0x20 // flag-3

	// FlagSchedMask covers the three scheduler-specific flags.
	FlagSchedMask ServiceFlags = 0x38

	flagHashed ServiceFlags = uapi.SvcFlagHashed
)

// schedFlagNames returns the names ipvsadm uses for the three scheduler
// flags under the given scheduler: sh and mh name the first two after
// themselves and have no name for the third; other schedulers say flag-N.
func schedFlagNames(scheduler string) [3]string {
	switch scheduler {
	case "sh":
		return [3]string{"sh-fallback", "sh-port", ""}
	case "mh":
		return [3]string{"mh-fallback", "mh-port", ""}
	}
	return [3]string{"flag-1", "flag-2", "flag-3"}
}

// SchedFlagNames returns the names of the scheduler flags set in f, in
// ipvsadm's order, as spelled for the given scheduler. A set flag that has
// no name under that scheduler (flag 3 under sh or mh) is left out, as
// ipvsadm leaves it out.
func (f ServiceFlags) SchedFlagNames(scheduler string) []string {
	names := schedFlagNames(scheduler)
	var out []string
	for i, bit := range []ServiceFlags{FlagSched1, FlagSched2, FlagSched3} {
		if f&bit != 0 && names[i] != "" {
			out = append(out, names[i])
		}
	}
	return out
}

// ParseSchedFlag returns the flag a single ipvsadm -b name stands for under
// the given scheduler. ErrSchedFlagIncompatible means the name exists but
// belongs to another scheduler (sh-port with rr); any other error means no
// scheduler has it.
func ParseSchedFlag(name, scheduler string) (ServiceFlags, error) {
	switch name {
	case "flag-1":
		return FlagSched1, nil
	case "flag-2":
		return FlagSched2, nil
	case "flag-3":
		return FlagSched3, nil
	case "sh-fallback", "sh-port":
		if scheduler != "sh" {
			return 0, ErrSchedFlagIncompatible
		}
	case "mh-fallback", "mh-port":
		if scheduler != "mh" {
			return 0, ErrSchedFlagIncompatible
		}
	default:
		return 0, fmt.Errorf("ipvs: unknown scheduler flag %q", name)
	}
	if strings.HasSuffix(name, "-fallback") {
		return FlagSched1, nil
	}
	return FlagSched2, nil
}

// DaemonState says whether a sync daemon sends (master) or receives (backup).
type DaemonState uint32

// Sync daemon states.
const (
	Master DaemonState = 1
	Backup DaemonState = 2
)

// String returns "master" or "backup", as ipvsadm spells them, or
// "DaemonState(N)" for any other number.
func (s DaemonState) String() string {
	switch s {
	case Master:
		return "master"
	case Backup:
		return "backup"
	}
	return fmt.Sprintf("DaemonState(%d)", uint32(s))
}
