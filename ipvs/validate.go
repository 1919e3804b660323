package ipvs

import (
	"errors"
	"net/netip"
	"syscall"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// This file checks requests before they are sent: what the kernel would
// refuse with a bare errno, so the caller learns why, and what it would
// silently take for something else than was meant.

// mappedError refuses an IPv4-mapped IPv6 address (::ffff:10.0.0.9, as
// netip.AddrFromSlice gives for a 16-byte net.IP) where the caller did not
// say it means IPv6: the kernel would take it for an IPv6 address, which
// such a caller rarely means. A service with Family IPv6 is sent as it is,
// as ipvsadm does for -t [::ffff:10.0.0.9]:80; so is a destination where a
// family other than the service's is allowed (a tunnel, or a key), and
// the kernel answers as it answers ipvsadm (it takes no mapped real server).
func mappedError(what string, a netip.Addr) error {
	return invalidf(syscall.EINVAL, "%s %v is an IPv4-mapped IPv6 address: use %v (netip.Addr.Unmap) for IPv4", what, a, a.Unmap())
}

// validateKey checks a service key.
func validateKey(k ServiceKey) error {
	s := serviceOf(k)
	return validateService(&s, s.Key(), false)
}

// validateService checks a service whose key is k (full: for NEW_SERVICE
// and SET_SERVICE) or only its key.
func validateService(s *Service, k ServiceKey, full bool) error {
	if k.FWMark == 0 && !s.Addr.IsValid() {
		return invalidf(syscall.EINVAL, "service has neither an address nor a firewall mark")
	}
	if k.FWMark == 0 && s.Addr.Is4In6() && s.Family != IPv6 {
		return mappedError("service address", s.Addr)
	}
	if k.Family != IPv4 && k.Family != IPv6 {
		return invalidf(syscall.EAFNOSUPPORT, "address family %v is neither IPv4 nor IPv6", k.Family)
	}
	if k.FWMark == 0 {
		if familyOf(s.Addr) != k.Family {
			return invalidf(syscall.EINVAL, "service address %v is not %v", s.Addr, k.Family)
		}
		switch k.Protocol {
		case TCP, UDP, SCTP:
		default:
			return invalidf(syscall.EINVAL, "protocol %d is not TCP, UDP or SCTP", uint16(k.Protocol))
		}
	}
	if !full {
		return nil
	}
	return validateServiceConfig(s, k)
}

func validateServiceConfig(s *Service, k ServiceKey) error {
	if k.FWMark != 0 && (s.Protocol != 0 || s.Addr.IsValid() || s.Port != 0) {
		// The kernel neither keeps nor reports them: the service would
		// read back different.
		return invalidf(syscall.EINVAL, "a firewall-mark service has no protocol, address or port")
	}
	if k.FWMark == 0 && k.Port == 0 && s.Flags&FlagPersistent == 0 {
		return invalidf(syscall.EINVAL, "port 0 (all ports) needs a persistent service")
	}
	if s.Timeout != 0 && s.Flags&FlagPersistent == 0 {
		// The kernel would keep the timeout and not persist.
		return invalidf(0, "a persistence timeout (%d s) needs FlagPersistent", s.Timeout)
	}
	if k.Family == IPv6 && !s.Netmask.IsDefault() {
		if n := s.Netmask.Value(IPv6); n < 1 || n > 128 {
			return invalidf(syscall.EINVAL, "IPv6 persistence prefix /%d is outside 1..128", n)
		}
	}
	if len(s.Scheduler) >= uapi.SchedNameMaxLen {
		return invalidf(syscall.EINVAL, "scheduler name %q is longer than %d bytes", s.Scheduler, uapi.SchedNameMaxLen-1)
	}
	// The kernel's policy for the persistence engine's name, unlike the
	// scheduler's, leaves room for IP_VS_PENAME_MAXLEN bytes before the NUL.
	if len(s.PEName) > uapi.PENameMaxLen {
		return invalidf(syscall.EINVAL, "persistence engine name %q is longer than %d bytes", s.PEName, uapi.PENameMaxLen)
	}
	return nil
}

// validateDestination checks a destination of service k (full: for
// NEW_DEST and SET_DEST) or only its key.
func validateDestination(k ServiceKey, d *Destination, full bool) error {
	if !d.Addr.IsValid() {
		return invalidf(syscall.EINVAL, "destination has no address")
	}
	if !full {
		return nil
	}
	if d.Family() != k.Family && d.ForwardMethod != Tunnel {
		if d.Addr.Is4In6() {
			return mappedError("destination address", d.Addr)
		}
		return invalidf(syscall.EINVAL, "destination %v is not %v: only tunnel destinations may differ in family from their service", d.Addr, k.Family)
	}
	if int(d.ForwardMethod) >= len(uapi.FwdMethods) {
		return invalidf(syscall.EINVAL, "unknown forwarding method %d", uint32(d.ForwardMethod))
	}
	if d.Weight > 1<<31-1 {
		return invalidf(syscall.ERANGE, "weight %d is above 2147483647", d.Weight)
	}
	if d.ForwardMethod == Tunnel && d.TunnelType == GUE && d.TunnelPort == 0 {
		return invalidf(syscall.EINVAL, "a GUE tunnel needs a port")
	}
	return nil
}

// explainDestinationError gives the reason for an ERANGE the kernel
// returned for a destination write. The thresholds are not checked before
// sending because the kernel reports a missing service first, and callers
// that mirror ipvsadm's messages depend on that order.
func explainDestinationError(d Destination, err error) error {
	if errors.Is(err, syscall.ERANGE) && d.LowerThreshold > d.UpperThreshold {
		return invalidf(syscall.ERANGE, "lower threshold %d is above upper threshold %d", d.LowerThreshold, d.UpperThreshold)
	}
	return err
}
