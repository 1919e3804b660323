package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// This file turns the value types into IPVS attributes and back. Ports are
// big-endian on the wire, every other integer is in host order; addresses
// are always 16 bytes with IPv4 in the first four.

// addrAttrLen is the size of an address attribute.
const addrAttrLen = 4 + uapi.AddrLen

func setAddr(attr *[addrAttrLen]byte, typ uint16, a netip.Addr) {
	setHeader(attr[:], typ, uapi.AddrLen)
	if a.Is4() {
		v4 := a.As4()
		copy(attr[4:], v4[:])
	} else if a.Is6() {
		v6 := a.As16()
		copy(attr[4:], v6[:])
	}
}

func getAddr(b []byte, f Family) (netip.Addr, error) {
	switch f {
	case IPv4:
		if len(b) < 4 {
			return netip.Addr{}, fmt.Errorf("address attribute of %d bytes", len(b))
		}
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case IPv6:
		if len(b) < 16 {
			return netip.Addr{}, fmt.Errorf("IPv6 address attribute of %d bytes", len(b))
		}
		return netip.AddrFrom16([16]byte(b[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("address of unknown family %d", uint16(f))
}

func setPort(a *[8]byte, typ uint16, p uint16) {
	setHeader(a[:], typ, 2)
	binary.BigEndian.PutUint16(a[4:], p)
}

func getPort(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("port attribute of %d bytes", len(b))
	}
	return binary.BigEndian.Uint16(b), nil
}

// appendServiceKey appends the attributes that identify a service.
func appendServiceKey(b []byte, k ServiceKey) []byte {
	var a [8 + 8 + addrAttrLen + 8]byte
	setUint16((*[8]byte)(a[0:]), uapi.SvcAttrAF, uint16(k.Family))
	if k.FWMark != 0 {
		setUint32((*[8]byte)(a[8:]), uapi.SvcAttrFwmark, k.FWMark)
		return append(b, a[:16]...)
	}
	setUint16((*[8]byte)(a[8:]), uapi.SvcAttrProtocol, uint16(k.Protocol))
	setAddr((*[addrAttrLen]byte)(a[16:]), uapi.SvcAttrAddr, k.Addr)
	setPort((*[8]byte)(a[16+addrAttrLen:]), uapi.SvcAttrPort, k.Port)
	return append(b, a[:]...)
}

// encodeService writes a full service, as NEW_SERVICE and SET_SERVICE need
// it: the kernel refuses those without scheduler, flags, timeout and
// netmask, so defaults are always sent.
func encodeService(e *attrEncoder, s *Service) {
	k := s.Key()
	e.b = appendServiceKey(e.b, k)
	sched := s.Scheduler
	if sched == "" {
		sched = DefaultScheduler
	}
	e.string(uapi.SvcAttrSchedName, sched)
	if s.PEName != "" {
		e.string(uapi.SvcAttrPEName, s.PEName)
	}
	var flags [8]byte
	binary.NativeEndian.PutUint32(flags[0:], uint32(s.Flags&^flagHashed))
	binary.NativeEndian.PutUint32(flags[4:], ^uint32(0))
	e.put(uapi.SvcAttrFlags, flags[:])
	e.uint32(uapi.SvcAttrTimeout, s.Timeout)
	if k.Family == IPv6 {
		e.uint32(uapi.SvcAttrNetmask, s.Netmask.Value(IPv6))
	} else {
		a := e.word8()
		setHeader(a[:], uapi.SvcAttrNetmask, 4)
		binary.BigEndian.PutUint32(a[4:], s.Netmask.Value(IPv4))
	}
}

// decodeService reads the SERVICE nest of a reply, its Stats unless o
// skips them.
func decodeService(b []byte, o ReadOption) (Service, error) {
	var (
		s                      Service
		addr                   []byte
		haveAF, haveID, haveNM bool
		netmask                []byte
		stats, stats64         []byte
	)
	ad, err := newAttrDecoder(b)
	if err != nil {
		return s, err
	}
	for ad.Next() {
		switch ad.Type() {
		case uapi.SvcAttrAF:
			s.Family, haveAF = Family(ad.Uint16()), true
		case uapi.SvcAttrProtocol:
			s.Protocol = Protocol(ad.Uint16())
		case uapi.SvcAttrAddr:
			addr = ad.Bytes()
		case uapi.SvcAttrPort:
			var perr error
			if s.Port, perr = getPort(ad.Bytes()); perr != nil {
				return s, perr
			}
			haveID = true
		case uapi.SvcAttrFwmark:
			s.FWMark, haveID = ad.Uint32(), true
		case uapi.SvcAttrSchedName:
			s.Scheduler = ad.String()
		case uapi.SvcAttrFlags:
			fb := ad.Bytes()
			if len(fb) < 4 {
				return s, fmt.Errorf("service flags attribute of %d bytes", len(fb))
			}
			s.Flags = ServiceFlags(binary.NativeEndian.Uint32(fb)) &^ flagHashed
		case uapi.SvcAttrTimeout:
			s.Timeout = ad.Uint32()
		case uapi.SvcAttrNetmask:
			netmask, haveNM = ad.Bytes(), true
		case uapi.SvcAttrPEName:
			s.PEName = ad.String()
		case uapi.SvcAttrStats:
			stats = ad.Bytes()
		case uapi.SvcAttrStats64:
			stats64 = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return s, err
	}
	if !haveAF || !haveID {
		return s, errors.New("service without family or identity")
	}
	if s.FWMark != 0 {
		// The kernel keeps TCP as the protocol of fwmark services; it is
		// not part of their identity.
		s.Protocol, s.Port = 0, 0
	} else {
		if s.Addr, err = getAddr(addr, s.Family); err != nil {
			return s, err
		}
	}
	if haveNM {
		if len(netmask) != 4 {
			return s, fmt.Errorf("netmask attribute of %d bytes", len(netmask))
		}
		if s.Family == IPv6 {
			s.Netmask = netmaskFromKernel(IPv6, binary.NativeEndian.Uint32(netmask))
		} else {
			s.Netmask = netmaskFromKernel(IPv4, binary.BigEndian.Uint32(netmask))
		}
	}
	if o.stats() {
		if s.Stats, err = decodeStatsPair(stats, stats64); err != nil {
			return s, err
		}
	}
	return s, nil
}

// appendDestination appends a destination's attributes. full adds
// everything NEW_DEST and SET_DEST need; without it only the identity is
// sent (DEL_DEST). The address family is always sent: without it the
// kernel takes the service's and mangles a destination of the other
// family.
func appendDestination(b []byte, d *Destination, full bool) []byte {
	const id = 8 + addrAttrLen + 8 // family, address, port
	var a [id + 7*8]byte
	setUint16((*[8]byte)(a[0:]), uapi.DestAttrAddrFamily, uint16(d.Family()))
	setAddr((*[addrAttrLen]byte)(a[8:]), uapi.DestAttrAddr, d.Addr)
	setPort((*[8]byte)(a[8+addrAttrLen:]), uapi.DestAttrPort, d.Port)
	if !full {
		return append(b, a[:id]...)
	}
	setUint8((*[8]byte)(a[id:]), uapi.DestAttrTunType, uint8(d.TunnelType))
	setPort((*[8]byte)(a[id+8:]), uapi.DestAttrTunPort, d.TunnelPort)
	setUint16((*[8]byte)(a[id+16:]), uapi.DestAttrTunFlags, uint16(d.TunnelFlags))
	setUint32((*[8]byte)(a[id+24:]), uapi.DestAttrFwdMethod, d.ForwardMethod.kernel())
	setUint32((*[8]byte)(a[id+32:]), uapi.DestAttrWeight, d.Weight)
	setUint32((*[8]byte)(a[id+40:]), uapi.DestAttrUThresh, d.UpperThreshold)
	setUint32((*[8]byte)(a[id+48:]), uapi.DestAttrLThresh, d.LowerThreshold)
	return append(b, a[:]...)
}

// decodeDestination reads a DEST nest, its Stats unless o skips them.
// svcFamily stands in for the address family on kernels before 3.18,
// which do not send it.
func decodeDestination(b []byte, svcFamily Family, o ReadOption) (Destination, error) {
	var (
		d              Destination
		fam            = svcFamily
		addr           []byte
		haveAddr       bool
		stats, stats64 []byte
		err            error
	)
	u32 := func(t uint16, p []byte) uint32 { return binary.NativeEndian.Uint32(fixedAttr(t, p, 4, &err)) }
	for err == nil {
		t, p, rest, ok := nextAttr(b)
		if !ok {
			err = attrsEnd(b)
			break
		}
		b = rest
		switch t {
		case uapi.DestAttrAddrFamily:
			fam = Family(binary.NativeEndian.Uint16(fixedAttr(t, p, 2, &err)))
		case uapi.DestAttrAddr:
			addr, haveAddr = p, true
		case uapi.DestAttrPort:
			var perr error
			if d.Port, perr = getPort(p); perr != nil {
				return d, perr
			}
		case uapi.DestAttrFwdMethod:
			d.ForwardMethod = forwardFromKernel(u32(t, p) & uapi.FwdMask)
		case uapi.DestAttrWeight:
			d.Weight = u32(t, p)
		case uapi.DestAttrUThresh:
			d.UpperThreshold = u32(t, p)
		case uapi.DestAttrLThresh:
			d.LowerThreshold = u32(t, p)
		case uapi.DestAttrActiveConns:
			d.ActiveConns = u32(t, p)
		case uapi.DestAttrInactConns:
			d.InactiveConns = u32(t, p)
		case uapi.DestAttrPersistConns:
			d.PersistentConns = u32(t, p)
		case uapi.DestAttrTunType:
			d.TunnelType = TunnelType(fixedAttr(t, p, 1, &err)[0])
		case uapi.DestAttrTunPort:
			var perr error
			if d.TunnelPort, perr = getPort(p); perr != nil {
				return d, perr
			}
		case uapi.DestAttrTunFlags:
			d.TunnelFlags = TunnelFlags(binary.NativeEndian.Uint16(fixedAttr(t, p, 2, &err)))
		case uapi.DestAttrStats:
			stats = p
		case uapi.DestAttrStats64:
			stats64 = p
		}
	}
	if err != nil {
		return d, err
	}
	if !haveAddr {
		return d, errors.New("destination without address")
	}
	if d.Addr, err = getAddr(addr, fam); err != nil {
		return d, err
	}
	if o.stats() {
		if d.Stats, err = decodeStatsPair(stats, stats64); err != nil {
			return d, err
		}
	}
	return d, nil
}

// decodeStatsPair prefers the 64-bit nest (Linux 4.1+) and falls back to
// the 32-bit one.
func decodeStatsPair(stats, stats64 []byte) (Stats, error) {
	if stats64 != nil {
		return decodeStats(stats64, true)
	}
	if stats != nil {
		return decodeStats(stats, false)
	}
	return Stats{}, nil
}

// decodeStats reads a STATS or STATS64 nest. In the 32-bit nest the byte
// counters are still 64 bits wide; PAD attributes are skipped.
func decodeStats(b []byte, wide bool) (Stats, error) {
	// The counters' attribute types are 1 to 10, in Stats' field order.
	var (
		v   [uapi.StatsOutBPS]uint64
		err error
	)
	for err == nil {
		t, p, rest, ok := nextAttr(b)
		if !ok {
			err = attrsEnd(b)
			break
		}
		b = rest
		if t < uapi.StatsConns || t > uapi.StatsOutBPS {
			continue // PAD, or newer than us
		}
		if wide || t == uapi.StatsInBytes || t == uapi.StatsOutBytes {
			v[t-1] = binary.NativeEndian.Uint64(fixedAttr(t, p, 8, &err))
		} else {
			v[t-1] = uint64(binary.NativeEndian.Uint32(fixedAttr(t, p, 4, &err)))
		}
	}
	return Stats{Conns: v[0], InPkts: v[1], OutPkts: v[2], InBytes: v[3], OutBytes: v[4],
		CPS: v[5], InPPS: v[6], OutPPS: v[7], InBPS: v[8], OutBPS: v[9]}, err
}

func encodeDaemon(e *attrEncoder, d Daemon) {
	e.uint32(uapi.DaemonAttrState, uint32(d.State))
	e.string(uapi.DaemonAttrMcastIfn, d.Interface)
	e.uint32(uapi.DaemonAttrSyncID, d.SyncID)
	if d.MaxLen != 0 {
		e.uint16(uapi.DaemonAttrSyncMaxLen, d.MaxLen)
	}
	if d.Port != 0 {
		e.uint16(uapi.DaemonAttrMcastPort, d.Port) // host order, unlike every other port
	}
	if d.TTL != 0 {
		e.uint8(uapi.DaemonAttrMcastTTL, d.TTL)
	}
	switch {
	case d.Group.Is4():
		g := d.Group.As4()
		e.put(uapi.DaemonAttrMcastGroup, g[:])
	case d.Group.Is6():
		g := d.Group.As16()
		e.put(uapi.DaemonAttrMcastGroup6, g[:])
	}
}

func decodeDaemon(b []byte) (Daemon, error) {
	var d Daemon
	ad, err := newAttrDecoder(b)
	if err != nil {
		return d, err
	}
	for ad.Next() {
		switch ad.Type() {
		case uapi.DaemonAttrState:
			d.State = DaemonState(ad.Uint32())
		case uapi.DaemonAttrMcastIfn:
			d.Interface = ad.String()
		case uapi.DaemonAttrSyncID:
			d.SyncID = ad.Uint32()
		case uapi.DaemonAttrSyncMaxLen:
			d.MaxLen = ad.Uint16()
		case uapi.DaemonAttrMcastPort:
			d.Port = ad.Uint16()
		case uapi.DaemonAttrMcastTTL:
			d.TTL = ad.Uint8()
		case uapi.DaemonAttrMcastGroup:
			g := ad.Bytes()
			if len(g) != 4 {
				return d, fmt.Errorf("IPv4 group attribute of %d bytes", len(g))
			}
			d.Group = netip.AddrFrom4([4]byte(g))
		case uapi.DaemonAttrMcastGroup6:
			g := ad.Bytes()
			if len(g) != 16 {
				return d, fmt.Errorf("IPv6 group attribute of %d bytes", len(g))
			}
			d.Group = netip.AddrFrom16([16]byte(g))
		}
	}
	return d, ad.Err()
}

// nested returns the payload of the first top-level attribute typ of a
// reply.
func nested(payload []byte, typ uint16) ([]byte, error) {
	attrs, err := genlAttrs(payload)
	if err != nil {
		return nil, err
	}
	ad, err := newAttrDecoder(attrs)
	if err != nil {
		return nil, err
	}
	for ad.Next() {
		if ad.Type() == typ {
			return ad.Bytes(), nil
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("reply without attribute %d", typ)
}
