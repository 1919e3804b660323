package main

// rawList is the kernel's floor for listing (-op rawlist): the same
// conversation as Client.Snapshot (one service dump, then one destination
// dump per service), on blocking netlink sockets with plain system calls,
// reused buffers and no decoding beyond what the requests need. The gap
// between it and -op snapshot, or a whole goipvsadm -Sn, is what the
// client adds over the kernel's own cost.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	nlmsgHdrLen = 16
	genlHdrLen  = 4
)

type rawSock struct {
	fd  int
	seq uint32
	buf []byte
	req []byte
}

func newRawSock() (*rawSock, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	if epollFD >= 0 {
		// As Go's poller registers a socket it waits on.
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
		if err := unix.EpollCtl(epollFD, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	return &rawSock{fd: fd, buf: make([]byte, 64<<10)}, nil
}

// epollFD, when not negative, is an epoll instance the raw sockets are
// registered with (ipvsprof -epoll): what a socket of Go's poller costs
// the kernel beside one that is not.
var epollFD = -1

// openIPVS opens a raw socket and looks up the IPVS family on it.
func openIPVS() (*rawSock, uint16, error) {
	s, err := newRawSock()
	if err != nil {
		return nil, 0, err
	}
	family, err := s.family()
	if err != nil {
		unix.Close(s.fd)
		return nil, 0, err
	}
	return s, family, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// appendAttr appends one attribute.
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// send sends one generic netlink request with attrs.
func (s *rawSock) send(family uint16, flags uint16, cmd, version uint8, attrs []byte) error {
	s.seq++
	b := s.req[:0]
	b = binary.NativeEndian.AppendUint32(b, uint32(nlmsgHdrLen+genlHdrLen+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, family)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, s.seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, cmd, version, 0, 0)
	b = append(b, attrs...)
	s.req = b
	return rawSend(s.fd, b)
}

// rawSend and rawRecv are sendto and recvfrom as raw system calls, which
// the Go scheduler does not see: a blocking system call that takes a while
// (they do, under emulation) makes the runtime hand its P to another
// thread, context switches the kernel's cost should not include. The
// kernel answers IPVS requests inside sendmsg, so the answers are there
// when recvfrom is called. The socket is unconnected: without an address,
// netlink sends to the kernel.
func rawSend(fd int, b []byte) error {
	_, err := rawCall(unix.SYS_SENDTO, fd, b)
	return err
}

func rawRecv(fd int, b []byte) (int, error) { return rawCall(unix.SYS_RECVFROM, fd, b) }

func rawCall(trap uintptr, fd int, b []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
		default:
			return 0, e
		}
	}
}

// receive reads datagrams until the answer to the last request is complete
// (NLMSG_DONE for a dump, the first message or error otherwise) and calls
// each for every message's attributes.
func (s *rawSock) receive(dump bool, each func(attrs []byte)) error {
	for {
		n, err := rawRecv(s.fd, s.buf)
		if err != nil {
			return err
		}
		b := s.buf[:n]
		for len(b) >= nlmsgHdrLen {
			l := int(binary.NativeEndian.Uint32(b))
			typ := binary.NativeEndian.Uint16(b[4:])
			if l < nlmsgHdrLen || l > len(b) {
				return errors.New("bad netlink message length")
			}
			if binary.NativeEndian.Uint32(b[8:]) != s.seq {
				return errors.New("reply to another request")
			}
			switch typ {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if e := int32(binary.NativeEndian.Uint32(b[nlmsgHdrLen:])); e != 0 {
					return unix.Errno(-e)
				}
				return nil
			default:
				each(b[nlmsgHdrLen+genlHdrLen : l])
			}
			b = b[min(align4(l), len(b)):]
		}
		if !dump {
			return nil
		}
	}
}

// attrs calls fn for each attribute in b.
func attrs(b []byte, fn func(typ uint16, data []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&^(1<<15|1<<14), b[4:l])
		b = b[min(align4(l), len(b)):]
	}
}

// family resolves the IPVS family: CTRL_CMD_GETFAMILY (3) by
// CTRL_ATTR_FAMILY_NAME (2).
func (s *rawSock) family() (uint16, error) {
	var family uint16
	if err := s.send(unix.GENL_ID_CTRL, unix.NLM_F_REQUEST, unix.CTRL_CMD_GETFAMILY, 1,
		appendAttr(nil, unix.CTRL_ATTR_FAMILY_NAME, []byte("IPVS\x00"))); err != nil {
		return 0, err
	}
	err := s.receive(false, func(a []byte) {
		attrs(a, func(typ uint16, data []byte) {
			if typ == unix.CTRL_ATTR_FAMILY_ID && len(data) >= 2 {
				family = binary.NativeEndian.Uint16(data)
			}
		})
	})
	if err != nil || family == 0 {
		return 0, fmt.Errorf("IPVS family: %v", err)
	}
	return family, nil
}

// serviceKeys dumps the services and returns the identity attributes of
// each, ready to send.
func (s *rawSock) serviceKeys(family uint16) ([][]byte, error) {
	if err := s.send(family, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, 4, 1, nil); err != nil {
		return nil, err
	}
	var keys [][]byte
	err := s.receive(true, func(a []byte) {
		attrs(a, func(typ uint16, svc []byte) {
			if typ != 1 { // IPVS_CMD_ATTR_SERVICE
				return
			}
			var key []byte
			attrs(svc, func(t uint16, d []byte) {
				if t >= 1 && t <= 5 { // af, protocol, addr, port, fwmark
					key = appendAttr(key, t, d)
				}
			})
			keys = append(keys, appendAttr(nil, 1|1<<15, key))
		})
	})
	return keys, err
}

// rawList lists every service and its destinations as Client.Snapshot
// does: the service dump on one socket with large reads (each batch of a
// service dump walks the table from its start), the destination dumps on
// a second socket with page-sized reads (the kernel sizes its dump
// buffers from the largest read a socket has seen). With sorted, the
// destinations are dumped in the order of the services' encoded keys (for
// IPv4 TCP services: address, then port, as ipvsadm sorts them) rather
// than in the service dump's order, which is the kernel's hash-table
// order. It returns the number of services and destinations.
func rawList(sorted bool) (int, int, error) {
	s, family, err := openIPVS()
	if err != nil {
		return 0, 0, err
	}
	defer unix.Close(s.fd)
	keys, err := s.serviceKeys(family)
	if err != nil {
		return 0, 0, err
	}
	ds, err := newRawSock()
	if err != nil {
		return 0, 0, err
	}
	defer unix.Close(ds.fd)
	ds.buf = make([]byte, min(os.Getpagesize(), 8192))
	if sorted {
		slices.SortFunc(keys, bytes.Compare)
	}
	dests := 0
	for _, k := range keys {
		if err := ds.send(family, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, cmdGetDest, 1, k); err != nil {
			return 0, 0, err
		}
		if err := ds.receive(true, func([]byte) { dests++ }); err != nil {
			return 0, 0, err
		}
	}
	return len(keys), dests, nil
}
