package ipvstest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func TestGetFamily(t *testing.T) {
	c := genlConn(t, New())
	f, err := c.GetFamily("IPVS")
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != FamilyID || f.Version != 1 || f.Name != "IPVS" {
		t.Errorf("family = %+v", f)
	}
	if _, err := c.GetFamily("nope"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("GetFamily(nope) = %v, want ENOENT", err)
	}
	fams, err := c.ListFamilies()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"nlctrl", "IPVS"}) {
		t.Errorf("families = %v", names)
	}

	u := genlConn(t, New(Unavailable()))
	if _, err := u.GetFamily("IPVS"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("unavailable: GetFamily = %v, want ENOENT", err)
	}
}

func TestAcknowledgements(t *testing.T) {
	c := newConn(t, New())
	req := join(svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80), svcConf("rr", 0, 0, 0, mask32)))

	// Success: a capped acknowledgement echoing only the header.
	m := c.msg(uapi.CmdNewService, netlink.Acknowledge, req)
	c.send(m)
	dg := c.recv()
	if len(dg) != 1 {
		t.Fatalf("got %d messages, want 1", len(dg))
	}
	ack := dg[0]
	if ack.Header.Type != netlink.Error || ack.Header.Flags != netlink.Capped || ack.Header.Length != 36 ||
		ack.Header.Sequence != m.Header.Sequence || ack.Header.PID != c.s.port {
		t.Errorf("ack header = %+v", ack.Header)
	}
	wantHdr, _ := m.MarshalBinary()
	if errnoOf(t, ack) != 0 || !bytes.Equal(ack.Data[4:20], wantHdr[:16]) {
		t.Errorf("ack data = %x", ack.Data)
	}

	// Failure: the whole request is echoed.
	m = c.msg(uapi.CmdNewService, netlink.Acknowledge, req)
	c.send(m)
	nack := c.recv()[0]
	wantReq, _ := m.MarshalBinary()
	if errnoOf(t, nack) != unix.EEXIST || nack.Header.Flags != 0 || !bytes.Equal(nack.Data[4:], wantReq) {
		t.Errorf("error message = %+v %x", nack.Header, nack.Data)
	}

	// Failures are reported without NLM_F_ACK too; successes are not.
	c.send(c.msg(uapi.CmdNewService, 0, req))
	if errnoOf(t, c.recv()[0]) != unix.EEXIST {
		t.Error("no error without NLM_F_ACK")
	}
	c.send(c.msg(uapi.CmdFlush, 0, nil))
	c.expectNothing()

	// NETLINK_CAP_ACK caps error messages.
	c.s.SetOption(netlink.CapAcknowledge, true)
	c.send(c.msg(uapi.CmdDelService, 0, req))
	capped := c.recv()[0]
	if errnoOf(t, capped) != unix.ESRCH || capped.Header.Flags != netlink.Capped || len(capped.Data) != 20 {
		t.Errorf("capped error = %+v %x", capped.Header, capped.Data)
	}

	// A message without NLM_F_REQUEST is only acknowledged.
	m = c.msg(uapi.CmdFlush, netlink.Acknowledge, nil)
	m.Header.Flags &^= netlink.Request
	c.send(m)
	if got := c.recv(); errnoOf(t, got[0]) != 0 {
		t.Errorf("non-request: %v", errnoOf(t, got[0]))
	}
}

func TestGetReplyThenAck(t *testing.T) {
	c := newConn(t, New())
	m := c.msg(uapi.CmdGetInfo, netlink.Acknowledge, nil)
	c.send(m)
	info := c.recv()
	if len(info) != 1 || info[0].Header.Type != FamilyID || info[0].Header.Flags != 0 {
		t.Fatalf("info datagram = %+v", info)
	}
	if info[0].Data[0] != uapi.CmdSetInfo || info[0].Data[1] != uapi.FamilyVersion {
		t.Errorf("genl header = %x", info[0].Data[:4])
	}
	a := decode(t, info[0].Data[4:])
	if getU32(a[uapi.InfoAttrVersion]) != 0x010201 || getU32(a[uapi.InfoAttrConnTabSize]) != 4096 {
		t.Errorf("info = %x", info[0].Data)
	}
	if ack := c.recv(); ack[0].Header.Type != netlink.Error || errnoOf(t, ack[0]) != 0 {
		t.Errorf("second datagram = %+v", ack)
	}
}

