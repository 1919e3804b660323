package ipvstest

import (
	"encoding/binary"
	"syscall"
)

// Sizes of the fixed netlink headers.
const (
	nlmsgHdrLen = 16 // struct nlmsghdr
	nlaHdrLen   = 4  // struct nlattr
	genlHdrLen  = 4  // struct genlmsghdr
)

// Netlink header flags and types the kernel side needs (include/uapi/linux/netlink.h).
const (
	flagRequest = 0x1
	flagMulti   = 0x2
	flagAck     = 0x4
	flagDump    = 0x300 // NLM_F_ROOT | NLM_F_MATCH
	flagCapped  = 0x100 // on NLMSG_ERROR: the request is not echoed

	typeError  = 0x2
	typeDone   = 0x3
	typeMinGen = 0x10 // NLMSG_MIN_TYPE: lower types are control messages
)

func align4(n int) int { return (n + 3) &^ 3 }

// attrWriter appends netlink attributes the way the kernel's nla_put family
// does: native byte order, lengths without padding, data padded to 4 bytes.
type attrWriter struct {
	b []byte
	// base is the offset of b[0] within the datagram; the 64-bit padding
	// decision depends on the absolute position, as the kernel's does on
	// the skb tail pointer.
	base int
	// padU64 emulates architectures without efficient unaligned access,
	// where nla_put_u64_64bit inserts a PAD attribute to align the value.
	padU64 bool
}

func (w *attrWriter) put(typ uint16, data []byte) {
	var hdr [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(hdr[0:], uint16(nlaHdrLen+len(data)))
	binary.NativeEndian.PutUint16(hdr[2:], typ)
	w.b = append(w.b, hdr[:]...)
	w.b = append(w.b, data...)
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *attrWriter) putU8(typ uint16, v uint8) { w.put(typ, []byte{v}) }

func (w *attrWriter) putU16(typ uint16, v uint16) {
	w.put(typ, binary.NativeEndian.AppendUint16(nil, v))
}

func (w *attrWriter) putBE16(typ uint16, v uint16) {
	w.put(typ, binary.BigEndian.AppendUint16(nil, v))
}

func (w *attrWriter) putU32(typ uint16, v uint32) {
	w.put(typ, binary.NativeEndian.AppendUint32(nil, v))
}

// putU64 is nla_put_u64: no alignment padding (kernels before 4.7).
func (w *attrWriter) putU64(typ uint16, v uint64) {
	w.put(typ, binary.NativeEndian.AppendUint64(nil, v))
}

// putU64Pad is nla_put_u64_64bit.
func (w *attrWriter) putU64Pad(typ, pad uint16, v uint64) {
	if w.padU64 && (w.base+len(w.b))%8 == 0 {
		w.put(pad, nil)
	}
	w.putU64(typ, v)
}

// putString is nla_put_string: the string and its NUL.
func (w *attrWriter) putString(typ uint16, s string) {
	w.put(typ, append([]byte(s), 0))
}

// nest starts a nested attribute; end it with endNest(pos).
func (w *attrWriter) nest(typ uint16) int {
	pos := len(w.b)
	w.put(typ, nil)
	return pos
}

func (w *attrWriter) endNest(pos int) {
	binary.NativeEndian.PutUint16(w.b[pos:], uint16(len(w.b)-pos))
}

// newMessage starts a netlink message (header to be completed by
// finishMessage) followed by a generic netlink header.
func newMessage(base int, padU64 bool, cmd, version uint8) *attrWriter {
	w := &attrWriter{base: base, padU64: padU64}
	w.b = make([]byte, nlmsgHdrLen+genlHdrLen, 256)
	w.b[nlmsgHdrLen] = cmd
	w.b[nlmsgHdrLen+1] = version
	return w
}

// finishMessage fills in the netlink header of a message built with
// newMessage and returns its bytes.
func finishMessage(w *attrWriter, typ, flags uint16, seq, port uint32) []byte {
	putHeader(w.b, uint32(len(w.b)), typ, flags, seq, port)
	return w.b
}

func putHeader(b []byte, length uint32, typ, flags uint16, seq, port uint32) {
	binary.NativeEndian.PutUint32(b[0:], length)
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], seq)
	binary.NativeEndian.PutUint32(b[12:], port)
}

