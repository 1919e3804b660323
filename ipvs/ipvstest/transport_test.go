package ipvstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// addServices creates n services 10.1.x.y:80.
func addServices(c *tconn, n int) {
	for i := range n {
		c.addService(fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), 80)
	}
}

// dumpedServices decodes the service keys of dump datagrams.
func dumpedServices(t *testing.T, dgs [][]netlink.Message) []string {
	var out []string
	for _, dg := range dgs {
		for _, m := range dg {
			if m.Header.Type != FamilyID {
				continue
			}
			s := decode(t, decode(t, m.Data[4:])[uapi.CmdAttrService])
			out = append(out, netip.AddrFrom4([4]byte(s[uapi.SvcAttrAddr][:4])).String())
		}
	}
	return out
}

func serviceAddrs(k *Kernel) []string {
	var out []string
	for _, e := range k.Services() {
		out = append(out, e.Service.Addr.String())
	}
	return out
}

func datagramLen(dg []netlink.Message) int {
	n := 0
	for _, m := range dg {
		n += align4(int(m.Header.Length))
	}
	return n
}

func TestDumpBatches(t *testing.T) {
	for _, tt := range []struct {
		name  string
		opts  []Option
		sizes func(i int) int // the batch size of datagram i
	}{
		{"32 KiB reader", nil, func(i int) int {
			if i == 0 {
				return nlmsgGoodSize // nothing read yet
			}
			return maxDumpAlloc
		}},
		{"peeking reader", []Option{ReaderBuffer(0)}, func(int) int { return nlmsgGoodSize }},
		{"fixed batches", []Option{DumpBatchBytes(1000)}, func(int) int { return 1000 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := New(tt.opts...)
			addServices(newConn(t, k), 200)
			// A fresh socket, which has read nothing yet.
			c := newConn(t, k)
			dgs := c.dump(uapi.CmdGetService, nil)
			const msgLen = 320 // a service message with STATS and STATS64
			for i, dg := range dgs[:len(dgs)-1] {
				n, limit := datagramLen(dg), tt.sizes(i)
				if n > limit || (i < len(dgs)-2 && n <= limit-msgLen) {
					t.Errorf("datagram %d: %d bytes, batch size %d", i, n, limit)
				}
				for _, m := range dg {
					if m.Header.Flags != netlink.Multi || m.Header.Type != FamilyID {
						t.Fatalf("datagram %d: header %+v", i, m.Header)
					}
				}
			}
			last := dgs[len(dgs)-1]
			if len(last) != 1 || last[0].Header.Type != netlink.Done || last[0].Header.Flags != netlink.Multi ||
				len(last[0].Data) != 4 || errnoOf(t, last[0]) != 0 {
				t.Errorf("last datagram %+v, want NLMSG_DONE alone", last)
			}
			if got, want := dumpedServices(t, dgs), serviceAddrs(k); !slices.Equal(got, want) {
				t.Errorf("dumped %d services, want %d in kernel order", len(got), len(want))
			}
		})
	}

	t.Run("DONE shares the last batch when it has room", func(t *testing.T) {
		// A batch ends with NLMSG_DONE only when the dump function
		// ran out on a previous call: a dump of nothing.
		c := newConn(t, New())
		dgs := c.dump(uapi.CmdGetService, nil)
		if len(dgs) != 1 || len(dgs[0]) != 1 {
			t.Errorf("empty dump: %+v", dgs)
		}
	})
}

func TestDumpRewalksTable(t *testing.T) {
	k := New(DumpBatchBytes(1000)) // three services a batch
	c := newConn(t, k)
	addServices(c, 9)
	before := serviceAddrs(k)

	c.send(c.msg(uapi.CmdGetService, netlink.Dump, nil))
	first := c.recv() // the second batch is made as this is read
	if len(first) != 3 {
		t.Fatalf("first batch of %d", len(first))
	}
	other := newConn(t, k)
	other.mustDo(uapi.CmdDelService, join(svcAttr(svcID(unix.IPPROTO_TCP, before[0], 80))))
	dgs := [][]netlink.Message{first}
	for {
		dg := c.recv()
		dgs = append(dgs, dg)
		if dg[len(dg)-1].Header.Type == netlink.Done {
			break
		}
	}
	// The third batch skips six services of the shrunken table, so the
	// one that moved into the sixth place is never sent.
	want := slices.Delete(slices.Clone(before), 6, 7)
	if got := dumpedServices(t, dgs); !slices.Equal(got, want) {
		t.Errorf("dumped %v, want %v", got, want)
	}
}

