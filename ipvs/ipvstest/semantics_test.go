package ipvstest

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func tunnel(typ uint8, port uint16, flags uint16) func(*netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.Uint8(uapi.DestAttrTunType, typ)
		ae.Bytes(uapi.DestAttrTunPort, be16(port))
		ae.Uint16(uapi.DestAttrTunFlags, flags)
	}
}

func destFamily(af uint16) func(*netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) { ae.Uint16(uapi.DestAttrAddrFamily, af) }
}

func TestDestinationErrors(t *testing.T) {
	svc := svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80))
	tests := []struct {
		name string
		cmd  uint8
		req  []byte
		want unix.Errno
	}{
		{"negative weight", uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdMasq, 0x80000000, 0, 0)), unix.ERANGE},
		{"lower above upper", uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdMasq, 1, 10, 20)), unix.ERANGE},
		{"lower without upper", uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdMasq, 1, 0, 5)), unix.ERANGE},
		{"GUE without port", uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdTunnel, 1, 0, 0, tunnel(uapi.TunTypeGUE, 0, 0))), unix.EINVAL},
		{"mixed family masquerade", uapi.CmdNewDest, join(svc, destEntry("2001:db8::2", 80, uapi.FwdMasq, 1, 0, 0, destFamily(unix.AF_INET6))), unix.EINVAL},
		{"bad family", uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdMasq, 1, 0, 0, destFamily(3))), unix.EAFNOSUPPORT},
		{"zero address", uapi.CmdNewDest, join(svc, destEntry("0.0.0.0", 80, uapi.FwdMasq, 1, 0, 0)), unix.EINVAL},
		{"multicast", uapi.CmdNewDest, join(svc, destEntry("224.1.2.3", 80, uapi.FwdMasq, 1, 0, 0)), unix.EINVAL},
		{"broadcast", uapi.CmdNewDest, join(svc, destEntry("255.255.255.255", 80, uapi.FwdMasq, 1, 0, 0)), unix.EINVAL},
		{"IPv6 link-local", uapi.CmdNewDest, join(svc, destEntry("fe80::1", 80, uapi.FwdTunnel, 1, 0, 0, destFamily(unix.AF_INET6))), unix.EINVAL},
		{"missing forward method", uapi.CmdNewDest, join(svc, func(ae *netlink.AttributeEncoder) {
			ae.Nested(uapi.CmdAttrDest, func(nae *netlink.AttributeEncoder) error {
				nae.Bytes(uapi.DestAttrAddr, addr16("10.0.1.1"))
				nae.Bytes(uapi.DestAttrPort, be16(80))
				return nil
			})
		}), unix.EINVAL},
		{"no destination", uapi.CmdNewDest, join(svc), unix.EINVAL},
		{"SET missing", uapi.CmdSetDest, join(svc, destEntry("10.0.1.9", 80, uapi.FwdMasq, 1, 0, 0)), unix.ENOENT},
		{"DEL missing", uapi.CmdDelDest, join(svc, destEntry("10.0.1.9", 80, uapi.FwdMasq, 1, 0, 0)), unix.ENOENT},
		{"exists", uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdRoute, 1, 0, 0)), unix.EEXIST},
		{"no such service", uapi.CmdNewDest, join(svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.2", 80)), destEntry("10.0.1.1", 80, uapi.FwdMasq, 1, 0, 0)), unix.ESRCH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := New()
			c := newConn(t, k)
			c.addService("10.0.0.1", 80)
			if tt.name == "exists" {
				c.mustDo(uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdMasq, 1, 0, 0)))
			}
			before := k.Services()
			if _, got := c.do(tt.cmd, tt.req); got != tt.want {
				t.Errorf("errno = %v, want %v", got, tt.want)
			}
			if after := k.Services(); len(after[0].Destinations) != len(before[0].Destinations) {
				t.Errorf("destinations changed by a failed request")
			}
		})
	}
}

