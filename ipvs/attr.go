package ipvs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// attrDecoder walks netlink attributes in place. It has the methods of
// netlink.AttributeDecoder that the decoders use, but copies nothing and
// allocates nothing: a table of 100,000 destinations is decoded straight
// out of the receive buffer. Bytes returns a view into that buffer, valid
// only while the message is being decoded.
type attrDecoder struct {
	b       []byte
	typ     uint16
	payload []byte
	err     error
}

// attrTypeMask drops the NLA_F_NESTED and NLA_F_NET_BYTEORDER bits.
const attrTypeMask = 0x3fff

func newAttrDecoder(b []byte) (*attrDecoder, error) { return &attrDecoder{b: b}, nil }

// Next moves to the next attribute; false at the end or on a malformed one
// (then Err says why).
func (d *attrDecoder) Next() bool {
	// Small enough to be inlined into the decoders' loops.
	b := d.b
	if len(b) >= 4 && d.err == nil {
		n := int(binary.NativeEndian.Uint16(b))
		if n >= 4 && n <= len(b) {
			d.typ = binary.NativeEndian.Uint16(b[2:]) & attrTypeMask
			d.payload = b[4:n]
			d.b = b[min((n+3)&^3, len(b)):]
			return true
		}
	}
	return d.stop()
}

// stop ends the walk, noting why if the attributes are malformed.
func (d *attrDecoder) stop() bool {
	switch b := d.b; {
	case d.err != nil || len(b) == 0:
	case len(b) < 4:
		d.err = fmt.Errorf("truncated attribute header (%d bytes)", len(b))
	default:
		d.err = fmt.Errorf("attribute length %d out of %d bytes", binary.NativeEndian.Uint16(b), len(b))
	}
	return false
}

// nextAttr splits the first attribute off b: its type, its payload and
// the attributes after it; false at the end of b or at a malformed
// attribute (attrsEnd says which). It is attrDecoder.Next for the
// decoders of what a listing reads by the hundred thousand
// (destinations, their counters), whose loops then keep b in registers.
func nextAttr(b []byte) (typ uint16, payload, rest []byte, ok bool) {
	if len(b) < 4 {
		return 0, nil, b, false
	}
	n := int(binary.NativeEndian.Uint16(b))
	if n < 4 || n > len(b) {
		return 0, nil, b, false
	}
	return binary.NativeEndian.Uint16(b[2:]) & attrTypeMask, b[4:n], b[min((n+3)&^3, len(b)):], true
}

// attrsEnd returns the error of attributes whose walk with nextAttr
// stopped at b: nil if b is empty.
func attrsEnd(b []byte) error {
	d := attrDecoder{b: b}
	d.stop()
	return d.err
}

// fixedAttr returns p if it has n bytes, else n zero bytes, and notes the
// error in *err if it has none yet: attrDecoder.fixed for nextAttr.
func fixedAttr(typ uint16, p []byte, n int, err *error) []byte {
	if len(p) == n {
		return p
	}
	if *err == nil {
		*err = fmt.Errorf("attribute %d has %d bytes, want %d", typ, len(p), n)
	}
	return make([]byte, n)
}

func (d *attrDecoder) Type() uint16  { return d.typ }
func (d *attrDecoder) Bytes() []byte { return d.payload }
func (d *attrDecoder) Err() error    { return d.err }

func (d *attrDecoder) fixed(n int) []byte {
	if len(d.payload) != n {
		if d.err == nil {
			d.err = fmt.Errorf("attribute %d has %d bytes, want %d", d.typ, len(d.payload), n)
		}
		return make([]byte, n)
	}
	return d.payload
}

func (d *attrDecoder) Uint8() uint8   { return d.fixed(1)[0] }
func (d *attrDecoder) Uint16() uint16 { return binary.NativeEndian.Uint16(d.fixed(2)) }
func (d *attrDecoder) Uint32() uint32 { return binary.NativeEndian.Uint32(d.fixed(4)) }
func (d *attrDecoder) Uint64() uint64 { return binary.NativeEndian.Uint64(d.fixed(8)) }

