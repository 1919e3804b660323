package ipvstest

import (
	"encoding/binary"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// FuzzRequest feeds arbitrary payloads to every IPVS command, as a do and
// as a dump, and arbitrary datagrams to the kernel, against a kernel with
// some state. The kernel must never panic and must end every dump.
func FuzzRequest(f *testing.F) {
	svc := svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80))
	f.Add(uint8(uapi.CmdNewService), uint16(0), join(svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.9", 80), svcConf("rr", 1, 1, 5, mask32))), false)
	f.Add(uint8(uapi.CmdSetService), uint16(0), join(svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80), svcConf("sh", 8, 8, 5, mask32))), false)
	f.Add(uint8(uapi.CmdNewDest), uint16(0), join(svc, destEntry("10.0.1.2", 80, uapi.FwdTunnel, 1, 0, 0, tunnel(1, 0, 0))), false)
	f.Add(uint8(uapi.CmdGetDest), uint16(netlink.Dump), join(svc), false)
	f.Add(uint8(uapi.CmdNewDaemon), uint16(0), join(daemonAttr(uapi.StateMaster, "eth0", 1)), false)
	f.Add(uint8(uapi.CmdSetConfig), uint16(0), attrs(func(ae *netlink.AttributeEncoder) { ae.Uint32(uapi.CmdAttrTimeoutUDP, 7) }), false)
	f.Add(uint8(0), uint16(0), []byte{20, 0, 0, 0, FamilyID, 0, 5, 3, 1, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0}, true)

	f.Fuzz(func(t *testing.T, cmd uint8, flags uint16, payload []byte, raw bool) {
		k := New(DumpBatchBytes(600))
		c := newConn(t, k)
		c.addService("10.0.0.1", 80)
		c.mustDo(uapi.CmdNewDest, join(svc, destEntry("10.0.1.1", 80, uapi.FwdMasq, 1, 0, 0)))

		if raw {
			k.receive(c.s, payload)
		} else {
			m := c.msg(cmd, netlink.HeaderFlags(flags), payload)
			m.Header.Flags |= netlink.Request
			b, err := m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			binary.NativeEndian.PutUint32(b, uint32(nlmsgHdrLen+genlHdrLen+len(payload)))
			k.receive(c.s, b)
		}
		// Drain everything, dumps included.
		for range 10000 {
			c.s.mu.Lock()
			n := len(c.s.queue)
			err := c.s.sockErr
			c.s.mu.Unlock()
			if n == 0 && err == 0 {
				break
			}
			c.s.Receive()
		}
		c.s.mu.Lock()
		running := c.s.dump != nil
		c.s.mu.Unlock()
		if running {
			t.Fatal("a dump never ended")
		}
		k.Services()
		k.Daemons()
	})
}
