package ipvs

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
)

// Info describes the kernel's IPVS.
type Info struct {
	Version       Version
	ConnTableSize uint32 // size of the connection hash table
}

// Version is the IPVS version the kernel reports (1.2.1 on every current
// kernel).
type Version struct {
	Major, Minor, Patch uint8
}

// String gives "1.2.1".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Timeouts are the connection timeouts for TCP, TCP after FIN, and UDP.
// The kernel keeps whole seconds. When setting, a zero field leaves that
// timeout as it is.
type Timeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// Info returns the kernel's IPVS version and connection table size.
//
// Errors: ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Info(ctx context.Context) (Info, error) {
	msgs, err := c.do(ctx, request{cmd: uapi.CmdGetInfo, flags: netlink.Request})
	if err != nil {
		return Info{}, opError("get info", "", err, nil)
	}
	var info Info
	ad, err := replyAttrs(msgs)
	if err != nil {
		return info, opError("get info", "", err, nil)
	}
	for ad.Next() {
		switch ad.Type() {
		case uapi.InfoAttrVersion:
			v := ad.Uint32()
			info.Version = Version{Major: uint8(v >> 16), Minor: uint8(v >> 8), Patch: uint8(v)}
		case uapi.InfoAttrConnTabSize:
			info.ConnTableSize = ad.Uint32()
		}
	}
	return info, opError("get info", "", ad.Err(), nil)
}

// replyAttrs decodes the attributes of a do-command's reply.
func replyAttrs(msgs [][]byte) (*attrDecoder, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("no reply")
	}
	b, err := genlAttrs(msgs[0])
	if err != nil {
		return nil, err
	}
	return newAttrDecoder(b)
}

// Timeouts returns the TCP, TCP-FIN and UDP connection timeouts.
//
// Errors: ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Timeouts(ctx context.Context) (Timeouts, error) {
	msgs, err := c.do(ctx, request{cmd: uapi.CmdGetConfig, flags: netlink.Request})
	if err != nil {
		return Timeouts{}, opError("get timeouts", "", err, nil)
	}
	var t Timeouts
	ad, err := replyAttrs(msgs)
	if err != nil {
		return t, opError("get timeouts", "", err, nil)
	}
	for ad.Next() {
		d := time.Duration(ad.Uint32()) * time.Second
		switch ad.Type() {
		case uapi.CmdAttrTimeoutTCP:
			t.TCP = d
		case uapi.CmdAttrTimeoutTCPFin:
			t.TCPFin = d
		case uapi.CmdAttrTimeoutUDP:
			t.UDP = d
		}
	}
	return t, opError("get timeouts", "", ad.Err(), nil)
}

// SetTimeouts sets the connection timeouts; a zero field keeps the current
// value. The kernel keeps whole seconds, so a timeout with a fraction of a
// second is refused (ErrInvalid), as is a negative one.
//
// Errors: ErrInvalid, ErrPermission, ErrUnavailable, ErrClosed, or the
// context's error.
func (c *Client) SetTimeouts(ctx context.Context, t Timeouts) error {
	return c.apply1(ctx, SetTimeouts(t))
}

// timeoutAttrs encodes SET_CONFIG's three values in seconds.
func timeoutAttrs(t Timeouts) ([]byte, error) {
	var v [3]uint32
	for i, d := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
		if d < 0 || d/time.Second > 1<<31-1 {
			return nil, invalidf(syscall.EINVAL, "timeout %v is out of range", d)
		}
		if d%time.Second != 0 {
			// 500ms would become 0, which means "unchanged".
			return nil, invalidf(0, "timeout %v is not a whole number of seconds: the kernel keeps seconds", d)
		}
		v[i] = uint32(d / time.Second)
	}
	return attrs(func(e *attrEncoder) {
		e.uint32(uapi.CmdAttrTimeoutTCP, v[0])
		e.uint32(uapi.CmdAttrTimeoutTCPFin, v[1])
		e.uint32(uapi.CmdAttrTimeoutUDP, v[2])
	}), nil
}
