package ipvstest

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// tconn drives a kernel through a raw socket, one datagram at a time.
type tconn struct {
	t   *testing.T
	k   *Kernel
	s   *socket
	seq uint32
}

func newConn(t *testing.T, k *Kernel) *tconn {
	t.Helper()
	k.mu.Lock()
	k.nextPort++
	port := k.nextPort
	k.mu.Unlock()
	s := newSocket(k, port)
	t.Cleanup(func() { s.Close() })
	return &tconn{t: t, k: k, s: s, seq: 100}
}

// msg builds an IPVS request with the next sequence number.
func (c *tconn) msg(cmd uint8, flags netlink.HeaderFlags, attrs []byte) netlink.Message {
	c.seq++
	data := append([]byte{cmd, uapi.FamilyVersion, 0, 0}, attrs...)
	return netlink.Message{
		Header: netlink.Header{
			Length:   uint32(nlmsgHdrLen + align4(len(data))),
			Type:     FamilyID,
			Flags:    netlink.Request | flags,
			Sequence: c.seq,
			PID:      c.s.port,
		},
		Data: data,
	}
}

func (c *tconn) send(ms ...netlink.Message) {
	c.t.Helper()
	if err := c.s.SendMessages(ms); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// recv returns the messages of the next datagram.
func (c *tconn) recv() []netlink.Message {
	c.t.Helper()
	c.s.SetReadDeadline(time.Now().Add(2 * time.Second))
	ms, err := c.s.Receive()
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return ms
}

// expectNothing checks that no datagram arrives within a short while.
func (c *tconn) expectNothing() {
	c.t.Helper()
	c.s.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	ms, err := c.s.Receive()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("receive = %v, %v; want a timeout", ms, err)
	}
}

// do sends an acknowledged request and returns the reply messages before
// the acknowledgement and the acknowledged errno.
func (c *tconn) do(cmd uint8, attrs []byte) ([]netlink.Message, unix.Errno) {
	c.t.Helper()
	m := c.msg(cmd, netlink.Acknowledge, attrs)
	c.send(m)
	var replies []netlink.Message
	for {
		for _, r := range c.recv() {
			if r.Header.Sequence != m.Header.Sequence {
				c.t.Fatalf("reply sequence %d, want %d", r.Header.Sequence, m.Header.Sequence)
			}
			if r.Header.Type == netlink.Error {
				return replies, errnoOf(c.t, r)
			}
			replies = append(replies, r)
		}
	}
}

// mustDo is do for requests that must succeed.
func (c *tconn) mustDo(cmd uint8, attrs []byte) []netlink.Message {
	c.t.Helper()
	r, errno := c.do(cmd, attrs)
	if errno != 0 {
		c.t.Fatalf("command %d: %v", cmd, errno)
	}
	return r
}

// dump runs a dump to its end and returns it datagram by datagram; the
// last datagram holds the NLMSG_DONE.
func (c *tconn) dump(cmd uint8, attrs []byte) [][]netlink.Message {
	c.t.Helper()
	m := c.msg(cmd, netlink.Dump, attrs)
	c.send(m)
	var out [][]netlink.Message
	for {
		dg := c.recv()
		out = append(out, dg)
		last := dg[len(dg)-1]
		if last.Header.Type == netlink.Error {
			c.t.Fatalf("dump failed: %v", errnoOf(c.t, last))
		}
		if last.Header.Type == netlink.Done {
			return out
		}
	}
}

// dumpPayloads returns the generic netlink payloads (attributes) of a
// dump's messages.
func (c *tconn) dumpPayloads(cmd uint8, attrs []byte) [][]byte {
	c.t.Helper()
	var out [][]byte
	for _, dg := range c.dump(cmd, attrs) {
		for _, m := range dg {
			if m.Header.Type == FamilyID {
				out = append(out, m.Data[genlHdrLen:])
			}
		}
	}
	return out
}

func errnoOf(t *testing.T, m netlink.Message) unix.Errno {
	t.Helper()
	if len(m.Data) < 4 {
		t.Fatalf("short error message %x", m.Data)
	}
	return unix.Errno(-int32(binary.NativeEndian.Uint32(m.Data)))
}

