package ipvstest

import (
	"encoding/binary"
	"syscall"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
)

// A Request is one netlink request as the kernel received it, for a fault
// hook to decide on.
type Request struct {
	// Index counts the requests this kernel has received, from 0, over
	// all connections.
	Index int
	// Port is the netlink port ID of the connection that sent it.
	Port uint32
	// Family is the message type: FamilyID for IPVS, 0x10 for the
	// generic netlink controller (family resolution), anything else for
	// messages to families the kernel does not have.
	Family uint16
	// Command is the generic netlink command: IPVS_CMD_* of linux/ip_vs.h
	// for IPVS (1 is IPVS_CMD_NEW_SERVICE, ...).
	Command  uint8
	Flags    netlink.HeaderFlags
	Sequence uint32
	// Attributes are the top-level attributes; nested ones can be decoded
	// from their Data. Nil when the payload does not decode.
	Attributes []netlink.Attribute
}

// IsIPVS reports whether r is an IPVS command.
func (r Request) IsIPVS() bool { return r.Family == FamilyID }

// ServiceKey returns the key of the service r names (its
// IPVS_CMD_ATTR_SERVICE), for a hook that fails the requests about one
// service; false if r names none.
func (r Request) ServiceKey() (ipvs.ServiceKey, bool) {
	if !r.IsIPVS() {
		return ipvs.ServiceKey{}, false
	}
	for _, a := range r.Attributes {
		if a.Type&^netlink.Nested == uapi.CmdAttrService {
			return serviceKeyOf(a.Data)
		}
	}
	return ipvs.ServiceKey{}, false
}

// serviceKeyOf decodes the key of a service attribute's data, with the
// policy and getters parseService reads it with.
func serviceKeyOf(data []byte) (ipvs.ServiceKey, bool) {
	tb, errno := parseAttrs(data, svcPolicy)
	if errno != 0 {
		return ipvs.ServiceKey{}, false
	}
	var k ipvs.ServiceKey
	if af := tb[uapi.SvcAttrAF]; af != nil {
		k.Family = ipvs.Family(getU16(af))
	}
	if mark := tb[uapi.SvcAttrFwmark]; mark != nil && getU32(mark) != 0 {
		k.FWMark = getU32(mark)
		return k, true
	}
	if proto := tb[uapi.SvcAttrProtocol]; proto != nil {
		k.Protocol = ipvs.Protocol(getU16(proto))
	}
	if port := tb[uapi.SvcAttrPort]; port != nil {
		k.Port = getBE16(port)
	}
	if addr := tb[uapi.SvcAttrAddr]; addr != nil && (k.Family == ipvs.IPv4 || k.Family == ipvs.IPv6) {
		var b [16]byte
		memcpy(b[:], addr)
		k.Addr = toAddr(uint16(k.Family), b)
	}
	return k, true
}

// IsDump reports whether r asks for a dump.
func (r Request) IsDump() bool { return r.Flags&netlink.Dump == netlink.Dump }

// IsRead reports whether r is an IPVS command that changes nothing.
func (r Request) IsRead() bool {
	if !r.IsIPVS() {
		return false
	}
	switch r.Command {
	case uapi.CmdGetService, uapi.CmdGetDest, uapi.CmdGetDaemon, uapi.CmdGetConfig, uapi.CmdGetInfo:
		return true
	}
	return false
}

// A Fault is what goes wrong with a request. The zero Fault is none: the
// request is handled normally.
type Fault struct {
	kind  faultKind
	errno syscall.Errno
	delay time.Duration
}

type faultKind uint8

const (
	faultNone faultKind = iota
	faultFail
	faultStall
	faultDrop
	faultTruncate
	faultWrongSeq
	faultDelay
)

// Fail makes the kernel refuse the request with errno, changing nothing.
// Fail(0) is no fault.
func Fail(errno syscall.Errno) Fault {
	if errno == 0 {
		return Fault{}
	}
	return Fault{kind: faultFail, errno: errno}
}

// Stall makes the kernel ignore the request: it is not carried out and
// never answered, so only the client's deadline ends the wait.
func Stall() Fault { return Fault{kind: faultStall} }

// DropReply carries the request out but loses every reply to it,
// acknowledgement and dump included.
func DropReply() Fault { return Fault{kind: faultDrop} }

// TruncateReply carries the request out and corrupts the first message of
// its reply: its last attribute claims more bytes than the message has
// (for an acknowledgement or error: the error code is cut short).
func TruncateReply() Fault { return Fault{kind: faultTruncate} }

// WrongSequence carries the request out and answers with a sequence number
// one higher than the request's, in every reply message.
func WrongSequence() Fault { return Fault{kind: faultWrongSeq} }

// DelayReply carries the request out and queues its reply only after d
// (for a dump: its first datagram).
func DelayReply(d time.Duration) Fault { return Fault{kind: faultDelay, delay: d} }

// consult counts the request and asks the hook about it.
func (k *Kernel) consult(s *socket, h header, msg []byte) Fault {
	k.faultMu.Lock()
	idx := k.requests
	k.requests++
	hook := k.fault
	k.faultMu.Unlock()
	if hook == nil {
		return Fault{}
	}
	r := Request{
		Index:    idx,
		Port:     s.port,
		Family:   h.typ,
		Flags:    netlink.HeaderFlags(h.flags),
		Sequence: h.seq,
	}
	if len(msg) >= nlmsgHdrLen+genlHdrLen {
		r.Command = msg[nlmsgHdrLen]
		if attrs, err := netlink.UnmarshalAttributes(msg[nlmsgHdrLen+genlHdrLen:]); err == nil {
			r.Attributes = attrs
		}
	}
	return hook(r)
}

// rewriteSeq sets the sequence number of every message in a datagram.
func rewriteSeq(b []byte, seq uint32) []byte {
	out := append([]byte(nil), b...)
	for p := out; len(p) >= nlmsgHdrLen; {
		l := align4(int(binary.NativeEndian.Uint32(p)))
		binary.NativeEndian.PutUint32(p[8:], seq)
		if l < nlmsgHdrLen || l > len(p) {
			break
		}
		p = p[l:]
	}
	return out
}

// truncateFirst corrupts the first message of a datagram as TruncateReply
// describes.
func truncateFirst(b []byte) []byte {
	h := readHeader(b)
	first, rest := b[:h.length], b[align4(int(h.length)):]
	var cut []byte
	if h.typ == typeError || h.typ == typeDone || len(first) < nlmsgHdrLen+genlHdrLen+nlaHdrLen {
		cut = append([]byte(nil), first[:nlmsgHdrLen+2]...)
	} else {
		// Find the last top-level attribute and cut into it.
		attrs := first[nlmsgHdrLen+genlHdrLen:]
		last := 0
		for off := 0; off+nlaHdrLen <= len(attrs); {
			l := int(binary.NativeEndian.Uint16(attrs[off:]))
			if l < nlaHdrLen {
				break
			}
			last = off
			off += align4(l)
		}
		start := nlmsgHdrLen + genlHdrLen + last
		l := int(binary.NativeEndian.Uint16(first[start:]))
		cut = append([]byte(nil), first[:start+nlaHdrLen+(l-nlaHdrLen)/2]...)
		if l == nlaHdrLen {
			binary.NativeEndian.PutUint16(cut[start:], nlaHdrLen+4)
		}
	}
	binary.NativeEndian.PutUint32(cut, uint32(len(cut)))
	for len(cut)%4 != 0 {
		cut = append(cut, 0)
	}
	return append(cut, rest...)
}
