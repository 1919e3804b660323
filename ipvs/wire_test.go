package ipvs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// These tests pin the wire format with explicit bytes, so a mistake in byte
// order or attribute layout cannot hide behind a symmetric encoder and
// decoder. The behaviour of whole operations is tested against ipvstest's
// kernel and, in the e2e suite, against real kernels.

const testFamily = 0x1b

// cmpAddrs compares netip.Addr and Netmask values by ==.
var cmpAddrs = cmpopts.EquateComparable(netip.Addr{}, Netmask{})

// ignoreLength compares attributes by type and payload.
var ignoreLength = cmpopts.IgnoreFields(netlink.Attribute{}, "Length")

// wireServer answers the generic netlink controller and hands every IPVS
// request to fn (which sees the decoded command and attributes).
type wireServer struct {
	dials int
	fn    func(req netlink.Message, cmd uint8, attrs []byte) ([]netlink.Message, error)
}

func (s *wireServer) dial() (*netlink.Conn, error) {
	s.dials++
	return nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		if len(reqs) == 0 {
			return nil, nil
		}
		req := reqs[0]
		if req.Header.Type == unix.GENL_ID_CTRL {
			a := nltest.MustMarshalAttributes([]netlink.Attribute{
				{Type: unix.CTRL_ATTR_FAMILY_ID, Data: le16(testFamily)},
				{Type: unix.CTRL_ATTR_FAMILY_NAME, Data: []byte("IPVS\x00")},
				{Type: unix.CTRL_ATTR_VERSION, Data: le32(1)},
			})
			return []netlink.Message{reply(req, 1, a)}, nil
		}
		return s.fn(req, req.Data[0], req.Data[4:])
	}), nil
}

// reply builds a kernel message answering req.
func reply(req netlink.Message, cmd uint8, attrs []byte) netlink.Message {
	return netlink.Message{
		Header: netlink.Header{Type: req.Header.Type, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   append([]byte{cmd, 1, 0, 0}, attrs...),
	}
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func nest(attrs ...netlink.Attribute) []byte { return nltest.MustMarshalAttributes(attrs) }

func newWireClient(t *testing.T, fn func(req netlink.Message, cmd uint8, attrs []byte) ([]netlink.Message, error)) (*Client, *wireServer) {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("expected bytes are written for a little-endian host")
	}
	s := &wireServer{fn: func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		if cmd == uapi.CmdGetInfo {
			return []netlink.Message{reply(req, uapi.CmdSetInfo, nest(
				netlink.Attribute{Type: uapi.InfoAttrVersion, Data: le32(0x010201)},
				netlink.Attribute{Type: uapi.InfoAttrConnTabSize, Data: le32(4096)},
			))}, nil
		}
		return fn(req, cmd, a)
	}}
	c, err := New(&Config{Dial: s.dial})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, s
}

func ackOf(req netlink.Message) []netlink.Message {
	msgs, _ := nltest.Error(0, []netlink.Message{req})
	return msgs
}

func mustAttrs(t *testing.T, b []byte) []netlink.Attribute {
	t.Helper()
	a, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		t.Fatalf("unmarshal attributes: %v", err)
	}
	return a
}