func TestGenericNetlinkErrors(t *testing.T) {
	tests := []struct {
		name  string
		typ   uint16
		cmd   uint8
		flags netlink.HeaderFlags
		data  []byte
		want  unix.Errno
	}{
		{"unknown family", 0x30, uapi.CmdGetInfo, 0, nil, unix.ENOENT},
		{"unknown command", FamilyID, uapi.CmdSetInfo, 0, nil, unix.EOPNOTSUPP},
		{"command zero", FamilyID, 0, 0, nil, unix.EOPNOTSUPP},
		{"GET_DEST without dump", FamilyID, uapi.CmdGetDest, 0, nil, unix.EOPNOTSUPP},
		{"GET_INFO as dump", FamilyID, uapi.CmdGetInfo, netlink.Dump, nil, unix.EOPNOTSUPP},
		{"short TIMEOUT_TCP", FamilyID, uapi.CmdSetConfig, 0, attrs(func(ae *netlink.AttributeEncoder) { ae.Uint16(uapi.CmdAttrTimeoutTCP, 1) }), unix.ERANGE},
		{"short SERVICE nest", FamilyID, uapi.CmdGetService, 0, attrs(func(ae *netlink.AttributeEncoder) { ae.Bytes(uapi.CmdAttrService, []byte{1, 2}) }), unix.ERANGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(t, New())
			m := c.msg(tt.cmd, tt.flags, tt.data)
			m.Header.Type = netlink.HeaderType(tt.typ)
			c.send(m)
			if got := errnoOf(t, c.recv()[0]); got != tt.want {
				t.Errorf("errno = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("no generic header", func(t *testing.T) {
		c := newConn(t, New())
		c.k.receive(c.s, []byte{17, 0, 0, 0, FamilyID, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, uapi.CmdGetInfo, 0, 0, 0})
		if got := errnoOf(t, c.recv()[0]); got != unix.EINVAL {
			t.Errorf("errno = %v, want EINVAL", got)
		}
	})
}

func TestPermissionDenied(t *testing.T) {
	k := New(PermissionDenied())
	g := genlConn(t, k)
	if _, err := g.GetFamily("IPVS"); err != nil {
		t.Fatalf("GetFamily: %v", err)
	}
	c := newConn(t, k)
	for cmd := uint8(1); cmd <= uapi.CmdMax; cmd++ {
		flags := netlink.HeaderFlags(0)
		if cmd == uapi.CmdGetDest || cmd == uapi.CmdGetDaemon {
			flags = netlink.Dump
		}
		want := unix.EPERM
		if cmd == uapi.CmdSetInfo {
			want = unix.EOPNOTSUPP
		}
		c.send(c.msg(cmd, flags, nil))
		if got := errnoOf(t, c.recv()[0]); got != want {
			t.Errorf("command %d: errno %v, want %v", cmd, got, want)
		}
	}
}

func TestServiceErrors(t *testing.T) {
	id := svcID(unix.IPPROTO_TCP, "10.0.0.1", 80)
	conf := svcConf("rr", 0, 0, 0, mask32)
	tests := []struct {
		name string
		cmd  uint8
		req  []byte
		want unix.Errno
	}{
		{"no service attribute", uapi.CmdNewService, nil, unix.EINVAL},
		{"no family", uapi.CmdNewService, join(svcAttr(func(ae *netlink.AttributeEncoder) { ae.Uint32(uapi.SvcAttrFwmark, 1) }, conf)), unix.EINVAL},
		{"no port", uapi.CmdNewService, join(svcAttr(func(ae *netlink.AttributeEncoder) {
			ae.Uint16(uapi.SvcAttrAF, unix.AF_INET)
			ae.Uint16(uapi.SvcAttrProtocol, unix.IPPROTO_TCP)
			ae.Bytes(uapi.SvcAttrAddr, addr16("10.0.0.1"))
		}, conf)), unix.EINVAL},
		{"bad family", uapi.CmdNewService, join(svcAttr(fwmID(99, 1), conf)), unix.EAFNOSUPPORT},
		{"no scheduler", uapi.CmdNewService, join(svcAttr(id, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(uapi.SvcAttrFlags, make([]byte, 8))
			ae.Uint32(uapi.SvcAttrTimeout, 0)
			ae.Bytes(uapi.SvcAttrNetmask, mask32)
		})), unix.EINVAL},
		{"unknown scheduler", uapi.CmdNewService, join(svcAttr(id, svcConf("xx", 0, 0, 0, mask32))), unix.ENOENT},
		{"unknown pe", uapi.CmdNewService, join(svcAttr(id, conf, func(ae *netlink.AttributeEncoder) { ae.String(uapi.SvcAttrPEName, "nope") })), unix.ENOENT},
		{"IPv6 prefix 0", uapi.CmdNewService, join(svcAttr(svcID(unix.IPPROTO_UDP, "2001:db8::1", 53), svcConf("rr", 0, 0, 0, binary.NativeEndian.AppendUint32(nil, 0)))), unix.EINVAL},
		{"IPv6 prefix 129", uapi.CmdNewService, join(svcAttr(svcID(unix.IPPROTO_UDP, "2001:db8::1", 53), svcConf("rr", 0, 0, 0, binary.NativeEndian.AppendUint32(nil, 129)))), unix.EINVAL},
		{"short family", uapi.CmdNewService, join(svcAttr(func(ae *netlink.AttributeEncoder) {
			ae.Uint8(uapi.SvcAttrAF, unix.AF_INET)
			ae.Uint32(uapi.SvcAttrFwmark, 1)
		}, conf)), unix.EINVAL},
		{"scheduler without NUL", uapi.CmdNewService, join(svcAttr(id, conf, func(ae *netlink.AttributeEncoder) { ae.Bytes(uapi.SvcAttrSchedName, []byte("rr")) })), unix.EINVAL},
		{"scheduler too long", uapi.CmdNewService, join(svcAttr(id, conf, func(ae *netlink.AttributeEncoder) { ae.String(uapi.SvcAttrSchedName, "abcdefghijklmnop") })), unix.EINVAL},
		{"address too long", uapi.CmdNewService, join(svcAttr(func(ae *netlink.AttributeEncoder) {
			ae.Uint16(uapi.SvcAttrAF, unix.AF_INET)
			ae.Uint16(uapi.SvcAttrProtocol, unix.IPPROTO_TCP)
			ae.Bytes(uapi.SvcAttrAddr, make([]byte, 17))
			ae.Bytes(uapi.SvcAttrPort, be16(80))
		}, conf)), unix.EINVAL},
		{"SET missing", uapi.CmdSetService, join(svcAttr(id, conf)), unix.ESRCH},
		{"DEL missing", uapi.CmdDelService, join(svcAttr(id)), unix.ESRCH},
		{"GET missing", uapi.CmdGetService, join(svcAttr(id)), unix.ESRCH},
		{"GET without service", uapi.CmdGetService, nil, unix.EINVAL},
		{"ZERO missing", uapi.CmdZero, join(svcAttr(id)), unix.ESRCH},
		{"fwmark missing", uapi.CmdDelService, join(svcAttr(fwmID(unix.AF_INET, 7))), unix.ESRCH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := New()
			c := newConn(t, k)
			if _, got := c.do(tt.cmd, tt.req); got != tt.want {
				t.Errorf("errno = %v, want %v", got, tt.want)
			}
			if n := len(k.Services()); n != 0 {
				t.Errorf("%d services after a failed request", n)
			}
		})
	}

	t.Run("exists", func(t *testing.T) {
		c := newConn(t, New())
		c.addService("10.0.0.1", 80)
		if _, got := c.do(uapi.CmdNewService, join(svcAttr(id, conf))); got != unix.EEXIST {
			t.Errorf("errno = %v, want EEXIST", got)
		}
		// The IPv4 lookup ignores bytes after the first four.
		other := join(svcAttr(func(ae *netlink.AttributeEncoder) {
			ae.Uint16(uapi.SvcAttrAF, unix.AF_INET)
			ae.Uint16(uapi.SvcAttrProtocol, unix.IPPROTO_TCP)
			ae.Bytes(uapi.SvcAttrAddr, []byte{10, 0, 0, 1, 9, 9, 9, 9})
			ae.Bytes(uapi.SvcAttrPort, be16(80))
		}))
		c.mustDo(uapi.CmdGetService, other)
	})
}