// attrs encodes attributes.
func attrs(f func(ae *netlink.AttributeEncoder)) []byte {
	ae := netlink.NewAttributeEncoder()
	f(ae)
	b, err := ae.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func addr16(s string) []byte {
	a := netip.MustParseAddr(s)
	b := addrBytes(a)
	return b[:]
}

func afOf(s string) uint16 { return familyOf(netip.MustParseAddr(s)) }

// svcID returns the identifying attributes of an address service.
func svcID(proto uint16, addr string, port uint16) func(*netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.Uint16(uapi.SvcAttrAF, afOf(addr))
		ae.Uint16(uapi.SvcAttrProtocol, proto)
		ae.Bytes(uapi.SvcAttrAddr, addr16(addr))
		ae.Bytes(uapi.SvcAttrPort, be16(port))
	}
}

func fwmID(af uint16, mark uint32) func(*netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.Uint16(uapi.SvcAttrAF, af)
		ae.Uint32(uapi.SvcAttrFwmark, mark)
	}
}

// svcConf returns the rest of a full service entry.
func svcConf(sched string, flags, mask, timeout uint32, netmask []byte) func(*netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.String(uapi.SvcAttrSchedName, sched)
		ae.Bytes(uapi.SvcAttrFlags, binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, flags), mask))
		ae.Uint32(uapi.SvcAttrTimeout, timeout)
		ae.Bytes(uapi.SvcAttrNetmask, netmask)
	}
}

var mask32 = []byte{255, 255, 255, 255}

// svcAttr wraps service attribute writers in IPVS_CMD_ATTR_SERVICE.
func svcAttr(parts ...func(*netlink.AttributeEncoder)) func(*netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.Nested(uapi.CmdAttrService, func(nae *netlink.AttributeEncoder) error {
			for _, p := range parts {
				p(nae)
			}
			return nil
		})
	}
}

// destEntry returns a full destination entry in IPVS_CMD_ATTR_DEST.
func destEntry(addr string, port uint16, fwd, weight, u, l uint32, extra ...func(*netlink.AttributeEncoder)) func(*netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.Nested(uapi.CmdAttrDest, func(nae *netlink.AttributeEncoder) error {
			nae.Bytes(uapi.DestAttrAddr, addr16(addr))
			nae.Bytes(uapi.DestAttrPort, be16(port))
			nae.Uint32(uapi.DestAttrFwdMethod, fwd)
			nae.Uint32(uapi.DestAttrWeight, weight)
			nae.Uint32(uapi.DestAttrUThresh, u)
			nae.Uint32(uapi.DestAttrLThresh, l)
			for _, e := range extra {
				e(nae)
			}
			return nil
		})
	}
}

func join(parts ...func(*netlink.AttributeEncoder)) []byte {
	return attrs(func(ae *netlink.AttributeEncoder) {
		for _, p := range parts {
			p(ae)
		}
	})
}

// addService creates an rr TCP service.
func (c *tconn) addService(addr string, port uint16) {
	c.t.Helper()
	c.mustDo(uapi.CmdNewService, join(svcAttr(svcID(unix.IPPROTO_TCP, addr, port), svcConf("rr", 0, 0, 0, mask32))))
}

// decode returns a message's attributes by type (nested ones undecoded),
// failing the test if they do not decode.
func decode(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	as, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		t.Fatalf("decode attributes: %v", err)
	}
	m := make(map[uint16][]byte)
	for _, a := range as {
		m[a.Type&0x3fff] = a.Data
	}
	return m
}

// attrTypes lists attribute types in order.
func attrTypes(t *testing.T, b []byte) []uint16 {
	t.Helper()
	as, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		t.Fatalf("decode attributes: %v", err)
	}
	var out []uint16
	for _, a := range as {
		out = append(out, a.Type)
	}
	return out
}

func genlConn(t *testing.T, k *Kernel) *genetlink.Conn {
	t.Helper()
	nc, err := k.Dial()
	if err != nil {
		t.Fatal(err)
	}
	c := genetlink.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	return c
}

func svcKey(addr string, port uint16) ipvs.ServiceKey {
	a := netip.MustParseAddr(addr)
	return ipvs.ServiceKey{Family: ipvs.Family(familyOf(a)), Protocol: ipvs.TCP, Addr: a, Port: port}
}

func statsFixture() ipvs.Stats {
	return ipvs.Stats{
		Conns: 1<<32 + 5, InPkts: 2, OutPkts: 3, InBytes: 1<<40 + 4, OutBytes: 5,
		CPS: 6, InPPS: 7, OutPPS: 8, InBPS: 9, OutBPS: 1<<33 + 10,
	}
}