func TestCreateServiceWire(t *testing.T) {
	tests := []struct {
		name string
		svc  Service
		want []netlink.Attribute
	}{
		{
			name: "IPv4 TCP persistent with mask and pe",
			svc: Service{Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "rr",
				Flags: FlagPersistent | FlagSched1, Timeout: 300, Netmask: IPv4NetmaskBits(0xffffff00), PEName: "sip"},
			want: []netlink.Attribute{
				{Type: uapi.SvcAttrAF, Data: []byte{2, 0}},
				{Type: uapi.SvcAttrProtocol, Data: []byte{6, 0}},
				{Type: uapi.SvcAttrAddr, Data: []byte{10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
				{Type: uapi.SvcAttrPort, Data: []byte{0, 80}},
				{Type: uapi.SvcAttrSchedName, Data: []byte("rr\x00")},
				{Type: uapi.SvcAttrPEName, Data: []byte("sip\x00")},
				{Type: uapi.SvcAttrFlags, Data: []byte{0x09, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
				{Type: uapi.SvcAttrTimeout, Data: []byte{0x2c, 0x01, 0, 0}},
				{Type: uapi.SvcAttrNetmask, Data: []byte{0xff, 0xff, 0xff, 0x00}},
			},
		},
		{
			name: "defaults are always sent",
			svc:  Service{Protocol: UDP, Addr: netip.MustParseAddr("10.0.0.2"), Port: 53},
			want: []netlink.Attribute{
				{Type: uapi.SvcAttrAF, Data: []byte{2, 0}},
				{Type: uapi.SvcAttrProtocol, Data: []byte{17, 0}},
				{Type: uapi.SvcAttrAddr, Data: []byte{10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
				{Type: uapi.SvcAttrPort, Data: []byte{0, 53}},
				{Type: uapi.SvcAttrSchedName, Data: []byte("wlc\x00")},
				{Type: uapi.SvcAttrFlags, Data: []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
				{Type: uapi.SvcAttrTimeout, Data: []byte{0, 0, 0, 0}},
				{Type: uapi.SvcAttrNetmask, Data: []byte{0xff, 0xff, 0xff, 0xff}},
			},
		},
		{
			name: "IPv6 fwmark with prefix in host order",
			svc:  Service{Family: IPv6, FWMark: 0x01020304, Scheduler: "sh", Flags: FlagPersistent, Timeout: 1, Netmask: IPv6Prefix(64)},
			want: []netlink.Attribute{
				{Type: uapi.SvcAttrAF, Data: []byte{10, 0}},
				{Type: uapi.SvcAttrFwmark, Data: []byte{4, 3, 2, 1}},
				{Type: uapi.SvcAttrSchedName, Data: []byte("sh\x00")},
				{Type: uapi.SvcAttrFlags, Data: []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
				{Type: uapi.SvcAttrTimeout, Data: []byte{1, 0, 0, 0}},
				{Type: uapi.SvcAttrNetmask, Data: []byte{64, 0, 0, 0}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []netlink.Attribute
			var gotCmd uint8
			var gotFlags netlink.HeaderFlags
			c, _ := newWireClient(t, func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
				gotCmd, gotFlags = cmd, req.Header.Flags
				top := mustAttrs(t, a)
				if len(top) != 1 || top[0].Type&^netlink.Nested != uapi.CmdAttrService {
					t.Fatalf("top-level attributes = %+v, want one SERVICE nest", top)
				}
				got = mustAttrs(t, top[0].Data)
				return ackOf(req), nil
			})
			if err := c.CreateService(context.Background(), tt.svc); err != nil {
				t.Fatalf("CreateService: %v", err)
			}
			if gotCmd != uapi.CmdNewService || gotFlags != netlink.Request|netlink.Acknowledge {
				t.Errorf("command %d flags %v, want NEW_SERVICE with request|ack", gotCmd, gotFlags)
			}
			if diff := cmp.Diff(tt.want, got, ignoreLength); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateDestinationWire(t *testing.T) {
	var svcAttrs, destAttrs []netlink.Attribute
	c, _ := newWireClient(t, func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		for _, top := range mustAttrs(t, a) {
			switch top.Type &^ netlink.Nested {
			case uapi.CmdAttrService:
				svcAttrs = mustAttrs(t, top.Data)
			case uapi.CmdAttrDest:
				destAttrs = mustAttrs(t, top.Data)
			}
		}
		return ackOf(req), nil
	})
	svc := ServiceKey{Protocol: UDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 443}
	dest := Destination{Addr: netip.MustParseAddr("10.1.2.3"), Port: 8443, ForwardMethod: Tunnel, Weight: 70000,
		UpperThreshold: 9, LowerThreshold: 2, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelCsum}
	if err := c.CreateDestination(context.Background(), svc, dest); err != nil {
		t.Fatalf("CreateDestination: %v", err)
	}
	wantSvc := []netlink.Attribute{
		{Type: uapi.SvcAttrAF, Data: []byte{10, 0}},
		{Type: uapi.SvcAttrProtocol, Data: []byte{17, 0}},
		{Type: uapi.SvcAttrAddr, Data: netip.MustParseAddr("2001:db8::1").AsSlice()},
		{Type: uapi.SvcAttrPort, Data: []byte{0x01, 0xbb}},
	}
	wantDest := []netlink.Attribute{
		{Type: uapi.DestAttrAddrFamily, Data: []byte{2, 0}},
		{Type: uapi.DestAttrAddr, Data: []byte{10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{Type: uapi.DestAttrPort, Data: []byte{0x20, 0xfb}},
		{Type: uapi.DestAttrTunType, Data: []byte{1}},
		{Type: uapi.DestAttrTunPort, Data: []byte{0x17, 0xc0}},
		{Type: uapi.DestAttrTunFlags, Data: []byte{1, 0}},
		{Type: uapi.DestAttrFwdMethod, Data: []byte{2, 0, 0, 0}},
		{Type: uapi.DestAttrWeight, Data: []byte{0x70, 0x11, 0x01, 0x00}},
		{Type: uapi.DestAttrUThresh, Data: []byte{9, 0, 0, 0}},
		{Type: uapi.DestAttrLThresh, Data: []byte{2, 0, 0, 0}},
	}
	if diff := cmp.Diff(wantSvc, svcAttrs, ignoreLength); diff != "" {
		t.Errorf("service attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantDest, destAttrs, ignoreLength); diff != "" {
		t.Errorf("destination attributes (-want +got):\n%s", diff)
	}
}

// kernelStats64 builds a STATS64 nest as the kernel does, with a PAD
// attribute before each u64 so that the value is 8-byte aligned.
func kernelStats64(v [10]uint64) []byte {
	var attrs []netlink.Attribute
	for i, x := range v {
		attrs = append(attrs, netlink.Attribute{Type: uapi.StatsPad}, netlink.Attribute{Type: uint16(i + 1), Data: le64(x)})
	}
	return nest(attrs...)
}

func kernelStats32(v [10]uint64) []byte {
	var attrs []netlink.Attribute
	for i, x := range v {
		typ := uint16(i + 1)
		if typ == uapi.StatsInBytes || typ == uapi.StatsOutBytes {
			attrs = append(attrs, netlink.Attribute{Type: typ, Data: le64(x)})
		} else {
			attrs = append(attrs, netlink.Attribute{Type: typ, Data: le32(uint32(x))})
		}
	}
	return nest(attrs...)
}

func TestDecodeServiceFromKernel(t *testing.T) {
	big := [10]uint64{99999999999, 100000000000, 3, 100000000000000, 18446744073709551615, 4294967296, 123456789012, 3, 4, 5}
	v6 := netip.MustParseAddr("2001:db8::1").AsSlice()
	tests := []struct {
		name  string
		attrs []netlink.Attribute
		want  Service
	}{
		{
			name: "IPv6 sh service, hashed flag masked, stats64 preferred",
			attrs: []netlink.Attribute{
				{Type: uapi.SvcAttrAF, Data: le16(10)},
				{Type: uapi.SvcAttrProtocol, Data: le16(6)},
				{Type: uapi.SvcAttrAddr, Data: v6},
				{Type: uapi.SvcAttrPort, Data: []byte{1, 0xbb}},
				{Type: uapi.SvcAttrSchedName, Data: []byte("sh\x00")},
				{Type: uapi.SvcAttrFlags, Data: append(le32(0x1b), le32(0xffffffff)...)},
				{Type: uapi.SvcAttrTimeout, Data: le32(300)},
				{Type: uapi.SvcAttrNetmask, Data: le32(128)},
				{Type: uapi.SvcAttrStats | netlink.Nested, Data: kernelStats32([10]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})},
				{Type: uapi.SvcAttrStats64 | netlink.Nested, Data: kernelStats64(big)},
			},
			want: Service{Family: IPv6, Protocol: TCP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 443,
				Scheduler: "sh", Flags: FlagPersistent | FlagSched1 | FlagSched2, Timeout: 300,
				Stats: Stats{99999999999, 100000000000, 3, 100000000000000, 18446744073709551615, 4294967296, 123456789012, 3, 4, 5}},
		},
		{
			name: "fwmark on a pre-4.1 kernel: 32-bit stats, pe, netmask",
			attrs: []netlink.Attribute{
				{Type: uapi.SvcAttrAF, Data: le16(2)},
				{Type: uapi.SvcAttrFwmark, Data: le32(3000000000)},
				{Type: uapi.SvcAttrSchedName, Data: []byte("wlc\x00")},
				{Type: uapi.SvcAttrPEName, Data: []byte("sip\x00")},
				{Type: uapi.SvcAttrFlags, Data: append(le32(0x3), le32(0xffffffff)...)},
				{Type: uapi.SvcAttrTimeout, Data: le32(360)},
				{Type: uapi.SvcAttrNetmask, Data: []byte{255, 255, 255, 0}},
				{Type: uapi.SvcAttrStats | netlink.Nested, Data: kernelStats32([10]uint64{1, 2, 3, 1 << 40, 5, 6, 7, 8, 9, 10})},
			},
			want: Service{Family: IPv4, FWMark: 3000000000, Scheduler: "wlc", PEName: "sip",
				Flags: FlagPersistent, Timeout: 360, Netmask: IPv4NetmaskBits(0xffffff00),
				Stats: Stats{1, 2, 3, 1 << 40, 5, 6, 7, 8, 9, 10}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeService(nest(tt.attrs...), 0)
			if err != nil {
				t.Fatalf("decodeService: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpAddrs); diff != "" {
				t.Errorf("service (-want +got):\n%s", diff)
			}
			// SkipStats reads the same service without its counters.
			got, err = decodeService(nest(tt.attrs...), SkipStats)
			want := tt.want
			want.Stats = Stats{}
			if err != nil || got != want {
				t.Errorf("decodeService with SkipStats = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

func TestDecodeDestinationFallbacks(t *testing.T) {
	// A pre-3.18 kernel sends no address family: the service's is used. A
	// pre-5.2 kernel sends no tunnel attributes: they stay zero (ipip).
	attrs := []netlink.Attribute{
		{Type: uapi.DestAttrAddr, Data: netip.MustParseAddr("2001:db8::10").AsSlice()},
		{Type: uapi.DestAttrPort, Data: []byte{0, 80}},
		{Type: uapi.DestAttrFwdMethod, Data: le32(0x10002)}, // other conn flags above the fwd mask
		{Type: uapi.DestAttrWeight, Data: le32(100000)},
		{Type: uapi.DestAttrUThresh, Data: le32(10)},
		{Type: uapi.DestAttrLThresh, Data: le32(5)},
		{Type: uapi.DestAttrActiveConns, Data: le32(4294967295)},
		{Type: uapi.DestAttrInactConns, Data: le32(7)},
		{Type: uapi.DestAttrPersistConns, Data: le32(8)},
	}
	got, err := decodeDestination(nest(attrs...), IPv6, 0)
	if err != nil {
		t.Fatalf("decodeDestination: %v", err)
	}
	want := Destination{Addr: netip.MustParseAddr("2001:db8::10"), Port: 80, ForwardMethod: Tunnel, Weight: 100000,
		UpperThreshold: 10, LowerThreshold: 5, ActiveConns: 4294967295, InactiveConns: 7, PersistentConns: 8}
	if diff := cmp.Diff(want, got, cmpAddrs); diff != "" {
		t.Errorf("destination (-want +got):\n%s", diff)
	}

	// A mixed-family destination: IPv4 real server of an IPv6 service.
	mixed := append([]netlink.Attribute{{Type: uapi.DestAttrAddrFamily, Data: le16(2)}},
		netlink.Attribute{Type: uapi.DestAttrAddr, Data: append([]byte{192, 168, 1, 9}, make([]byte, 12)...)},
		netlink.Attribute{Type: uapi.DestAttrPort, Data: []byte{0, 80}})
	got, err = decodeDestination(nest(mixed...), IPv6, 0)
	if err != nil {
		t.Fatalf("decodeDestination: %v", err)
	}
	if got.Addr != netip.MustParseAddr("192.168.1.9") {
		t.Errorf("mixed-family address = %v, want 192.168.1.9", got.Addr)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	bad := [][]netlink.Attribute{
		{{Type: uapi.SvcAttrAF, Data: le16(2)}, {Type: uapi.SvcAttrProtocol, Data: le16(6)}, {Type: uapi.SvcAttrAddr, Data: []byte{1, 2}}, {Type: uapi.SvcAttrPort, Data: []byte{0, 80}}},
		{{Type: uapi.SvcAttrAF, Data: le16(10)}, {Type: uapi.SvcAttrProtocol, Data: le16(6)}, {Type: uapi.SvcAttrAddr, Data: make([]byte, 4)}, {Type: uapi.SvcAttrPort, Data: []byte{0, 80}}},
		{{Type: uapi.SvcAttrAF, Data: le16(2)}, {Type: uapi.SvcAttrPort, Data: []byte{80}}},
		{{Type: uapi.SvcAttrAF, Data: le16(2)}, {Type: uapi.SvcAttrFwmark, Data: le32(1)}, {Type: uapi.SvcAttrFlags, Data: []byte{1}}},
		{{Type: uapi.SvcAttrSchedName, Data: []byte("rr\x00")}},
		{{Type: uapi.SvcAttrAF, Data: le16(7)}, {Type: uapi.SvcAttrProtocol, Data: le16(6)}, {Type: uapi.SvcAttrAddr, Data: make([]byte, 16)}, {Type: uapi.SvcAttrPort, Data: []byte{0, 80}}},
	}
	for i, attrs := range bad {
		if _, err := decodeService(nest(attrs...), 0); err == nil {
			t.Errorf("case %d: decodeService accepted malformed input", i)
		}
	}
}

// TestDecodeDestinationMalformed: the first attribute of the wrong size,
// or bytes that are not a whole attribute, end the walk with its error.
func TestDecodeDestinationMalformed(t *testing.T) {
	addr := netlink.Attribute{Type: uapi.DestAttrAddr, Data: append([]byte{10, 0, 0, 1}, make([]byte, 12)...)}
	stats := netlink.Attribute{Type: uapi.DestAttrStats64 | netlink.Nested, Data: nest(
		netlink.Attribute{Type: uapi.StatsConns, Data: le32(1)})}
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{nest(addr, netlink.Attribute{Type: uapi.DestAttrWeight, Data: le16(1)}, netlink.Attribute{Type: uapi.DestAttrPort, Data: []byte{1}}),
			fmt.Sprintf("attribute %d has 2 bytes, want 4", uapi.DestAttrWeight)},
		{append(nest(addr), 9, 0), "truncated attribute header (2 bytes)"},
		{append(nest(addr), 40, 0, 1, 0), "attribute length 40 out of 4 bytes"},
		{nest(addr, stats), fmt.Sprintf("attribute %d has 4 bytes, want 8", uapi.StatsConns)},
	} {
		if _, err := decodeDestination(c.in, IPv4, 0); err == nil || err.Error() != c.want {
			t.Errorf("decodeDestination(%x) = %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(nest(netlink.Attribute{Type: uapi.SvcAttrAF, Data: le16(2)}, netlink.Attribute{Type: uapi.SvcAttrFwmark, Data: le32(1)}))
	f.Add(kernelStats64([10]uint64{1, 2, 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		// SkipStats reads whatever a full read reads, but the counters
		// (whose errors it does not see).
		if s, err := decodeService(b, 0); err == nil {
			s.Stats = Stats{}
			if got, err := decodeService(b, SkipStats); err != nil || got != s {
				t.Errorf("decodeService with SkipStats = %+v, %v; want %+v", got, err, s)
			}
		}
		for _, fam := range []Family{IPv4, IPv6} {
			if d, err := decodeDestination(b, fam, 0); err == nil {
				d.Stats = Stats{}
				if got, err := decodeDestination(b, fam, SkipStats); err != nil || got != d {
					t.Errorf("decodeDestination with SkipStats = %+v, %v; want %+v", got, err, d)
				}
			}
		}
		decodeDaemon(b)
		decodeStats(b, true)
		decodeStats(b, false)
	})
}

func TestKernelErrorsMapToSentinels(t *testing.T) {
	var errno unix.Errno
	c, _ := newWireClient(t, func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		return nltest.Error(int(errno), []netlink.Message{req})
	})
	ctx := context.Background()
	key := ServiceKey{Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	svc := Service{Protocol: TCP, Addr: key.Addr, Port: 80}
	dest := Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, Weight: 1}
	tests := []struct {
		errno unix.Errno
		call  func() error
		want  error
	}{
		{unix.EEXIST, func() error { return c.CreateService(ctx, svc) }, ErrServiceExists},
		{unix.ENOENT, func() error { return c.CreateService(ctx, svc) }, ErrSchedulerNotFound},
		{unix.ESRCH, func() error { return c.UpdateService(ctx, svc) }, ErrServiceNotFound},
		{unix.ESRCH, func() error { return c.DeleteService(ctx, key) }, ErrServiceNotFound},
		{unix.ESRCH, func() error { _, err := c.Service(ctx, key); return err }, ErrServiceNotFound},
		{unix.ESRCH, func() error { return c.CreateDestination(ctx, key, dest) }, ErrServiceNotFound},
		{unix.EEXIST, func() error { return c.CreateDestination(ctx, key, dest) }, ErrDestinationExists},
		{unix.ENOENT, func() error { return c.UpdateDestination(ctx, key, dest) }, ErrDestinationNotFound},
		{unix.ENOENT, func() error { return c.DeleteDestination(ctx, key, dest.Key()) }, ErrDestinationNotFound},
		{unix.EEXIST, func() error { return c.StartDaemon(ctx, Daemon{State: Master, Interface: "eth0"}) }, ErrDaemonRunning},
		{unix.ESRCH, func() error { return c.StopDaemon(ctx, Daemon{State: Backup}) }, ErrDaemonNotRunning},
		{unix.EPERM, func() error { return c.Flush(ctx) }, ErrPermission},
		{unix.ESRCH, func() error { return c.Zero(ctx, key) }, ErrServiceNotFound},
	}
	for _, tt := range tests {
		errno = tt.errno
		err := tt.call()
		if !errors.Is(err, tt.want) || !errors.Is(err, tt.errno) {
			t.Errorf("errno %v: got %v, want it to match %v and the errno", tt.errno, err, tt.want)
		}
		var oe *OpError
		if !errors.As(err, &oe) || oe.Op == "" {
			t.Errorf("errno %v: %v is not an *OpError naming the operation", tt.errno, err)
		}
	}
}

func TestValidationSendsNothing(t *testing.T) {
	c, _ := newWireClient(t, func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		t.Errorf("request %d reached the kernel", cmd)
		return ackOf(req), nil
	})
	ctx := context.Background()
	v4 := netip.MustParseAddr("10.0.0.1")
	v6 := netip.MustParseAddr("2001:db8::1")
	key := ServiceKey{Protocol: TCP, Addr: v4, Port: 80}
	tests := []struct {
		name  string
		call  func() error
		errno unix.Errno
	}{
		{"family mismatch", func() error {
			return c.CreateService(ctx, Service{Family: IPv6, Protocol: TCP, Addr: v4, Port: 80})
		}, unix.EINVAL},
		{"no address", func() error { return c.CreateService(ctx, Service{Protocol: TCP, Port: 80}) }, unix.EINVAL},
		{"port 0 not persistent", func() error {
			return c.CreateService(ctx, Service{Protocol: TCP, Addr: v4})
		}, unix.EINVAL},
		{"IPv6 prefix 0", func() error {
			return c.CreateService(ctx, Service{Protocol: TCP, Addr: v6, Port: 1, Netmask: IPv6Prefix(0)})
		}, unix.EINVAL},
		{"IPv6 prefix 129", func() error {
			return c.UpdateService(ctx, Service{Family: IPv6, FWMark: 1, Netmask: IPv6Prefix(129)})
		}, unix.EINVAL},
		{"scheduler too long", func() error {
			return c.CreateService(ctx, Service{Protocol: TCP, Addr: v4, Port: 1, Scheduler: "sixteen-chars-xx"})
		}, unix.EINVAL},
		{"mixed family not tunnel", func() error {
			return c.CreateDestination(ctx, key, Destination{Addr: v6, Port: 80, ForwardMethod: Masquerade})
		}, unix.EINVAL},
		{"weight above int32", func() error {
			return c.CreateDestination(ctx, key, Destination{Addr: v4, Port: 80, Weight: 1 << 31})
		}, unix.ERANGE},
		{"gue without port", func() error {
			return c.CreateDestination(ctx, key, Destination{Addr: v4, ForwardMethod: Tunnel, TunnelType: GUE})
		}, unix.EINVAL},
	}
	for _, tt := range tests {
		err := tt.call()
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, tt.errno) {
			t.Errorf("%s: got %v, want ErrInvalid matching %v", tt.name, err, tt.errno)
		}
	}
}

func TestEmptyDumpIsEmptySlice(t *testing.T) {
	c, _ := newWireClient(t, func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		done := reply(req, 0, le32(0))
		done.Header.Type, done.Header.Flags = netlink.Done, netlink.Multi
		done.Data = le32(0)
		return []netlink.Message{done}, nil
	})
	svcs, err := c.Services(context.Background())
	if err != nil || svcs == nil || len(svcs) != 0 {
		t.Errorf("Services on an empty table = %#v, %v; want an empty non-nil slice", svcs, err)
	}
	dests, err := c.Destinations(context.Background(), ServiceKey{FWMark: 1})
	if err != nil || dests == nil || len(dests) != 0 {
		t.Errorf("Destinations = %#v, %v; want an empty non-nil slice", dests, err)
	}
}

func TestStrayReplyRedials(t *testing.T) {
	stray := true
	c, s := newWireClient(t, func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		msgs := ackOf(req)
		if stray {
			msgs[0].Header.Sequence++
		}
		return msgs, nil
	})
	if err := c.Flush(context.Background()); err == nil {
		t.Fatal("Flush accepted a reply with another sequence number")
	}
	stray = false
	dialsBefore := s.dials
	if err := c.Flush(context.Background()); err != nil {
		t.Fatalf("Flush after a stray reply: %v", err)
	}
	if s.dials != dialsBefore+1 {
		t.Errorf("dials = %d, want a new dial after the stray reply", s.dials-dialsBefore)
	}
}

func TestUnavailable(t *testing.T) {
	dial := func() (*netlink.Conn, error) {
		return nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
			return nltest.Error(int(unix.ENOENT), reqs)
		}), nil
	}
	_, err := New(&Config{Dial: dial})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("New without the IPVS family: %v, want ErrUnavailable", err)
	}
}

func TestPermission(t *testing.T) {
	s := &wireServer{fn: func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		return nltest.Error(int(unix.EPERM), []netlink.Message{req})
	}}
	_, err := New(&Config{Dial: s.dial})
	if !errors.Is(err, ErrPermission) || !errors.Is(err, unix.EPERM) {
		t.Errorf("New without CAP_NET_ADMIN: %v, want ErrPermission", err)
	}
}

func TestNetmaskZeroValueRoundTrip(t *testing.T) {
	for _, f := range []Family{IPv4, IPv6} {
		var m Netmask
		if got := netmaskFromKernel(f, m.Value(f)); got != m {
			t.Errorf("%v: default netmask read back as %v", f, got)
		}
	}
	if IPv4NetmaskBits(0) == (Netmask{}) {
		t.Error("mask 0.0.0.0 must differ from the default")
	}
	m := IPv4NetmaskBits(0xffffffff)
	if !m.IsDefault() {
		t.Error("255.255.255.255 must be the default netmask")
	}
}

func TestThresholdErrorExplained(t *testing.T) {
	// The kernel checks the service before the thresholds, so the client
	// sends and explains the kernel's ERANGE afterwards.
	sent := 0
	c, _ := newWireClient(t, func(req netlink.Message, cmd uint8, a []byte) ([]netlink.Message, error) {
		sent++
		return nltest.Error(int(unix.ERANGE), []netlink.Message{req})
	})
	key := ServiceKey{Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	err := c.UpdateDestination(context.Background(), key, Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, LowerThreshold: 5})
	if sent != 1 || !errors.Is(err, ErrInvalid) || !errors.Is(err, unix.ERANGE) {
		t.Errorf("sent %d, err %v; want the request sent and an explained ERANGE", sent, err)
	}
	if err != nil && !strings.Contains(err.Error(), "lower threshold 5") {
		t.Errorf("error %q does not say why", err)
	}
}

// encodeProgram runs the attribute-writing program in prog (one op per
// byte or so: integers, strings, raw bytes and nests) on both our encoder
// and netlink.AttributeEncoder, which must write the same bytes.
func encodeProgram(prog []byte) (ours, theirs []byte, err error) {
	var e attrEncoder
	ae := netlink.NewAttributeEncoder()
	var run func(depth int, e *attrEncoder, ae *netlink.AttributeEncoder)
	run = func(depth int, e *attrEncoder, ae *netlink.AttributeEncoder) {
		for len(prog) >= 2 {
			op, typ := prog[0], uint16(prog[1]%30+1)
			prog = prog[2:]
			arg := func() []byte {
				if len(prog) == 0 {
					return nil
				}
				n := min(int(prog[0])%40, len(prog)-1)
				v := prog[1 : 1+n]
				prog = prog[1+n:]
				return v
			}
			switch op % 7 {
			case 0:
				v := arg()
				e.uint8(typ, uint8(len(v)))
				ae.Uint8(typ, uint8(len(v)))
			case 1:
				v := uint16(len(prog)) * 257
				e.uint16(typ, v)
				ae.Uint16(typ, v)
			case 2:
				v := uint32(len(prog)) * 16777619
				e.uint32(typ, v)
				ae.Uint32(typ, v)
			case 3:
				v := string(arg())
				e.string(typ, v)
				ae.String(typ, v)
			case 4:
				v := arg()
				e.put(typ, v)
				ae.Bytes(typ, v)
			case 5:
				if depth >= 3 {
					continue
				}
				n := e.nest(typ)
				ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
					run(depth+1, e, nae)
					return nil
				})
				e.end(n)
			case 6:
				if depth > 0 {
					return // ends the innermost nest
				}
			}
		}
	}
	run(0, &e, ae)
	theirs, err = ae.Encode()
	return e.b, theirs, err
}

// FuzzAttrEncoderMatchesNetlink: our append-only attribute encoder writes
// exactly what mdlayher/netlink's encoder writes, for any mix of
// attributes and nests.
func FuzzAttrEncoderMatchesNetlink(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 2, 2, 3, 3, 5, 'w', 'l', 'c', 0, 0})
	f.Add([]byte{5, 1, 1, 2, 2, 3, 4, 4, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 6, 0, 5, 2, 0, 7, 3, 0})
	f.Add([]byte{5, 1, 5, 2, 5, 3, 5, 4, 2, 9, 6, 0, 6, 0, 3, 8, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		ours, theirs, err := encodeProgram(prog)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("program %x:\nours   %x\ntheirs %x", prog, ours, theirs)
		}
	})
}

// TestRequestsMatchNetlinkEncoder: every request the library builds, byte
// for byte as mdlayher/netlink's encoder would build it field by field.
func TestRequestsMatchNetlinkEncoder(t *testing.T) {
	k := ServiceKey{Family: IPv6, Protocol: SCTP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 65535}
	svc := Service{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "sh",
		Flags: FlagPersistent | FlagSched1, Timeout: 300, PEName: "sip", Netmask: IPv4NetmaskBits(0xffffff00)}
	dst := Destination{Addr: netip.MustParseAddr("2001:db8::5"), Port: 8080, ForwardMethod: Tunnel, Weight: 7,
		UpperThreshold: 9, LowerThreshold: 3, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelCsum}
	putAddrNL := func(ae *netlink.AttributeEncoder, typ uint16, a netip.Addr) {
		b := make([]byte, 16)
		if a.Is4() {
			v := a.As4()
			copy(b, v[:])
		} else {
			v := a.As16()
			copy(b, v[:])
		}
		ae.Bytes(typ, b)
	}
	port := func(p uint16) []byte { return binary.BigEndian.AppendUint16(nil, p) }
	keyNL := func(ae *netlink.AttributeEncoder, k ServiceKey) {
		ae.Uint16(uapi.SvcAttrAF, uint16(k.Family))
		if k.FWMark != 0 {
			ae.Uint32(uapi.SvcAttrFwmark, k.FWMark)
			return
		}
		ae.Uint16(uapi.SvcAttrProtocol, uint16(k.Protocol))
		putAddrNL(ae, uapi.SvcAttrAddr, k.Addr)
		ae.Bytes(uapi.SvcAttrPort, port(k.Port))
	}
	encode := func(fn func(ae *netlink.AttributeEncoder)) []byte {
		ae := netlink.NewAttributeEncoder()
		fn(ae)
		b, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	nest := func(ae *netlink.AttributeEncoder, typ uint16, fn func(ae *netlink.AttributeEncoder)) {
		ae.Nested(typ, func(nae *netlink.AttributeEncoder) error { fn(nae); return nil })
	}
	for _, tc := range []struct {
		name string
		op   Op
		want []byte
	}{
		{"NEW_SERVICE", CreateService(svc), encode(func(ae *netlink.AttributeEncoder) {
			nest(ae, uapi.CmdAttrService, func(ae *netlink.AttributeEncoder) {
				keyNL(ae, svc.Key())
				ae.String(uapi.SvcAttrSchedName, "sh")
				ae.String(uapi.SvcAttrPEName, "sip")
				flags := binary.NativeEndian.AppendUint32(nil, uint32(svc.Flags))
				ae.Bytes(uapi.SvcAttrFlags, binary.NativeEndian.AppendUint32(flags, ^uint32(0)))
				ae.Uint32(uapi.SvcAttrTimeout, 300)
				ae.Bytes(uapi.SvcAttrNetmask, []byte{255, 255, 255, 0})
			})
		})},
		{"DEL_SERVICE fwmark", DeleteService(ServiceKey{Family: IPv6, FWMark: 3000000000}), encode(func(ae *netlink.AttributeEncoder) {
			nest(ae, uapi.CmdAttrService, func(ae *netlink.AttributeEncoder) { keyNL(ae, ServiceKey{Family: IPv6, FWMark: 3000000000}) })
		})},
		{"NEW_DEST", CreateDestination(k, dst), encode(func(ae *netlink.AttributeEncoder) {
			nest(ae, uapi.CmdAttrService, func(ae *netlink.AttributeEncoder) { keyNL(ae, k) })
			nest(ae, uapi.CmdAttrDest, func(ae *netlink.AttributeEncoder) {
				ae.Uint16(uapi.DestAttrAddrFamily, uint16(IPv6))
				putAddrNL(ae, uapi.DestAttrAddr, dst.Addr)
				ae.Bytes(uapi.DestAttrPort, port(8080))
				ae.Uint8(uapi.DestAttrTunType, uint8(GUE))
				ae.Bytes(uapi.DestAttrTunPort, port(6080))
				ae.Uint16(uapi.DestAttrTunFlags, uint16(TunnelCsum))
				ae.Uint32(uapi.DestAttrFwdMethod, uint32(Tunnel))
				ae.Uint32(uapi.DestAttrWeight, 7)
				ae.Uint32(uapi.DestAttrUThresh, 9)
				ae.Uint32(uapi.DestAttrLThresh, 3)
			})
		})},
		{"DEL_DEST", DeleteDestination(k, dst.Key()), encode(func(ae *netlink.AttributeEncoder) {
			nest(ae, uapi.CmdAttrService, func(ae *netlink.AttributeEncoder) { keyNL(ae, k) })
			nest(ae, uapi.CmdAttrDest, func(ae *netlink.AttributeEncoder) {
				ae.Uint16(uapi.DestAttrAddrFamily, uint16(IPv6))
				putAddrNL(ae, uapi.DestAttrAddr, dst.Addr)
				ae.Bytes(uapi.DestAttrPort, port(8080))
			})
		})},
	} {
		var e attrEncoder
		e.b = append(e.b, "previous requests"...) // Apply encodes into a shared buffer
		r, err := tc.op.prepare(&e)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(r.attrs, tc.want) {
			t.Errorf("%s:\ngot  %x\nwant %x", tc.name, r.attrs, tc.want)
		}
		checkRequest(t, tc.name, &tc.op, r.cmd, tc.want)
	}
	timeouts := SetTimeouts(Timeouts{TCP: 900 * time.Second, UDP: 5 * time.Second})
	checkRequest(t, "SET_CONFIG", &timeouts, uapi.CmdSetConfig, encode(func(ae *netlink.AttributeEncoder) {
		ae.Uint32(uapi.CmdAttrTimeoutTCP, 900)
		ae.Uint32(uapi.CmdAttrTimeoutTCPFin, 0)
		ae.Uint32(uapi.CmdAttrTimeoutUDP, 5)
	}))
	for _, k := range []ServiceKey{k, {Family: IPv4, FWMark: 1}} {
		want := encode(func(ae *netlink.AttributeEncoder) {
			nest(ae, uapi.CmdAttrService, func(ae *netlink.AttributeEncoder) { keyNL(ae, k) })
		})
		if got := appendServiceKeyAttr(nil, k); !bytes.Equal(got, want) {
			t.Errorf("service key %v:\ngot  %x\nwant %x", k, got, want)
		}
	}
}

// checkRequest: the request Apply appends for op, after other requests,
// is the netlink message mdlayher/netlink marshals of cmd and attrs.
func checkRequest(t *testing.T, name string, op *Op, cmd uint8, attrs []byte) {
	t.Helper()
	const seq, flags = 0x01020304, netlink.Request | netlink.Acknowledge
	data := append([]byte{cmd, 1, 0, 0}, attrs...)
	m := netlink.Message{
		Header: netlink.Header{Length: uint32(nlmsgHeaderLen + len(data)), Type: testFamily, Flags: flags, Sequence: seq},
		Data:   data,
	}
	want, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	prev := []byte("previous requests...")
	got := op.appendRequest(prev, testFamily, flags, seq, op.Service.Key())
	if !bytes.Equal(got[:len(prev)], prev) || !bytes.Equal(got[len(prev):], want) {
		t.Errorf("%s: request\ngot  %x\nwant %x", name, got[len(prev):], want)
	}
}

// TestSequenceNumbers: a window's requests have consecutive sequence
// numbers, none of them 0, also where the numbers wrap.
func TestSequenceNumbers(t *testing.T) {
	for _, tc := range []struct {
		seq, n, first, after uint32
	}{
		{0, 1, 1, 1},
		{7, 3, 8, 10},
		{math.MaxUint32 - 5, 5, math.MaxUint32 - 4, math.MaxUint32},
		{math.MaxUint32 - 2, 5, 1, 5},
		{math.MaxUint32, 1, 1, 1},
	} {
		c := &Client{seq: tc.seq}
		if first := c.nextSeqs(int(tc.n)); first != tc.first || c.seq != tc.after {
			t.Errorf("after %d, %d numbers: from %d to %d, want from %d to %d", tc.seq, tc.n, first, c.seq, tc.first, tc.after)
		}
	}
}