func TestDestinations(t *testing.T) {
	k := New()
	c := newConn(t, k)
	c.addService("10.0.0.1", 80)
	svc := svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80))
	c.mustDo(uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 8080, uapi.FwdMasq|0x100, 5, 100, 10)))
	c.mustDo(uapi.CmdNewDest, join(svc, destEntry("10.0.1.2", 8080, uapi.FwdRoute, 0, 0, 0)))
	c.mustDo(uapi.CmdNewDest, join(svc, destEntry("2001:db8::3", 0, uapi.FwdTunnel, 1, 0, 0, destFamily(unix.AF_INET6), tunnel(uapi.TunTypeGUE, 6080, uapi.TunFlagCsum))))

	msgs := c.dumpPayloads(uapi.CmdGetDest, join(svc))
	var got []string
	for _, m := range msgs {
		d := decode(t, decode(t, m)[uapi.CmdAttrDest])
		a := netip.AddrFrom16([16]byte(d[uapi.DestAttrAddr]))
		if getU16(d[uapi.DestAttrAddrFamily]) == unix.AF_INET {
			a = netip.AddrFrom4([4]byte(d[uapi.DestAttrAddr][:4]))
		}
		got = append(got, a.String())
	}
	if want := []string{"2001:db8::3", "10.0.1.2", "10.0.1.1"}; !slices.Equal(got, want) {
		t.Fatalf("destinations %v, want newest first %v", got, want)
	}
	first := decode(t, decode(t, msgs[0])[uapi.CmdAttrDest])
	if getU8(first[uapi.DestAttrTunType]) != uapi.TunTypeGUE || getBE16(first[uapi.DestAttrTunPort]) != 6080 || getU16(first[uapi.DestAttrTunFlags]) != uapi.TunFlagCsum {
		t.Errorf("tunnel attributes %x %x %x", first[uapi.DestAttrTunType], first[uapi.DestAttrTunPort], first[uapi.DestAttrTunFlags])
	}
	last := decode(t, decode(t, msgs[2])[uapi.CmdAttrDest])
	if getU32(last[uapi.DestAttrFwdMethod]) != uapi.FwdMasq || getU32(last[uapi.DestAttrWeight]) != 5 ||
		getU32(last[uapi.DestAttrUThresh]) != 100 || getU32(last[uapi.DestAttrLThresh]) != 10 || getBE16(last[uapi.DestAttrPort]) != 8080 {
		t.Errorf("destination attributes %v", last)
	}
	want := []uint16{uapi.DestAttrAddr, uapi.DestAttrPort, uapi.DestAttrFwdMethod, uapi.DestAttrWeight,
		uapi.DestAttrTunType, uapi.DestAttrTunPort, uapi.DestAttrTunFlags, uapi.DestAttrUThresh, uapi.DestAttrLThresh,
		uapi.DestAttrActiveConns, uapi.DestAttrInactConns, uapi.DestAttrPersistConns, uapi.DestAttrAddrFamily,
		uapi.DestAttrStats, uapi.DestAttrStats64}
	if got := attrTypes(t, decode(t, msgs[0])[uapi.CmdAttrDest]); !slices.Equal(got, want) {
		t.Errorf("attribute order %v, want %v", got, want)
	}

	// SET changes the settings, DEL removes.
	c.mustDo(uapi.CmdSetDest, join(svc, destEntry("10.0.1.1", 8080, uapi.FwdRoute, 7, 0, 0)))
	c.mustDo(uapi.CmdDelDest, join(svc, func(ae *netlink.AttributeEncoder) {
		ae.Nested(uapi.CmdAttrDest, func(nae *netlink.AttributeEncoder) error {
			nae.Bytes(uapi.DestAttrAddr, addr16("10.0.1.2"))
			nae.Bytes(uapi.DestAttrPort, be16(8080))
			return nil
		})
	}))
	ds := k.Services()[0].Destinations
	if len(ds) != 2 || ds[1].Weight != 7 || ds[1].ForwardMethod != ipvs.DirectRoute || ds[0].Family() != ipvs.IPv6 {
		t.Errorf("destinations %+v", ds)
	}

	// A dump for a missing service is empty, not an error.
	dg := c.dump(uapi.CmdGetDest, join(svcAttr(svcID(unix.IPPROTO_TCP, "10.9.9.9", 1))))
	if len(dg) != 1 || len(dg[0]) != 1 || dg[0][0].Header.Type != netlink.Done {
		t.Errorf("dump of a missing service: %+v", dg)
	}
	dg = c.dump(uapi.CmdGetDest, nil)
	if len(dg) != 1 || len(dg[0]) != 1 {
		t.Errorf("dump without a service: %+v", dg)
	}

	// Connection counts and stats set from outside show in dumps.
	key, dk := svcKey("10.0.0.1", 80), ipvs.DestinationKey{Addr: netip.MustParseAddr("10.0.1.1"), Port: 8080}
	if err := k.SetDestConns(key, dk, 3, 4, 5); err != nil {
		t.Fatal(err)
	}
	if err := k.SetDestStats(key, dk, statsFixture()); err != nil {
		t.Fatal(err)
	}
	msgs = c.dumpPayloads(uapi.CmdGetDest, join(svc))
	d := decode(t, decode(t, msgs[1])[uapi.CmdAttrDest])
	if getU32(d[uapi.DestAttrActiveConns]) != 3 || getU32(d[uapi.DestAttrInactConns]) != 4 || getU32(d[uapi.DestAttrPersistConns]) != 5 {
		t.Errorf("connection counts %v", d)
	}
	if err := k.SetDestConns(key, ipvs.DestinationKey{Addr: netip.MustParseAddr("10.0.1.99"), Port: 1}, 1, 1, 1); err == nil {
		t.Error("SetDestConns on a missing destination succeeded")
	}

	// ZERO of one service clears its and its destinations' stats.
	k.SetStats(key, statsFixture())
	c.mustDo(uapi.CmdZero, join(svc))
	e := k.Services()[0]
	if e.Service.Stats != (ipvs.Stats{}) || e.Destinations[1].Stats != (ipvs.Stats{}) {
		t.Errorf("stats after ZERO: %+v", e)
	}
}