func TestServiceRoundTrip(t *testing.T) {
	k := New()
	c := newConn(t, k)
	id := svcID(unix.IPPROTO_TCP, "10.0.0.1", 80)
	netmask := []byte{255, 255, 255, 0}
	c.mustDo(uapi.CmdNewService, join(svcAttr(id,
		svcConf("sh", uapi.SvcFlagPersistent|uapi.SvcFlagSched1|uapi.SvcFlagHashed, 0xffffffff, 300, netmask),
		func(ae *netlink.AttributeEncoder) { ae.String(uapi.SvcAttrPEName, "sip") })))

	get := func() map[uint16][]byte {
		t.Helper()
		r := c.mustDo(uapi.CmdGetService, join(svcAttr(id)))
		if len(r) != 1 || r[0].Data[0] != uapi.CmdNewService {
			t.Fatalf("reply = %+v", r)
		}
		top := decode(t, r[0].Data[4:])
		return decode(t, top[uapi.CmdAttrService])
	}
	s := get()
	if got := getCString(s[uapi.SvcAttrSchedName]); got != "sh" {
		t.Errorf("scheduler %q", got)
	}
	if got := getCString(s[uapi.SvcAttrPEName]); got != "sip" {
		t.Errorf("pe %q", got)
	}
	if f, m := getU32(s[uapi.SvcAttrFlags]), getU32(s[uapi.SvcAttrFlags][4:]); f != uapi.SvcFlagPersistent|uapi.SvcFlagSched1|uapi.SvcFlagHashed || m != 0xffffffff {
		t.Errorf("flags %#x mask %#x", f, m)
	}
	if getU32(s[uapi.SvcAttrTimeout]) != 300 || !bytes.Equal(s[uapi.SvcAttrNetmask], netmask) {
		t.Errorf("timeout %d netmask %x", getU32(s[uapi.SvcAttrTimeout]), s[uapi.SvcAttrNetmask])
	}
	if len(s[uapi.SvcAttrAddr]) != 16 || !bytes.Equal(s[uapi.SvcAttrAddr], addr16("10.0.0.1")) || getBE16(s[uapi.SvcAttrPort]) != 80 {
		t.Errorf("identity %x %x", s[uapi.SvcAttrAddr], s[uapi.SvcAttrPort])
	}

	// SET applies flags under the mask and drops an unnamed PE.
	c.mustDo(uapi.CmdSetService, join(svcAttr(id, svcConf("none", uapi.SvcFlagOnePacket, uapi.SvcFlagOnePacket|uapi.SvcFlagSched1, 0, mask32))))
	s = get()
	if f := getU32(s[uapi.SvcAttrFlags]); f != uapi.SvcFlagPersistent|uapi.SvcFlagOnePacket|uapi.SvcFlagHashed {
		t.Errorf("flags after SET %#x", f)
	}
	if _, ok := s[uapi.SvcAttrPEName]; ok || getCString(s[uapi.SvcAttrSchedName]) != "none" {
		t.Errorf("after SET: pe present %v, scheduler %q", ok, getCString(s[uapi.SvcAttrSchedName]))
	}

	// A timeout that overflows in ticks reads back wrapped, as from the
	// kernel.
	c.mustDo(uapi.CmdSetService, join(svcAttr(id, svcConf("rr", 0, 0, 20000000, mask32))))
	if got, want := getU32(get()[uapi.SvcAttrTimeout]), uint32(uint64(20000000*hz)%(1<<32))/hz; got != want || got == 20000000 {
		t.Errorf("timeout %d", got)
	}

	want := []uint16{uapi.SvcAttrAF, uapi.SvcAttrProtocol, uapi.SvcAttrAddr, uapi.SvcAttrPort, uapi.SvcAttrSchedName,
		uapi.SvcAttrFlags, uapi.SvcAttrTimeout, uapi.SvcAttrNetmask, uapi.SvcAttrStats, uapi.SvcAttrStats64}
	r := c.mustDo(uapi.CmdGetService, join(svcAttr(id)))
	if got := attrTypes(t, decode(t, r[0].Data[4:])[uapi.CmdAttrService]); !slices.Equal(got, want) {
		t.Errorf("attribute order %v, want %v", got, want)
	}

	// A fwmark service reports no protocol, address or port.
	c.mustDo(uapi.CmdNewService, join(svcAttr(fwmID(unix.AF_INET6, 5), svcConf("wlc", 0, 0, 0, binary.NativeEndian.AppendUint32(nil, 64)))))
	r = c.mustDo(uapi.CmdGetService, join(svcAttr(fwmID(unix.AF_INET6, 5))))
	if got := attrTypes(t, decode(t, r[0].Data[4:])[uapi.CmdAttrService]); got[1] != uapi.SvcAttrFwmark || got[2] != uapi.SvcAttrSchedName {
		t.Errorf("fwmark attributes %v", got)
	}
	if ps := k.Services(); len(ps) != 2 || ps[1].Service.FWMark != 5 || ps[1].Service.Netmask.Value(6) != 64 {
		t.Errorf("services %+v", ps)
	}
}

