package ipvstest

import (
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"syscall"
)

type dumpKind uint8

const (
	dumpFamilies dumpKind = iota
	dumpServices
	dumpDests
	dumpDaemons
)

// dumpState is a running dump (the kernel's netlink_callback).
type dumpState struct {
	kind     dumpKind
	seq      uint32
	request  []byte // the request message, re-read by every batch
	args     [2]int // cb->args
	finished bool   // the dump function has returned 0
	fault    Fault
}

// startDump is netlink_dump_start: one dump per socket at a time; the
// first batch is made at once.
func (k *Kernel) startDump(s *socket, h header, msg []byte, f Fault) ([]reply, syscall.Errno, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dump != nil {
		return nil, syscall.EBUSY, false
	}
	d := &dumpState{seq: h.seq, request: append([]byte(nil), msg...), fault: f}
	switch {
	case h.typ == ctrlFamilyID:
		d.kind = dumpFamilies
	case msg[nlmsgHdrLen] == uapi.CmdGetService:
		d.kind = dumpServices
	case msg[nlmsgHdrLen] == uapi.CmdGetDest:
		d.kind = dumpDests
	default:
		d.kind = dumpDaemons
	}
	if f.kind == faultDrop {
		// Everything the dump would send is lost, so it is not run.
		return nil, 0, true
	}
	s.dump = d
	b, alloc, errno := k.dumpBatchLocked(s)
	if errno != 0 {
		// The dump stays registered and goes on when the reader
		// drains the queue, as in the kernel.
		return nil, errno, false
	}
	return []reply{{b: b, alloc: alloc, dump: true}}, 0, true
}

// continueDump is the dump step netlink_recvmsg takes after a read while
// the receive queue holds at most half of the buffer.
func (k *Kernel) continueDump(s *socket) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dump == nil || s.closed || s.rmem > s.rcvbuf/2 {
		return
	}
	d := s.dump
	b, alloc, errno := k.dumpBatchLocked(s)
	if errno != 0 {
		s.sockErr = errno
		s.broadcastLocked()
		return
	}
	if d.fault.kind == faultWrongSeq {
		b = rewriteSeq(b, d.seq+1)
	}
	s.queueReplyLocked(reply{b: b, alloc: alloc, dump: true})
}

// dumpBatchLocked is netlink_dump: fill one datagram, and end the dump
// with NLMSG_DONE once the dump function has nothing more, in a datagram
// of its own unless the last one has room left. Called with k.mu and s.mu
// held.
func (k *Kernel) dumpBatchLocked(s *socket) ([]byte, int, syscall.Errno) {
	if s.rmem >= s.rcvbuf {
		return nil, 0, syscall.ENOBUFS
	}
	d := s.dump
	alloc := k.cfg.dumpBatch
	if alloc <= 0 {
		alloc = max(nlmsgGoodSize, s.maxRecvmsgLen)
	}
	var batch []byte
	if !d.finished {
		batch = k.fillDump(s, d, alloc)
		d.finished = len(batch) == 0
	}
	if !d.finished || alloc-len(batch) < nlmsgHdrLen+4 {
		return batch, alloc, 0
	}
	done := make([]byte, nlmsgHdrLen+4)
	putHeader(done, uint32(len(done)), typeDone, flagMulti, d.seq, s.port)
	s.dump = nil
	return append(batch, done...), alloc, 0
}

// fillDump runs the family's dump function once: it appends the messages
// that fit in alloc bytes, skipping what earlier batches sent.
func (k *Kernel) fillDump(s *socket, d *dumpState, alloc int) []byte {
	var batch []byte
	// add appends a message built by fill if it fits.
	add := func(cmd, version uint8, typ uint16, fill func(*attrWriter)) bool {
		w := newMessage(len(batch), k.cfg.padU64, cmd, version)
		fill(w)
		m := finishMessage(w, typ, flagMulti, d.seq, s.port)
		if len(batch)+len(m) > alloc {
			return false
		}
		batch = append(batch, m...)
		return true
	}
	switch d.kind {
	case dumpFamilies:
		fams := k.families()
		i := d.args[0]
		for ; i < len(fams); i++ {
			if !add(ctrlCmdNewFamily, ctrlVersion, ctrlFamilyID, func(w *attrWriter) { writeFamily(w, &fams[i]) }) {
				break
			}
		}
		d.args[0] = i

	case dumpServices:
		idx, start := 0, d.args[0]
		k.eachService(func(sv *service) bool {
			idx++
			if idx <= start {
				return true
			}
			if !add(uapi.CmdNewService, uapi.FamilyVersion, FamilyID, func(w *attrWriter) { k.writeService(w, sv) }) {
				idx--
				return false
			}
			return true
		})
		d.args[0] = idx

	case dumpDests:
		attrs, errno := parseAttrs(d.request[nlmsgHdrLen+genlHdrLen:], cmdPolicy)
		if errno != 0 {
			return nil
		}
		svc, _, errno := k.parseService(attrs[uapi.CmdAttrService], false)
		if errno != 0 || svc == nil {
			return nil
		}
		idx, start := 0, d.args[0]
		for _, dst := range svc.dests {
			idx++
			if idx <= start {
				continue
			}
			if !add(uapi.CmdNewDest, uapi.FamilyVersion, FamilyID, func(w *attrWriter) { k.writeDest(w, dst) }) {
				idx--
				break
			}
		}
		d.args[0] = idx

	case dumpDaemons:
		if k.master != nil && d.args[0] == 0 {
			if !add(uapi.CmdNewDaemon, uapi.FamilyVersion, FamilyID, func(w *attrWriter) { k.writeDaemon(w, k.master) }) {
				return batch
			}
			d.args[0] = 1
		}
		if k.backup != nil && d.args[1] == 0 {
			if !add(uapi.CmdNewDaemon, uapi.FamilyVersion, FamilyID, func(w *attrWriter) { k.writeDaemon(w, k.backup) }) {
				return batch
			}
			d.args[1] = 1
		}
	}
	return batch
}