func TestMixedFamilies(t *testing.T) {
	k := New()
	c := newConn(t, k)
	c.addService("10.0.0.1", 80)
	svc := svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80))
	c.mustDo(uapi.CmdNewDest, join(svc, destEntry("2001:db8::2", 80, uapi.FwdTunnel, 1, 0, 0, destFamily(unix.AF_INET6))))
	// The sync protocol cannot carry mixed families.
	daemon := join(daemonAttr(uapi.StateMaster, "eth0", 1))
	if _, got := c.do(uapi.CmdNewDaemon, daemon); got != unix.EINVAL {
		t.Errorf("daemon with mixed destinations: %v, want EINVAL", got)
	}
	c.mustDo(uapi.CmdDelDest, join(svc, destEntry("2001:db8::2", 80, 0, 0, 0, 0, destFamily(unix.AF_INET6))))
	c.mustDo(uapi.CmdNewDaemon, daemon)
	if _, got := c.do(uapi.CmdNewDest, join(svc, destEntry("2001:db8::2", 80, uapi.FwdTunnel, 1, 0, 0, destFamily(unix.AF_INET6)))); got != unix.EINVAL {
		t.Errorf("mixed destination with a daemon: %v, want EINVAL", got)
	}

	// Before 3.18 the family attribute is unknown: the destination is
	// taken as the service's family.
	old := New(WithoutDestAddrFamily())
	oc := newConn(t, old)
	oc.addService("10.0.0.1", 80)
	oc.mustDo(uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdMasq, 1, 0, 0, destFamily(unix.AF_INET6))))
	d := decode(t, decode(t, oc.dumpPayloads(uapi.CmdGetDest, join(svc))[0])[uapi.CmdAttrDest])
	if _, ok := d[uapi.DestAttrAddrFamily]; ok {
		t.Error("ADDR_FAMILY in a pre-3.18 reply")
	}
	if _, ok := d[uapi.DestAttrTunType]; ok {
		t.Error("TUN_TYPE in a pre-3.18 reply")
	}
	if got := old.Services()[0].Destinations[0].Addr; got != netip.MustParseAddr("10.0.1.1") {
		t.Errorf("destination %v", got)
	}
}

func TestTunnelFeatureLevels(t *testing.T) {
	for _, tt := range []struct {
		opt          Option
		typ, flags   bool
		storedFlags  uint16
		storedTunTyp uint8
	}{
		{WithoutTunnel(), false, false, 0, 0},
		{WithoutTunnelFlags(), true, false, 0, uapi.TunTypeGUE},
	} {
		k := New(tt.opt)
		c := newConn(t, k)
		c.addService("10.0.0.1", 80)
		svc := svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80))
		c.mustDo(uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdTunnel, 1, 0, 0, tunnel(uapi.TunTypeGUE, 6080, uapi.TunFlagCsum))))
		d := decode(t, decode(t, c.dumpPayloads(uapi.CmdGetDest, join(svc))[0])[uapi.CmdAttrDest])
		_, hasType := d[uapi.DestAttrTunType]
		_, hasFlags := d[uapi.DestAttrTunFlags]
		if hasType != tt.typ || hasFlags != tt.flags {
			t.Errorf("TUN_TYPE %v TUN_FLAGS %v, want %v %v", hasType, hasFlags, tt.typ, tt.flags)
		}
		got := k.Services()[0].Destinations[0]
		if uint8(got.TunnelType) != tt.storedTunTyp || uint16(got.TunnelFlags) != tt.storedFlags {
			t.Errorf("stored tunnel %v %v", got.TunnelType, got.TunnelFlags)
		}
	}
}