// String reads a NUL-terminated string.
func (d *attrDecoder) String() string {
	b := d.payload
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// attrEncoder appends netlink attributes to b, in host byte order, each
// padded to 4 bytes: what netlink.AttributeEncoder writes, without its
// allocation per attribute (a restore encodes 110,000 requests).
type attrEncoder struct {
	b []byte
}

func (e *attrEncoder) put(typ uint16, payload []byte) {
	e.header(typ, len(payload))
	e.b = append(e.b, payload...)
	e.pad(len(payload))
}

// header appends an attribute header for n bytes of payload.
func (e *attrEncoder) header(typ uint16, n int) {
	e.b = binary.NativeEndian.AppendUint16(e.b, uint16(4+n))
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
}

// pad aligns an attribute of n payload bytes to 4 (counted from the
// attribute, so the buffer itself may start anywhere).
func (e *attrEncoder) pad(n int) {
	e.b = append(e.b, make([]byte, (4-n%4)%4)...)
}

// The encoders of the requests a restore sends by the hundred thousand
// (destinations, service keys) set their attributes in an array, at
// fixed places, and append the array; an attribute of up to 4 payload
// bytes takes 8 with its padding, which the array's zeroes are.

// setHeader writes at a the header of an attribute of n payload bytes.
func setHeader(a []byte, typ uint16, n int) {
	binary.NativeEndian.PutUint16(a[0:], uint16(4+n))
	binary.NativeEndian.PutUint16(a[2:], typ)
}

func setUint8(a *[8]byte, typ uint16, v uint8) {
	setHeader(a[:], typ, 1)
	a[4] = v
}

func setUint16(a *[8]byte, typ uint16, v uint16) {
	setHeader(a[:], typ, 2)
	binary.NativeEndian.PutUint16(a[4:], v)
}

func setUint32(a *[8]byte, typ uint16, v uint32) {
	setHeader(a[:], typ, 4)
	binary.NativeEndian.PutUint32(a[4:], v)
}

// extend lengthens b by n bytes and returns it and them.
func extend(b []byte, n int) ([]byte, []byte) {
	l := len(b)
	if cap(b)-l < n {
		b = slices.Grow(b, n)
	}
	b = b[:l+n]
	return b, b[l:]
}

// word8 returns e.b lengthened by an attribute of up to 4 payload bytes,
// to be set.
func (e *attrEncoder) word8() *[8]byte {
	var tail []byte
	e.b, tail = extend(e.b, 8)
	return (*[8]byte)(tail)
}

func (e *attrEncoder) uint8(typ uint16, v uint8)   { setUint8(e.word8(), typ, v) }
func (e *attrEncoder) uint16(typ uint16, v uint16) { setUint16(e.word8(), typ, v) }
func (e *attrEncoder) uint32(typ uint16, v uint32) { setUint32(e.word8(), typ, v) }

// string writes s NUL-terminated, as the kernel's NLA_NUL_STRING wants.
func (e *attrEncoder) string(typ uint16, s string) {
	e.header(typ, len(s)+1)
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
	e.pad(len(s) + 1)
}

// nest starts a nested attribute; end(start) closes it.
func (e *attrEncoder) nest(typ uint16) (start int) {
	start = len(e.b)
	e.header(typ|nlaFNested, 0) // the length is set by end
	return start
}

func (e *attrEncoder) end(start int) {
	binary.NativeEndian.PutUint16(e.b[start:], uint16(len(e.b)-start))
}

// nlaFNested marks a nested attribute (NLA_F_NESTED).
const nlaFNested = 0x8000

// appendServiceKeyAttr appends the SERVICE nest that names a service (for
// GET_DEST and the other requests that take only the key).
func appendServiceKeyAttr(b []byte, k ServiceKey) []byte {
	e := attrEncoder{b: b}
	n := e.nest(uapi.CmdAttrService)
	e.b = appendServiceKey(e.b, k)
	e.end(n)
	return e.b
}
