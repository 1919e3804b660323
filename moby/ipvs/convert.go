package ipvs

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	native "github.com/goipvsadm/goipvsadm/ipvs"
)

// flagHashed is the kernel's IP_VS_SVC_F_HASHED, set on every service it
// holds. moby/ipvs reported it and callers check it (kube-proxy refuses
// services without it); the native package masks it.
const flagHashed = 0x0002

// forwardMethods maps moby's forwarding-method numbers (the kernel's) to the
// native package's values.
var forwardMethods = [...]native.ForwardMethod{
	ConnFwdMasq:        native.Masquerade,
	ConnFwdLocalNode:   native.Local,
	ConnFwdTunnel:      native.Tunnel,
	ConnFwdDirectRoute: native.DirectRoute,
}

// mobyError gives an error the kernel answered with as the bare
// syscall.Errno moby/ipvs returned, so that err == syscall.EEXIST and the
// text "file exists" keep working. Anything else (input refused before it
// was sent, IPVS unavailable, a timeout) is the native package's error,
// which still matches its errno with errors.Is.
func mobyError(err error) error {
	var oe *native.OpError
	if errors.As(err, &oe) {
		if errno, ok := oe.Err.(syscall.Errno); ok {
			return errno
		}
	}
	return err
}

// toAddr converts an address of the given family (zero: the address's
// own); a nil or malformed ip gives the zero Addr.
func toAddr(ip net.IP, family uint16) netip.Addr {
	if ip4 := ip.To4(); ip4 != nil && family != syscall.AF_INET6 {
		return netip.AddrFrom4([4]byte(ip4))
	}
	a, _ := netip.AddrFromSlice(ip.To16())
	return a
}

func fromAddr(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return net.IP(a.AsSlice())
}

func toNativeService(s *Service) native.Service {
	n := native.Service{
		Family:    native.Family(s.AddressFamily),
		FWMark:    s.FWMark,
		Scheduler: s.SchedName,
		Flags:     native.ServiceFlags(s.Flags),
		Timeout:   s.Timeout,
		PEName:    s.PEName,
	}
	if s.FWMark == 0 {
		n.Protocol, n.Addr, n.Port = native.Protocol(s.Protocol), toAddr(s.Address, s.AddressFamily), s.Port
	}
	if n.Key().Family == native.IPv6 {
		n.Netmask = native.IPv6Prefix(int(s.Netmask))
	} else {
		n.Netmask = native.IPv4NetmaskBits(s.Netmask)
	}
	return n
}

func serviceKey(s *Service) native.ServiceKey { return toNativeService(s).Key() }

func fromNativeService(n native.Service) *Service {
	k := n.Key()
	return &Service{
		Address:       fromAddr(k.Addr),
		Protocol:      uint16(k.Protocol),
		Port:          k.Port,
		FWMark:        k.FWMark,
		SchedName:     n.Scheduler,
		Flags:         uint32(n.Flags) | flagHashed,
		Timeout:       n.Timeout,
		Netmask:       n.Netmask.Value(k.Family),
		AddressFamily: uint16(k.Family),
		PEName:        n.PEName,
		Stats:         fromNativeStats(n.Stats),
	}
}

func toNativeDestination(d *Destination) (native.Destination, error) {
	fwd := d.ConnectionFlags & ConnectionFlagFwdMask
	if int(fwd) >= len(forwardMethods) {
		return native.Destination{}, fmt.Errorf("ipvs: forwarding method %d cannot be used for a destination: %w", fwd, syscall.EINVAL)
	}
	return native.Destination{
		Addr:           toAddr(d.Address, d.AddressFamily),
		Port:           d.Port,
		ForwardMethod:  forwardMethods[fwd],
		Weight:         uint32(d.Weight),
		UpperThreshold: d.UpperThreshold,
		LowerThreshold: d.LowerThreshold,
	}, nil
}

func destinationKey(d *Destination) native.DestinationKey {
	return native.DestinationKey{Addr: toAddr(d.Address, d.AddressFamily), Port: d.Port}
}

func fromNativeDestination(n native.Destination) *Destination {
	d := &Destination{
		Address:             fromAddr(n.Addr),
		Port:                n.Port,
		Weight:              int(n.Weight),
		AddressFamily:       uint16(n.Family()),
		UpperThreshold:      n.UpperThreshold,
		LowerThreshold:      n.LowerThreshold,
		ActiveConnections:   int(n.ActiveConns),
		InactiveConnections: int(n.InactiveConns),
		Stats:               DstStats(fromNativeStats(n.Stats)),
	}
	for m, f := range forwardMethods {
		if f == n.ForwardMethod {
			d.ConnectionFlags = uint32(m)
		}
	}
	return d
}

// fromNativeStats narrows the 64-bit statistics to moby's widths: the
// kernel's 32-bit statistics are the same values truncated.
func fromNativeStats(s native.Stats) SvcStats {
	return SvcStats{
		Connections: uint32(s.Conns),
		PacketsIn:   uint32(s.InPkts),
		PacketsOut:  uint32(s.OutPkts),
		BytesIn:     s.InBytes,
		BytesOut:    s.OutBytes,
		CPS:         uint32(s.CPS),
		BPSOut:      uint32(s.OutBPS),
		PPSIn:       uint32(s.InPPS),
		PPSOut:      uint32(s.OutPPS),
		BPSIn:       uint32(s.InBPS),
	}
}

// convertAll converts a listing; an empty one gives nil, as moby/ipvs's.
func convertAll[N, M any](in []N, f func(N) *M) []*M {
	if len(in) == 0 {
		return nil
	}
	out := make([]*M, len(in))
	for i, n := range in {
		out[i] = f(n)
	}
	return out
}