func daemonAttr(state uint32, ifname string, id uint32, extra ...func(*netlink.AttributeEncoder)) func(*netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.Nested(uapi.CmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
			nae.Uint32(uapi.DaemonAttrState, state)
			nae.String(uapi.DaemonAttrMcastIfn, ifname)
			nae.Uint32(uapi.DaemonAttrSyncID, id)
			for _, e := range extra {
				e(nae)
			}
			return nil
		})
	}
}

func TestDaemons(t *testing.T) {
	k := New()
	c := newConn(t, k)
	if _, got := c.do(uapi.CmdNewDaemon, nil); got != unix.EINVAL {
		t.Errorf("no daemon attribute: %v", got)
	}
	if _, got := c.do(uapi.CmdNewDaemon, join(func(ae *netlink.AttributeEncoder) {
		ae.Nested(uapi.CmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
			nae.Uint32(uapi.DaemonAttrState, uapi.StateMaster)
			return nil
		})
	})); got != unix.EINVAL {
		t.Errorf("no interface: %v", got)
	}
	if _, got := c.do(uapi.CmdNewDaemon, join(daemonAttr(uapi.StateMaster, "wlan9", 1))); got != unix.ENODEV {
		t.Errorf("unknown interface: %v", got)
	}
	if _, got := c.do(uapi.CmdNewDaemon, join(daemonAttr(3, "eth0", 1))); got != unix.EINVAL {
		t.Errorf("state 3: %v", got)
	}
	if _, got := c.do(uapi.CmdNewDaemon, join(daemonAttr(uapi.StateMaster, "eth0", 1, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(uapi.DaemonAttrMcastGroup, []byte{10, 0, 0, 1})
	}))); got != unix.EINVAL {
		t.Errorf("unicast group: %v", got)
	}
	c.mustDo(uapi.CmdNewDaemon, join(daemonAttr(uapi.StateBackup, "eth1", 7, func(ae *netlink.AttributeEncoder) {
		ae.Uint16(uapi.DaemonAttrSyncMaxLen, 100)
		ae.Bytes(uapi.DaemonAttrMcastGroup6, addr16("ff02::1:2"))
		ae.Uint16(uapi.DaemonAttrMcastPort, 9000)
		ae.Uint8(uapi.DaemonAttrMcastTTL, 3)
	})))
	c.mustDo(uapi.CmdNewDaemon, join(daemonAttr(uapi.StateMaster, "eth0", 1)))
	if _, got := c.do(uapi.CmdNewDaemon, join(daemonAttr(uapi.StateMaster, "eth1", 2))); got != unix.EEXIST {
		t.Errorf("second master: %v", got)
	}

	msgs := c.dumpPayloads(uapi.CmdGetDaemon, nil)
	if len(msgs) != 2 {
		t.Fatalf("%d daemons dumped", len(msgs))
	}
	m := decode(t, decode(t, msgs[0])[uapi.CmdAttrDaemon])
	if getU32(m[uapi.DaemonAttrState]) != uapi.StateMaster || getCString(m[uapi.DaemonAttrMcastIfn]) != "eth0" ||
		getU16(m[uapi.DaemonAttrSyncMaxLen]) != 1472 || getU16(m[uapi.DaemonAttrMcastPort]) != 8848 ||
		getU8(m[uapi.DaemonAttrMcastTTL]) != 1 || !bytes.Equal(m[uapi.DaemonAttrMcastGroup], []byte{224, 0, 0, 81}) {
		t.Errorf("master %v", m)
	}
	b := decode(t, decode(t, msgs[1])[uapi.CmdAttrDaemon])
	if getU32(b[uapi.DaemonAttrSyncID]) != 7 || getU16(b[uapi.DaemonAttrSyncMaxLen]) != 1024 ||
		getU16(b[uapi.DaemonAttrMcastPort]) != 9000 || getU8(b[uapi.DaemonAttrMcastTTL]) != 3 ||
		!bytes.Equal(b[uapi.DaemonAttrMcastGroup6], addr16("ff02::1:2")) {
		t.Errorf("backup %v", b)
	}
	if ds := k.Daemons(); len(ds) != 2 || ds[1].Group != netip.MustParseAddr("ff02::1:2") || ds[0].MaxLen != 1472 {
		t.Errorf("Daemons() = %+v", ds)
	}

	del := func(state uint32) unix.Errno {
		_, errno := c.do(uapi.CmdDelDaemon, join(func(ae *netlink.AttributeEncoder) {
			ae.Nested(uapi.CmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
				nae.Uint32(uapi.DaemonAttrState, state)
				return nil
			})
		}))
		return errno
	}
	if got := del(uapi.StateMaster); got != 0 {
		t.Errorf("stop master: %v", got)
	}
	if got := del(uapi.StateMaster); got != unix.ESRCH {
		t.Errorf("stop stopped master: %v", got)
	}
	if got := del(3); got != unix.EINVAL {
		t.Errorf("stop state 3: %v", got)
	}

	// The message size follows the interface MTU and the group's family.
	for _, tt := range []struct {
		state  uint32
		ifname string
		group6 bool
		want   uint16
	}{
		{uapi.StateMaster, "lo", false, 65507},
		{uapi.StateMaster, "eth0", true, 1452},
		{uapi.StateBackup, "eth0", false, 1472},
	} {
		k := New(Interface("tiny", 500))
		c := newConn(t, k)
		var extra []func(*netlink.AttributeEncoder)
		if tt.group6 {
			extra = append(extra, func(ae *netlink.AttributeEncoder) { ae.Bytes(uapi.DaemonAttrMcastGroup6, addr16("ff02::5")) })
		}
		c.mustDo(uapi.CmdNewDaemon, join(daemonAttr(tt.state, tt.ifname, 1, extra...)))
		if got := k.Daemons()[0].MaxLen; got != tt.want {
			t.Errorf("%s on %s: maxlen %d, want %d", ipvs.DaemonState(tt.state), tt.ifname, got, tt.want)
		}
	}

	// Before 4.3 only state, interface and sync ID exist.
	old := New(WithoutDaemonOptions())
	oc := newConn(t, old)
	oc.mustDo(uapi.CmdNewDaemon, join(daemonAttr(uapi.StateMaster, "eth0", 1, func(ae *netlink.AttributeEncoder) {
		ae.Uint16(uapi.DaemonAttrMcastPort, 9000)
	})))
	if got := attrTypes(t, decode(t, oc.dumpPayloads(uapi.CmdGetDaemon, nil)[0])[uapi.CmdAttrDaemon]); len(got) != 3 {
		t.Errorf("pre-4.3 daemon attributes %v", got)
	}
	if old.Daemons()[0].Port != 8848 {
		t.Error("pre-4.3 kernel used the port attribute")
	}
}

