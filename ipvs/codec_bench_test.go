package ipvs

import (
	"net/netip"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
)

// The SERVICE and DEST nests of dump replies as a 6.x kernel sends them
// (both stats nests, the 64-bit one padded), decoded once per object when
// listing the table, and the NEW_DEST request encoded once per -a line.

func BenchmarkDecodeService(b *testing.B) {
	st := [10]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	data := nest(
		netlink.Attribute{Type: uapi.SvcAttrAF, Data: le16(2)},
		netlink.Attribute{Type: uapi.SvcAttrProtocol, Data: le16(6)},
		netlink.Attribute{Type: uapi.SvcAttrAddr, Data: append([]byte{10, 100, 0, 1}, make([]byte, 12)...)},
		netlink.Attribute{Type: uapi.SvcAttrPort, Data: []byte{0, 80}},
		netlink.Attribute{Type: uapi.SvcAttrSchedName, Data: []byte("wlc\x00")},
		netlink.Attribute{Type: uapi.SvcAttrFlags, Data: append(le32(0x1), le32(0xffffffff)...)},
		netlink.Attribute{Type: uapi.SvcAttrTimeout, Data: le32(300)},
		netlink.Attribute{Type: uapi.SvcAttrNetmask, Data: []byte{255, 255, 255, 255}},
		netlink.Attribute{Type: uapi.SvcAttrStats | netlink.Nested, Data: kernelStats32(st)},
		netlink.Attribute{Type: uapi.SvcAttrStats64 | netlink.Nested, Data: kernelStats64(st)},
	)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeService(data, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDestination(b *testing.B) {
	st := [10]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	data := nest(
		netlink.Attribute{Type: uapi.DestAttrAddr, Data: append([]byte{172, 16, 0, 2}, make([]byte, 12)...)},
		netlink.Attribute{Type: uapi.DestAttrPort, Data: []byte{0x1f, 0x90}},
		netlink.Attribute{Type: uapi.DestAttrFwdMethod, Data: le32(0)},
		netlink.Attribute{Type: uapi.DestAttrWeight, Data: le32(3)},
		netlink.Attribute{Type: uapi.DestAttrUThresh, Data: le32(0)},
		netlink.Attribute{Type: uapi.DestAttrLThresh, Data: le32(0)},
		netlink.Attribute{Type: uapi.DestAttrActiveConns, Data: le32(0)},
		netlink.Attribute{Type: uapi.DestAttrInactConns, Data: le32(0)},
		netlink.Attribute{Type: uapi.DestAttrPersistConns, Data: le32(0)},
		netlink.Attribute{Type: uapi.DestAttrStats | netlink.Nested, Data: kernelStats32(st)},
		netlink.Attribute{Type: uapi.DestAttrAddrFamily, Data: le16(2)},
		netlink.Attribute{Type: uapi.DestAttrStats64 | netlink.Nested, Data: kernelStats64(st)},
		netlink.Attribute{Type: uapi.DestAttrTunType, Data: []byte{0}},
		netlink.Attribute{Type: uapi.DestAttrTunPort, Data: []byte{0, 0}},
		netlink.Attribute{Type: uapi.DestAttrTunFlags, Data: le16(0)},
	)
	for _, o := range []struct {
		name string
		opt  ReadOption
	}{{"stats", 0}, {"SkipStats", SkipStats}} {
		b.Run(o.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeDestination(data, IPv4, o.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeNewDest validates and encodes one NEW_DEST request and
// frames it as a generic netlink message, as Apply does for each op.
func BenchmarkEncodeNewDest(b *testing.B) {
	op := CreateDestination(
		ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.100.0.1"), Port: 80},
		Destination{Addr: netip.MustParseAddr("172.16.0.2"), Port: 8080, ForwardMethod: Masquerade, Weight: 3})
	b.ReportAllocs()
	for b.Loop() {
		r, err := op.prepare(&attrEncoder{})
		if err != nil {
			b.Fatal(err)
		}
		if m := appendRequest(nil, 0x20, netlink.Request, 1, r); len(m) == 0 {
			b.Fatal("empty message")
		}
	}
}

// BenchmarkEncodeNewService is the same for NEW_SERVICE.
func BenchmarkEncodeNewService(b *testing.B) {
	op := CreateService(Service{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.100.0.1"), Port: 80,
		Scheduler: "wlc", Flags: FlagPersistent, Timeout: 300})
	b.ReportAllocs()
	for b.Loop() {
		r, err := op.prepare(&attrEncoder{})
		if err != nil {
			b.Fatal(err)
		}
		if m := appendRequest(nil, 0x20, netlink.Request, 1, r); len(m) == 0 {
			b.Fatal("empty message")
		}
	}
}
