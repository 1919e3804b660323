package ipvstest

import (
	"encoding/binary"
	"syscall"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// The generic netlink controller (include/uapi/linux/genetlink.h).
const (
	ctrlFamilyID      = uapi.GenlIDCtrl
	ctrlVersion       = 2
	ctrlCmdNewFamily  = uapi.CtrlCmdNewFamily
	ctrlCmdGetFamily  = uapi.CtrlCmdGetFamily
	ctrlCmdGetPolicy  = 10 // CTRL_CMD_GETPOLICY
	ctrlAttrMax       = 10
	ctrlNotifyGroupID = 0x10

	// Operation flags reported in CTRL_ATTR_OPS.
	genlAdminPerm = 0x01
	genlCapDo     = 0x02
	genlCapDump   = 0x04
	genlCapHasPol = 0x08
)

// reply is one datagram produced for a request.
type reply struct {
	b     []byte
	alloc int  // the size the kernel allocated for it
	dump  bool // a dump batch: queued without the receive buffer check
}

// receive is netlink_rcv_skb: it handles each message of a datagram in
// turn; a failed one does not stop the rest.
func (k *Kernel) receive(s *socket, b []byte) {
	for len(b) >= nlmsgHdrLen {
		h := readHeader(b)
		if h.length < nlmsgHdrLen || int(h.length) > len(b) {
			return
		}
		k.handleMessage(s, h, b[:h.length])
		n := min(align4(int(h.length)), len(b))
		b = b[n:]
	}
}

func (k *Kernel) handleMessage(s *socket, h header, msg []byte) {
	if h.flags&flagRequest == 0 || h.typ < typeMinGen {
		// Not for the kernel; acknowledged if asked.
		if h.flags&flagAck != 0 {
			k.deliver(s, []reply{k.ack(s, h, msg, 0)}, Fault{}, h.seq)
		}
		return
	}

	fault := k.consult(s, h, msg)
	if fault.kind == faultStall {
		return
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	var (
		out     []reply
		errno   syscall.Errno
		dumping bool
	)
	if fault.kind == faultFail {
		errno = fault.errno
	} else {
		out, errno, dumping = k.genlRcv(s, h, msg, fault)
	}
	if !dumping && (h.flags&flagAck != 0 || errno != 0) {
		out = append(out, k.ack(s, h, msg, errno))
	}
	k.deliver(s, out, fault, h.seq)
}

// deliver queues the replies to a request on s, after the fault has had
// its way with them.
func (k *Kernel) deliver(s *socket, out []reply, f Fault, seq uint32) {
	switch f.kind {
	case faultDrop:
		return
	case faultTruncate:
		if len(out) > 0 {
			out[0].b = truncateFirst(out[0].b)
		}
	case faultWrongSeq:
		for i := range out {
			out[i].b = rewriteSeq(out[i].b, seq+1)
		}
	case faultDelay:
		time.AfterFunc(f.delay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, r := range out {
				s.queueReplyLocked(r)
			}
		})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range out {
		s.queueReplyLocked(r)
	}
}

func (s *socket) queueReplyLocked(r reply) {
	if s.closed {
		return
	}
	if r.dump {
		ts, _ := allocTruesize(r.alloc)
		s.enqueueLocked(r.b, ts)
		return
	}
	s.unicastLocked(r.b, r.alloc)
}

// ack builds the NLMSG_ERROR message netlink_ack sends: the error code and
// the request's header, followed, for errors on a socket without
// NETLINK_CAP_ACK, by the request's payload.
func (k *Kernel) ack(s *socket, h header, msg []byte, errno syscall.Errno) reply {
	s.mu.Lock()
	capAck := s.capAck
	s.mu.Unlock()

	var flags uint16
	echo := errno != 0 && !capAck
	if !echo {
		flags |= flagCapped
	}
	b := make([]byte, nlmsgHdrLen+4+nlmsgHdrLen, nlmsgHdrLen+4+align4(len(msg)))
	binary.NativeEndian.PutUint32(b[nlmsgHdrLen:], uint32(-int32(errno)))
	copy(b[nlmsgHdrLen+4:], msg[:nlmsgHdrLen])
	if echo {
		b = append(b, msg[nlmsgHdrLen:]...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	putHeader(b, uint32(len(b)), typeError, flags, h.seq, s.port)
	return reply{b: b, alloc: len(b)}
}

// An operation of a generic netlink family.
type genlOp struct {
	do, dump bool
	admin    bool
}

var ipvsOps = map[uint8]genlOp{
	uapi.CmdNewService: {do: true, admin: true},
	uapi.CmdSetService: {do: true, admin: true},
	uapi.CmdDelService: {do: true, admin: true},
	uapi.CmdGetService: {do: true, dump: true, admin: true},
	uapi.CmdNewDest:    {do: true, admin: true},
	uapi.CmdSetDest:    {do: true, admin: true},
	uapi.CmdDelDest:    {do: true, admin: true},
	uapi.CmdGetDest:    {dump: true, admin: true},
	uapi.CmdNewDaemon:  {do: true, admin: true},
	uapi.CmdDelDaemon:  {do: true, admin: true},
	uapi.CmdGetDaemon:  {dump: true, admin: true},
	uapi.CmdSetConfig:  {do: true, admin: true},
	uapi.CmdGetConfig:  {do: true, admin: true},
	uapi.CmdGetInfo:    {do: true, admin: true},
	uapi.CmdZero:       {do: true, admin: true},
	uapi.CmdFlush:      {do: true, admin: true},
}

var ctrlOps = map[uint8]genlOp{
	ctrlCmdGetFamily: {do: true, dump: true},
}

// genlRcv is genl_rcv_msg for one request: it returns the replies, the
// errno to acknowledge, and whether a dump started (which is never
// acknowledged). Called with k.mu held.
func (k *Kernel) genlRcv(s *socket, h header, msg []byte, f Fault) ([]reply, syscall.Errno, bool) {
	var ops map[uint8]genlOp
	switch {
	case h.typ == ctrlFamilyID:
		ops = ctrlOps
	case h.typ == FamilyID && !k.cfg.unavailable:
		ops = ipvsOps
	default:
		return nil, syscall.ENOENT, false
	}
	if len(msg) < nlmsgHdrLen+genlHdrLen {
		return nil, syscall.EINVAL, false
	}
	cmd := msg[nlmsgHdrLen]
	dump := h.flags&flagDump == flagDump
	op, ok := ops[cmd]
	if !ok || (dump && !op.dump) || (!dump && !op.do) {
		return nil, syscall.EOPNOTSUPP, false
	}
	if op.admin && k.cfg.permissionDenied {
		return nil, syscall.EPERM, false
	}
	if dump {
		return k.startDump(s, h, msg, f)
	}

	payload := msg[nlmsgHdrLen+genlHdrLen:]
	if h.typ == ctrlFamilyID {
		attrs, errno := parseAttrs(payload, ctrlPolicy)
		if errno != 0 {
			return nil, errno, false
		}
		return k.ctrlGetFamily(s, h, attrs)
	}
	attrs, errno := parseAttrs(payload, cmdPolicy)
	if errno != 0 {
		return nil, errno, false
	}
	return k.ipvsDo(s, h, cmd, attrs)
}

var ctrlPolicy = policy{
	ctrlAttrMax:              {},
	uapi.CtrlAttrFamilyID:    {kind: kindU16},
	uapi.CtrlAttrFamilyName:  {kind: kindNulString, len: 15},
	uapi.CtrlAttrVersion:     {},
	uapi.CtrlAttrHdrSize:     {},
	uapi.CtrlAttrMaxAttr:     {},
	uapi.CtrlAttrOps:         {},
	uapi.CtrlAttrMcastGroups: {},
}

// A family the controller describes.
type genlFamily struct {
	id      uint16
	name    string
	version uint32
	maxattr uint32
	ops     []uint8
	opFlags func(uint8) uint32
	groups  map[string]uint32
}

func (k *Kernel) families() []genlFamily {
	fams := []genlFamily{{
		id: ctrlFamilyID, name: "nlctrl", version: ctrlVersion, maxattr: ctrlAttrMax,
		ops: []uint8{ctrlCmdGetFamily, ctrlCmdGetPolicy},
		opFlags: func(uint8) uint32 {
			return genlCapDo | genlCapDump | genlCapHasPol
		},
		groups: map[string]uint32{"notify": ctrlNotifyGroupID},
	}}
	if k.cfg.unavailable {
		return fams
	}
	var cmds []uint8
	for c := uint8(1); c <= uapi.CmdMax; c++ {
		if _, ok := ipvsOps[c]; ok {
			cmds = append(cmds, c)
		}
	}
	return append(fams, genlFamily{
		id: FamilyID, name: uapi.FamilyName, version: uapi.FamilyVersion,
		maxattr: uapi.CmdAttrTimeoutUDP,
		ops:     cmds,
		opFlags: func(c uint8) uint32 {
			op := ipvsOps[c]
			fl := uint32(genlAdminPerm | genlCapHasPol)
			if op.do {
				fl |= genlCapDo
			}
			if op.dump {
				fl |= genlCapDump
			}
			return fl
		},
	})
}

// ctrlGetFamily is ctrl_getfamily: look a family up by ID or name.
func (k *Kernel) ctrlGetFamily(s *socket, h header, attrs [][]byte) ([]reply, syscall.Errno, bool) {
	var found *genlFamily
	errno := syscall.EINVAL
	fams := k.families()
	if a := attrs[uapi.CtrlAttrFamilyID]; a != nil {
		errno = syscall.ENOENT
		found = nil
		for i := range fams {
			if fams[i].id == getU16(a) {
				found = &fams[i]
			}
		}
	}
	if a := attrs[uapi.CtrlAttrFamilyName]; a != nil {
		errno = syscall.ENOENT
		found = nil
		for i := range fams {
			if fams[i].name == getCString(a) {
				found = &fams[i]
			}
		}
	}
	if found == nil {
		return nil, errno, false
	}
	w := newMessage(0, false, ctrlCmdNewFamily, ctrlVersion)
	writeFamily(w, found)
	b := finishMessage(w, ctrlFamilyID, 0, h.seq, s.port)
	return []reply{{b: b, alloc: nlmsgGoodSize}}, 0, false
}

// writeFamily is ctrl_fill_info.
func writeFamily(w *attrWriter, f *genlFamily) {
	w.putString(uapi.CtrlAttrFamilyName, f.name)
	w.putU16(uapi.CtrlAttrFamilyID, f.id)
	w.putU32(uapi.CtrlAttrVersion, f.version)
	w.putU32(uapi.CtrlAttrHdrSize, 0)
	w.putU32(uapi.CtrlAttrMaxAttr, f.maxattr)
	ops := w.nest(uapi.CtrlAttrOps)
	for i, c := range f.ops {
		op := w.nest(uint16(i + 1))
		w.putU32(uapi.CtrlAttrOpID, uint32(c))
		w.putU32(uapi.CtrlAttrOpFlags, f.opFlags(c))
		w.endNest(op)
	}
	w.endNest(ops)
	if len(f.groups) > 0 {
		groups := w.nest(uapi.CtrlAttrMcastGroups)
		i := 0
		for name, id := range f.groups {
			i++
			g := w.nest(uint16(i))
			w.putU32(uapi.CtrlAttrMcastGrpID, id)
			w.putString(uapi.CtrlAttrMcastGrpName, name)
			w.endNest(g)
		}
		w.endNest(groups)
	}
}