func TestDumpBusy(t *testing.T) {
	k := New(DumpBatchBytes(1000))
	c := newConn(t, k)
	addServices(c, 9)
	c.send(c.msg(uapi.CmdGetService, netlink.Dump, nil))
	second := c.msg(uapi.CmdGetDaemon, netlink.Dump, nil)
	c.send(second)
	if dg := c.recv(); dg[0].Header.Type != FamilyID {
		t.Fatalf("first datagram %+v", dg[0].Header)
	}
	busy := c.recv()
	if busy[0].Header.Type != netlink.Error || busy[0].Header.Sequence != second.Header.Sequence || errnoOf(t, busy[0]) != unix.EBUSY {
		t.Fatalf("second datagram %+v, want EBUSY", busy[0].Header)
	}
	for dg := c.recv(); dg[len(dg)-1].Header.Type != netlink.Done; dg = c.recv() {
	}
	// Once the dump is over, another can start.
	c.dump(uapi.CmdGetDaemon, nil)
}

func TestBatchedRequests(t *testing.T) {
	k := New()
	c := newConn(t, k)
	var ms []netlink.Message
	for i := range 3 {
		ms = append(ms, c.msg(uapi.CmdNewService, netlink.Acknowledge,
			join(svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", uint16(80+i%2)), svcConf("rr", 0, 0, 0, mask32)))))
	}
	ms = append(ms, c.msg(uapi.CmdGetInfo, 0, nil))
	c.send(ms...)
	// One datagram per reply; the failed third request does not stop
	// the fourth.
	want := []unix.Errno{0, 0, unix.EEXIST}
	for i, w := range want {
		dg := c.recv()
		if len(dg) != 1 || dg[0].Header.Sequence != ms[i].Header.Sequence || errnoOf(t, dg[0]) != w {
			t.Errorf("reply %d: %+v", i, dg)
		}
	}
	if dg := c.recv(); dg[0].Header.Type != FamilyID || dg[0].Header.Sequence != ms[3].Header.Sequence {
		t.Errorf("GET_INFO reply %+v", dg[0].Header)
	}
	c.expectNothing()
}

func TestReceiveBufferOverrun(t *testing.T) {
	for _, noENOBUFS := range []bool{false, true} {
		k := New(ReceiveBuffer(4000))
		c := newConn(t, k)
		if noENOBUFS {
			c.s.SetOption(netlink.NoENOBUFS, true)
		}
		var ms []netlink.Message
		for i := range 20 {
			ms = append(ms, c.msg(uapi.CmdNewService, netlink.Acknowledge,
				join(svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", uint16(i+1)), svcConf("rr", 0, 0, 0, mask32)))))
		}
		c.send(ms...)
		if n := len(k.Services()); n != 20 {
			t.Fatalf("%d services, want all 20 despite the lost acknowledgements", n)
		}
		c.s.SetReadDeadline(time.Now().Add(time.Second))
		_, err := c.s.Receive()
		if !noENOBUFS {
			if !errors.Is(err, unix.ENOBUFS) {
				t.Fatalf("first receive: %v, want ENOBUFS", err)
			}
		} else if err != nil {
			t.Fatalf("first receive with NoENOBUFS: %v", err)
		}
		acks := 0
		if noENOBUFS {
			acks++
		}
		for {
			c.s.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			dg, err := c.s.Receive()
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("receive: %v", err)
				}
				break
			}
			if errnoOf(t, dg[0]) != 0 {
				t.Errorf("ack %d: %v", acks, errnoOf(t, dg[0]))
			}
			acks++
		}
		// The buffer takes acknowledgements while it holds at most
		// its size: 6 of 768 bytes each fit under 4000.
		if acks != 6 {
			t.Errorf("NoENOBUFS %v: %d acknowledgements, want 6", noENOBUFS, acks)
		}
		// The queue drained, so replies flow again.
		c.mustDo(uapi.CmdFlush, nil)
	}

	t.Run("through netlink.Conn", func(t *testing.T) {
		k := New(ReceiveBuffer(3000))
		nc, _ := k.Dial()
		defer nc.Close()
		var ms []netlink.Message
		for range 10 {
			ms = append(ms, netlink.Message{Header: netlink.Header{Type: FamilyID, Flags: netlink.Request | netlink.Acknowledge}, Data: []byte{uapi.CmdFlush, 1, 0, 0}})
		}
		if _, err := nc.SendMessages(ms); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Receive(); !errors.Is(err, unix.ENOBUFS) {
			t.Errorf("Receive = %v, want ENOBUFS", err)
		}
		if _, err := nc.Receive(); err != nil {
			t.Errorf("Receive after ENOBUFS = %v", err)
		}
	})
}

func TestDeadlines(t *testing.T) {
	k := New()
	k.InjectFault(func(r Request) Fault {
		if r.Command == uapi.CmdGetInfo {
			return Stall()
		}
		return Fault{}
	})
	nc, _ := k.Dial()
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := nc.Execute(netlink.Message{Header: netlink.Header{Type: FamilyID, Flags: netlink.Request}, Data: []byte{uapi.CmdGetInfo, 1, 0, 0}})
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Execute = %v, want a timeout", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > time.Second {
		t.Errorf("timed out after %v", d)
	}

	// An expired deadline fails reads even with data waiting.
	nc.SetReadDeadline(time.Time{})
	nc.Send(netlink.Message{Header: netlink.Header{Type: FamilyID, Flags: netlink.Request | netlink.Acknowledge}, Data: []byte{uapi.CmdFlush, 1, 0, 0}})
	nc.SetReadDeadline(time.Unix(1, 0))
	if _, err := nc.Receive(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Receive with an expired deadline = %v", err)
	}
	nc.SetReadDeadline(time.Time{})
	if _, err := nc.Receive(); err != nil {
		t.Errorf("Receive = %v", err)
	}
	nc.SetWriteDeadline(time.Unix(1, 0))
	if _, err := nc.Send(netlink.Message{Header: netlink.Header{Type: FamilyID, Flags: netlink.Request}, Data: []byte{uapi.CmdFlush, 1, 0, 0}}); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Send with an expired deadline = %v", err)
	}
	nc.SetWriteDeadline(time.Time{})

	// A deadline set from another goroutine wakes a blocked receive, and
	// so does Close.
	for _, wake := range []func(){
		func() { nc.SetDeadline(time.Unix(1, 0)) },
		func() { nc.Close() },
	} {
		done := make(chan error)
		go func() {
			_, err := nc.Receive()
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		wake()
		select {
		case err := <-done:
			if err == nil {
				t.Error("Receive returned no error")
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Receive still blocked")
		}
		nc.SetDeadline(time.Time{})
	}
}

func TestFaults(t *testing.T) {
	create := join(svcAttr(svcID(unix.IPPROTO_TCP, "10.0.0.1", 80), svcConf("rr", 0, 0, 0, mask32)))
	only := func(cmd uint8, f Fault) func(Request) Fault {
		return func(r Request) Fault {
			if r.IsIPVS() && r.Command == cmd {
				return f
			}
			return Fault{}
		}
	}

	t.Run("fail", func(t *testing.T) {
		k := New()
		k.InjectFault(only(uapi.CmdNewService, Fail(unix.EBUSY)))
		c := newConn(t, k)
		if _, errno := c.do(uapi.CmdNewService, create); errno != unix.EBUSY {
			t.Errorf("errno %v", errno)
		}
		if len(k.Services()) != 0 {
			t.Error("a failed request changed the state")
		}
	})
	t.Run("stall", func(t *testing.T) {
		k := New()
		k.InjectFault(only(uapi.CmdNewService, Stall()))
		c := newConn(t, k)
		c.send(c.msg(uapi.CmdNewService, netlink.Acknowledge, create))
		c.expectNothing()
		if len(k.Services()) != 0 {
			t.Error("a stalled request changed the state")
		}
	})
	t.Run("drop", func(t *testing.T) {
		k := New()
		k.InjectFault(func(r Request) Fault {
			if r.Index < 2 {
				return DropReply()
			}
			return Fault{}
		})
		c := newConn(t, k)
		c.send(c.msg(uapi.CmdNewService, netlink.Acknowledge, create))
		c.send(c.msg(uapi.CmdGetService, netlink.Dump, nil))
		c.expectNothing()
		if len(k.Services()) != 1 {
			t.Error("a request with a dropped reply was not carried out")
		}
		if got := c.dumpPayloads(uapi.CmdGetService, nil); len(got) != 1 {
			t.Errorf("dump after a dropped dump: %d services", len(got))
		}
	})
	t.Run("truncate", func(t *testing.T) {
		k := New()
		k.InjectFault(func(r Request) Fault { return TruncateReply() })
		c := newConn(t, k)
		c.send(c.msg(uapi.CmdGetInfo, netlink.Acknowledge, nil))
		info := c.recv()
		if _, err := netlink.UnmarshalAttributes(info[0].Data[4:]); err == nil {
			t.Errorf("truncated reply decodes: %x", info[0].Data)
		}
		if ack := c.recv(); errnoOf(t, ack[0]) != 0 {
			t.Error("acknowledgement damaged too")
		}
		nc, _ := k.Dial()
		defer nc.Close()
		if _, err := nc.Execute(netlink.Message{Header: netlink.Header{Type: FamilyID, Flags: netlink.Request | netlink.Acknowledge}, Data: []byte{uapi.CmdFlush, 1, 0, 0}}); err == nil {
			t.Error("truncated acknowledgement accepted")
		}
		c.send(c.msg(uapi.CmdGetService, netlink.Dump, nil))
		if dg := c.recv(); len(dg) != 1 || len(dg[0].Data) != 2 {
			t.Errorf("truncated dump end %+v", dg)
		}
	})
	t.Run("wrong sequence", func(t *testing.T) {
		k := New(DumpBatchBytes(1000))
		c := newConn(t, k)
		addServices(c, 5)
		k.InjectFault(func(r Request) Fault { return WrongSequence() })
		nc, _ := k.Dial()
		defer nc.Close()
		if _, err := nc.Execute(netlink.Message{Header: netlink.Header{Type: FamilyID, Flags: netlink.Request | netlink.Acknowledge}, Data: []byte{uapi.CmdFlush - 1, 1, 0, 0}}); err == nil {
			t.Error("reply with a wrong sequence number accepted")
		}
		m := c.msg(uapi.CmdGetService, netlink.Dump, nil)
		c.send(m)
		for {
			dg := c.recv()
			for _, r := range dg {
				if r.Header.Sequence != m.Header.Sequence+1 {
					t.Fatalf("dump message with sequence %d", r.Header.Sequence)
				}
			}
			if dg[len(dg)-1].Header.Type == netlink.Done {
				break
			}
		}
	})
	t.Run("delay", func(t *testing.T) {
		k := New()
		k.InjectFault(only(uapi.CmdGetInfo, DelayReply(100*time.Millisecond)))
		c := newConn(t, k)
		c.send(c.msg(uapi.CmdGetInfo, 0, nil))
		c.expectNothing()
		if dg := c.recv(); dg[0].Header.Type != FamilyID {
			t.Errorf("delayed reply %+v", dg[0].Header)
		}
	})
	t.Run("requests", func(t *testing.T) {
		k := New()
		var mu sync.Mutex
		var seen []Request
		k.InjectFault(func(r Request) Fault {
			mu.Lock()
			seen = append(seen, r)
			mu.Unlock()
			return Fault{}
		})
		c := newConn(t, k)
		c.mustDo(uapi.CmdNewService, create)
		c.dump(uapi.CmdGetService, nil)
		if len(seen) != 2 || k.Requests() != 2 {
			t.Fatalf("saw %d requests", len(seen))
		}
		r := seen[0]
		if r.Index != 0 || !r.IsIPVS() || r.Command != uapi.CmdNewService || r.IsDump() || r.IsRead() ||
			r.Port != c.s.port || r.Sequence == 0 || len(r.Attributes) != 1 || r.Attributes[0].Type&0x3fff != uapi.CmdAttrService {
			t.Errorf("first request %+v", r)
		}
		if r := seen[1]; r.Index != 1 || !r.IsDump() || !r.IsRead() {
			t.Errorf("second request %+v", r)
		}
	})
}

func TestConcurrentClients(t *testing.T) {
	k := New()
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := range 20 {
				svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, byte(g), 0, byte(i + 1)}), Port: 80, Scheduler: "wlc"}
				if err := c.CreateService(ctx, svc); err != nil {
					t.Error(err)
					return
				}
				d := ipvs.Destination{Addr: netip.AddrFrom4([4]byte{10, 100, byte(g), byte(i + 1)}), Port: 80, Weight: 1, ForwardMethod: ipvs.Masquerade}
				if err := c.CreateDestination(ctx, svc.Key(), d); err != nil {
					t.Error(err)
					return
				}
				if _, err := c.Services(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := len(k.Services()); n != 160 {
		t.Errorf("%d services, want 160", n)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := ipvs.New(&ipvs.Config{Dial: New(Unavailable()).Dial}); !errors.Is(err, ipvs.ErrUnavailable) {
		t.Errorf("unavailable: %v", err)
	}
	if _, err := ipvs.New(&ipvs.Config{Dial: New(PermissionDenied()).Dial}); !errors.Is(err, ipvs.ErrPermission) {
		t.Errorf("permission denied: %v", err)
	}
	k := New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53, Scheduler: "rr", Netmask: ipvs.IPv6Prefix(64), Flags: ipvs.FlagPersistent, Timeout: 60}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateService(ctx, svc); !errors.Is(err, ipvs.ErrServiceExists) || !errors.Is(err, unix.EEXIST) {
		t.Errorf("duplicate: %v", err)
	}
	got, err := c.Service(ctx, svc.Key())
	if err != nil {
		t.Fatal(err)
	}
	if got.Key() != svc.Key() || got.Netmask != svc.Netmask || got.Flags != svc.Flags || got.Timeout != 60 || got.Scheduler != "rr" {
		t.Errorf("read back %+v", got)
	}
	if err := c.DeleteService(ctx, ipvs.ServiceKey{Family: ipvs.IPv4, FWMark: 9}); !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("delete missing: %v", err)
	}
}