// header is a decoded struct nlmsghdr.
type header struct {
	length uint32
	typ    uint16
	flags  uint16
	seq    uint32
	port   uint32
}

func readHeader(b []byte) header {
	return header{
		length: binary.NativeEndian.Uint32(b[0:]),
		typ:    binary.NativeEndian.Uint16(b[4:]),
		flags:  binary.NativeEndian.Uint16(b[6:]),
		seq:    binary.NativeEndian.Uint32(b[8:]),
		port:   binary.NativeEndian.Uint32(b[12:]),
	}
}

// Attribute policies, after the kernel's struct nla_policy types.
type attrKind uint8

const (
	kindUnspec    attrKind = iota // no check beyond policy.len as a minimum
	kindU8                        // NLA_U8
	kindU16                       // NLA_U16
	kindU32                       // NLA_U32
	kindNested                    // NLA_NESTED
	kindBinary                    // NLA_BINARY: at most len bytes
	kindNulString                 // NLA_NUL_STRING: NUL-terminated, at most len characters
)

type attrPolicy struct {
	kind attrKind
	len  int
}

// policy is indexed by attribute type; its length minus one is the
// family's maxattr, and types above it are ignored, as the kernel ignores
// attributes it does not know.
type policy []attrPolicy

// parseAttrs parses attributes the way nla_parse_deprecated (the liberal
// parser every IPVS request goes through) does: attributes of unknown type
// are skipped, the last of duplicates wins, trailing garbage is ignored,
// and a policy violation fails the whole parse with the errno
// validate_nla returns. The table is indexed by type; absent attributes
// are nil, present ones are non-nil (possibly empty).
func parseAttrs(b []byte, pol policy) ([][]byte, syscall.Errno) {
	tb := make([][]byte, len(pol))
	for len(b) >= nlaHdrLen {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		if l < nlaHdrLen || l > len(b) {
			break
		}
		typ := int(binary.NativeEndian.Uint16(b[2:]) & 0x3fff) // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
		data := b[nlaHdrLen:l:l]
		if typ > 0 && typ < len(pol) {
			if errno := validate(data, pol[typ]); errno != 0 {
				return nil, errno
			}
			tb[typ] = data
		}
		if align4(l) >= len(b) {
			break
		}
		b = b[align4(l):]
	}
	return tb, 0
}

// validate mirrors the checks of lib/nlattr.c validate_nla in liberal mode:
// an over-long fixed-size attribute is accepted (the kernel only warns), a
// short one is -ERANGE.
func validate(data []byte, p attrPolicy) syscall.Errno {
	n := len(data)
	switch p.kind {
	case kindU8:
		if n < 1 {
			return syscall.ERANGE
		}
	case kindU16:
		if n < 2 {
			return syscall.ERANGE
		}
	case kindU32:
		if n < 4 {
			return syscall.ERANGE
		}
	case kindNested:
		if n != 0 && n < nlaHdrLen {
			return syscall.ERANGE
		}
	case kindBinary:
		if p.len > 0 && n > p.len {
			return syscall.ERANGE
		}
	case kindNulString:
		window := n
		if p.len > 0 && p.len+1 < window {
			window = p.len + 1
		}
		nul := false
		for _, c := range data[:window] {
			if c == 0 {
				nul = true
				break
			}
		}
		if window == 0 || !nul {
			return syscall.EINVAL
		}
		if data[n-1] == 0 {
			n--
		}
		if p.len > 0 && n > p.len {
			return syscall.ERANGE
		}
	case kindUnspec:
		if n < p.len {
			return syscall.ERANGE
		}
	}
	return 0
}

func getU8(b []byte) uint8    { return b[0] }
func getU16(b []byte) uint16  { return binary.NativeEndian.Uint16(b) }
func getBE16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func getU32(b []byte) uint32  { return binary.NativeEndian.Uint32(b) }

// getCString returns the bytes before the first NUL (the policy has
// already made sure there is one).
func getCString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// memcpy is nla_memcpy: copy what fits and zero the rest.
func memcpy(dst, src []byte) {
	n := copy(dst, src)
	clear(dst[n:])
}