func TestConfig(t *testing.T) {
	k := New()
	c := newConn(t, k)
	get := func() [3]uint32 {
		r := c.mustDo(uapi.CmdGetConfig, nil)
		if r[0].Data[0] != uapi.CmdSetConfig {
			t.Errorf("reply command %d", r[0].Data[0])
		}
		a := decode(t, r[0].Data[4:])
		return [3]uint32{getU32(a[uapi.CmdAttrTimeoutTCP]), getU32(a[uapi.CmdAttrTimeoutTCPFin]), getU32(a[uapi.CmdAttrTimeoutUDP])}
	}
	if got := get(); got != [3]uint32{900, 120, 300} {
		t.Errorf("defaults %v", got)
	}
	c.mustDo(uapi.CmdSetConfig, attrs(func(ae *netlink.AttributeEncoder) {
		ae.Uint32(uapi.CmdAttrTimeoutTCP, 1000)
		ae.Uint32(uapi.CmdAttrTimeoutUDP, 0)
	}))
	if got := get(); got != [3]uint32{1000, 120, 300} {
		t.Errorf("after SET_CONFIG %v", got)
	}
	for _, v := range []uint32{8589935, 1 << 31} {
		if _, errno := c.do(uapi.CmdSetConfig, attrs(func(ae *netlink.AttributeEncoder) { ae.Uint32(uapi.CmdAttrTimeoutTCPFin, v) })); errno != unix.EINVAL {
			t.Errorf("timeout %d: %v, want EINVAL", v, errno)
		}
	}
	c.mustDo(uapi.CmdSetConfig, attrs(func(ae *netlink.AttributeEncoder) { ae.Uint32(uapi.CmdAttrTimeoutTCPFin, 8589934) }))
	if got := k.Timeouts(); got.TCPFin != 8589934*time.Second || got.TCP != 1000*time.Second {
		t.Errorf("Timeouts() = %+v", got)
	}
}

