package ipvs

import (
	"bytes"
	"encoding/binary"
	"fmt"

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

// appendAttr appends one attribute, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, payload []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(payload)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// nlaFNested marks a nested attribute (NLA_F_NESTED).
const nlaFNested = 0x8000

// appendServiceKeyAttr appends the SERVICE nest that names a service (for
// GET_DEST and the other requests that take only the key), without the
// allocations of an AttributeEncoder: a snapshot sends one per service.
func appendServiceKeyAttr(b []byte, k ServiceKey) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0) // the nest header, written below
	var v [16]byte
	b = appendAttr(b, uapi.SvcAttrAF, binary.NativeEndian.AppendUint16(v[:0], uint16(k.Family)))
	if k.FWMark != 0 {
		b = appendAttr(b, uapi.SvcAttrFwmark, binary.NativeEndian.AppendUint32(v[:0], k.FWMark))
	} else {
		b = appendAttr(b, uapi.SvcAttrProtocol, binary.NativeEndian.AppendUint16(v[:0], uint16(k.Protocol)))
		var a [16]byte
		if k.Addr.Is4() {
			a4 := k.Addr.As4()
			copy(a[:], a4[:])
		} else if k.Addr.Is6() {
			a = k.Addr.As16()
		}
		b = appendAttr(b, uapi.SvcAttrAddr, a[:])
		b = appendAttr(b, uapi.SvcAttrPort, binary.BigEndian.AppendUint16(v[:0], k.Port))
	}
	binary.NativeEndian.PutUint16(b[start:], uint16(len(b)-start))
	binary.NativeEndian.PutUint16(b[start+2:], uapi.CmdAttrService|nlaFNested)
	return b
}