func TestStatsEncoding(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     []Option
		stats64  bool
		aligned  bool
		wantPads bool
	}{
		{"x86-64", nil, true, false, false},
		{"strict alignment", []Option{PadU64()}, true, true, true},
		{"before 4.1", []Option{WithoutStats64()}, false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := New(tt.opts...)
			c := newConn(t, k)
			c.addService("10.0.0.1", 80)
			st := statsFixture()
			if err := k.SetStats(svcKey("10.0.0.1", 80), st); err != nil {
				t.Fatal(err)
			}
			m := c.msg(uapi.CmdGetService, 0, join(svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80))))
			c.send(m)
			dg := c.recv()
			raw := dg[0].Data
			s := decode(t, decode(t, raw[4:])[uapi.CmdAttrService])
			st32 := decode(t, s[uapi.SvcAttrStats])
			if getU32(st32[uapi.StatsConns]) != uint32(st.Conns) || binary.NativeEndian.Uint64(st32[uapi.StatsInBytes]) != st.InBytes {
				t.Errorf("STATS = %x", s[uapi.SvcAttrStats])
			}
			_, has64 := s[uapi.SvcAttrStats64]
			if has64 != tt.stats64 {
				t.Fatalf("STATS64 present = %v", has64)
			}
			if has64 {
				st64 := decode(t, s[uapi.SvcAttrStats64])
				if binary.NativeEndian.Uint64(st64[uapi.StatsConns]) != st.Conns || binary.NativeEndian.Uint64(st64[uapi.StatsOutBPS]) != st.OutBPS {
					t.Errorf("STATS64 = %x", s[uapi.SvcAttrStats64])
				}
			}
			pads := bytes.Contains(raw, []byte{4, 0, uapi.StatsPad, 0})
			if pads != tt.wantPads {
				t.Errorf("PAD attributes present = %v", pads)
			}
			if tt.aligned {
				// Every u64 value sits at an 8-byte boundary of the
				// datagram (offset 16 for the netlink header).
				full, _ := dg[0].MarshalBinary()
				i := bytes.Index(full, binary.NativeEndian.AppendUint64(nil, st.InBytes))
				if i < 0 || i%8 != 0 {
					t.Errorf("InBytes at offset %d", i)
				}
			}
		})
	}
}