func TestFlushAndZeroAll(t *testing.T) {
	k := New()
	c := newConn(t, k)
	c.addService("10.0.0.1", 80)
	c.addService("10.0.0.2", 80)
	k.SetStats(svcKey("10.0.0.1", 80), statsFixture())
	k.SetStats(svcKey("10.0.0.2", 80), statsFixture())
	c.mustDo(uapi.CmdZero, nil)
	for _, e := range k.Services() {
		if e.Service.Stats != (ipvs.Stats{}) {
			t.Errorf("stats after ZERO: %+v", e.Service.Stats)
		}
	}
	c.mustDo(uapi.CmdFlush, nil)
	if n := len(k.Services()); n != 0 {
		t.Errorf("%d services after FLUSH", n)
	}
	if err := k.SetStats(svcKey("10.0.0.1", 80), ipvs.Stats{}); err == nil {
		t.Error("SetStats on a flushed service succeeded")
	}
}

func TestDumpOrder(t *testing.T) {
	k := New()
	c := newConn(t, k)
	// 10.0.0.1:80 and 10.0.0.1:337 (0x151: its two port bytes XOR to
	// 0x50 = 80) share a bucket.
	c.addService("10.0.0.1", 80)
	c.addService("10.0.0.2", 80)
	c.addService("10.0.0.1", 337)
	c.mustDo(uapi.CmdNewService, join(svcAttr(fwmID(unix.AF_INET, 1), svcConf("rr", 0, 0, 0, mask32))))
	c.mustDo(uapi.CmdNewService, join(svcAttr(fwmID(unix.AF_INET6, 1), svcConf("rr", 0, 0, 0, binary.NativeEndian.AppendUint32(nil, 128)))))

	var got []string
	for _, m := range c.dumpPayloads(uapi.CmdGetService, nil) {
		s := decode(t, decode(t, m)[uapi.CmdAttrService])
		if mark, ok := s[uapi.SvcAttrFwmark]; ok {
			got = append(got, "fwm"+string(rune('0'+getU32(mark)))+"/"+string(rune('0'+getU16(s[uapi.SvcAttrAF]))))
			continue
		}
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte(s[uapi.SvcAttrAddr][:4])), getBE16(s[uapi.SvcAttrPort]))
		got = append(got, a.String())
	}
	// Buckets: 10.0.0.1:80 and :337 hash to 6^1^80 = 87; 10.0.0.2:80 to 6^2^80 = 84.
	want := []string{"10.0.0.2:80", "10.0.0.1:337", "10.0.0.1:80", "fwm1/" + string(rune('0'+10)), "fwm1/" + string(rune('0'+2))}
	if !slices.Equal(got, want) {
		t.Errorf("dump order %v, want %v", got, want)
	}
	var fromAPI []string
	for _, e := range k.Services() {
		fromAPI = append(fromAPI, e.Service.Key().String())
	}
	if wantAPI := []string{"TCP 10.0.0.2:80", "TCP 10.0.0.1:337", "TCP 10.0.0.1:80", "FWM 1 IPv6", "FWM 1"}; !slices.Equal(fromAPI, wantAPI) {
		t.Errorf("Services() order %v, want %v", fromAPI, wantAPI)
	}

	// A hash seed moves the buckets, as the namespace term does.
	k2 := New(HashSeed(3))
	c2 := newConn(t, k2)
	c2.addService("10.0.0.1", 80) // bucket 87^3 = 84
	c2.addService("10.0.0.2", 80) // bucket 84^3 = 87
	if got := k2.Services(); got[0].Service.Addr != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("seeded order %v first", got[0].Service.Addr)
	}
}
