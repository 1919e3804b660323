package main

// The kernel's floor for ipvsadm -R: what the requests of a restore cost
// the kernel, timed as a whole process like the tools are.
//
//	ipvsprof -op record -requests FILE   # the loaded table as NEW_SERVICE/NEW_DEST requests
//	ipvsprof -op replay -requests FILE   # send them, one acknowledgement per window
//
// record runs untimed: it dumps the table in the kernel (loaded by either
// tool from the rules file) and writes one framed netlink request per
// service and per destination, in the dump's order (each service before
// its destinations), keeping only the attributes a restore sends. replay,
// on a table without those services, reads the file, patches each header
// (family, flags, sequence) in place and sends the requests in windows of
// -window, each in one sendmsg with only its last request acknowledged,
// as ipvs.Client.Apply does; any error the kernel reports fails the run.
// The table replay leaves is the table record read, which the caller can
// check with ipvsadm -Sn.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// IPVS generic netlink commands and attributes (linux/ip_vs.h).
const (
	cmdNewService  = 1
	cmdGetService  = 4
	cmdNewDest     = 5
	cmdGetDest     = 8
	attrService    = 1
	attrDest       = 2
	svcAttrFlags   = 7
	svcAttrPEName  = 11
	destAttrAddrAF = 11
	destAttrStat64 = 12
	destAttrTunFlg = 15
	svcFlagHashed  = 2
)

// settable reports whether a dumped service (svc) or destination
// attribute is one a restore sends: identity and configuration, not
// counters, connection counts or stats.
func settable(svc bool, typ uint16) bool {
	if svc {
		// af, protocol, addr, port, fwmark, sched, flags, timeout,
		// netmask; pe_name.
		return typ >= 1 && typ <= 9 || typ == svcAttrPEName
	}
	// addr, port, fwd method, weight, upper and lower threshold; address
	// family, tunnel type, port and flags.
	return typ >= 1 && typ <= 6 || typ >= destAttrAddrAF && typ <= destAttrTunFlg && typ != destAttrStat64
}

// requestWriter frames requests with a zero family, flags and sequence,
// which replay fills in.
type requestWriter struct{ b []byte }

func (w *requestWriter) add(cmd uint8, attrs []byte) {
	w.b = binary.NativeEndian.AppendUint32(w.b, uint32(nlmsgHdrLen+genlHdrLen+len(attrs)))
	w.b = append(w.b, make([]byte, 12)...) // type, flags, seq, pid
	w.b = append(w.b, cmd, 1, 0, 0)
	w.b = append(w.b, attrs...)
}

// keep copies the settable attributes of a dumped nest.
func keep(svc bool, nest []byte) []byte {
	var out []byte
	attrs(nest, func(typ uint16, d []byte) {
		if !settable(svc, typ) {
			return
		}
		if svc && typ == svcAttrFlags && len(d) == 8 {
			f := binary.NativeEndian.Uint32(d) &^ svcFlagHashed
			d = binary.NativeEndian.AppendUint32(nil, f)
			d = append(d, 0xff, 0xff, 0xff, 0xff)
		}
		out = appendAttr(out, typ, d)
	})
	return out
}

// record writes the loaded table's requests to path.
func record(path string) (int, error) {
	s, family, err := openIPVS()
	if err != nil {
		return 0, err
	}
	defer unix.Close(s.fd)
	var svcs [][]byte
	if err := s.send(family, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, cmdGetService, 1, nil); err != nil {
		return 0, err
	}
	err = s.receive(true, func(a []byte) {
		attrs(a, func(typ uint16, nest []byte) {
			if typ == attrService {
				svcs = append(svcs, keep(true, nest))
			}
		})
	})
	if err != nil {
		return 0, err
	}
	var w requestWriter
	n := 0
	for _, svc := range svcs {
		w.add(cmdNewService, appendAttr(nil, attrService|unix.NLA_F_NESTED, svc))
		n++
		var key []byte
		attrs(svc, func(t uint16, d []byte) {
			if t >= 1 && t <= 5 {
				key = appendAttr(key, t, d)
			}
		})
		keyAttr := appendAttr(nil, attrService|unix.NLA_F_NESTED, key)
		if err := s.send(family, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, cmdGetDest, 1, keyAttr); err != nil {
			return 0, err
		}
		err := s.receive(true, func(a []byte) {
			attrs(a, func(typ uint16, nest []byte) {
				if typ == attrDest {
					w.add(cmdNewDest, appendAttr(keyAttr, attrDest|unix.NLA_F_NESTED, keep(false, nest)))
					n++
				}
			})
		})
		if err != nil {
			return 0, err
		}
	}
	return n, os.WriteFile(path, w.b, 0o644)
}

// replay sends the requests in path, window at a time.
func replay(path string, window int) (int, error) {
	reqs, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s, family, err := openIPVS()
	if err != nil {
		return 0, err
	}
	defer unix.Close(s.fd)
	n := 0
	for off := 0; off < len(reqs); {
		start, last := off, off
		for k := 0; k < window && off < len(reqs); k++ {
			l := int(binary.NativeEndian.Uint32(reqs[off:]))
			if l < nlmsgHdrLen || off+l > len(reqs) {
				return n, errors.New("bad request file")
			}
			s.seq++
			binary.NativeEndian.PutUint16(reqs[off+4:], family)
			binary.NativeEndian.PutUint16(reqs[off+6:], unix.NLM_F_REQUEST)
			binary.NativeEndian.PutUint32(reqs[off+8:], s.seq)
			last, off = off, off+align4(l)
			n++
		}
		binary.NativeEndian.PutUint16(reqs[last+6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
		if err := rawSend(s.fd, reqs[start:off]); err != nil {
			return n, err
		}
		if err := s.windowAck(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// windowAck reads answers until the acknowledgement of the window's last
// request (s.seq); an error for any request fails.
func (s *rawSock) windowAck() error {
	for {
		n, err := rawRecv(s.fd, s.buf)
		if err != nil {
			return err
		}
		for b := s.buf[:n]; len(b) >= nlmsgHdrLen+4; {
			l := int(binary.NativeEndian.Uint32(b))
			if l < nlmsgHdrLen+4 || l > len(b) || binary.NativeEndian.Uint16(b[4:]) != unix.NLMSG_ERROR {
				return errors.New("unexpected answer")
			}
			seq := binary.NativeEndian.Uint32(b[8:])
			if e := int32(binary.NativeEndian.Uint32(b[nlmsgHdrLen:])); e != 0 {
				return fmt.Errorf("request %d: %w", seq, unix.Errno(-e))
			}
			if seq == s.seq {
				return nil
			}
			b = b[min(align4(l), len(b)):]
		}
	}
}
