package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"syscall"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// Daemon is a connection synchronisation daemon.
type Daemon struct {
	State     DaemonState
	Interface string // multicast interface, e.g. "eth0"
	SyncID    uint32 // 0..255

	// The rest needs Linux 4.3+; zero means the kernel's default.
	MaxLen uint16     // sync message length (default from the MTU)
	Group  netip.Addr // multicast group (default 224.0.0.81)
	Port   uint16     // UDP port (default 8848)
	TTL    uint8      // multicast TTL (default 1)
}

// Daemons lists the running sync daemons, master first. None running is
// an empty slice.
//
// Errors: ErrPermission, ErrUnavailable, ErrClosed, or the context's error.
func (c *Client) Daemons(ctx context.Context) ([]Daemon, error) {
	ds := []Daemon{}
	err := c.dump(ctx, request{cmd: uapi.CmdGetDaemon}, func(m []byte) error {
		b, err := nested(m, uapi.CmdAttrDaemon)
		if err != nil {
			return err
		}
		d, err := decodeDaemon(b)
		if err != nil {
			return err
		}
		ds = append(ds, d)
		return nil
	})
	if err != nil {
		return nil, opError("list daemons", "", err, nil)
	}
	return ds, nil
}

// StartDaemon starts a sync daemon. Interface and State are required; zero
// MaxLen, Group, Port and TTL take the kernel's defaults.
//
// Errors: ErrDaemonRunning, ErrInvalid, ErrPermission, ErrUnavailable,
// ErrClosed, or the context's error.
func (c *Client) StartDaemon(ctx context.Context, d Daemon) error {
	object := d.State.String() + " sync daemon"
	if err := validateDaemon(d); err != nil {
		return opError("start", object, err, nil)
	}
	a := attrs(func(e *attrEncoder) {
		n := e.nest(uapi.CmdAttrDaemon)
		encodeDaemon(e, d)
		e.end(n)
	})
	_, err := c.do(ctx, ack(uapi.CmdNewDaemon, a))
	return opError("start", object, err, daemonErrors)
}

func validateDaemon(d Daemon) error {
	if d.Interface == "" || len(d.Interface) >= uapi.IfNameMaxLen {
		return invalidf(syscall.EINVAL, "interface name %q is empty or longer than %d bytes", d.Interface, uapi.IfNameMaxLen-1)
	}
	if d.SyncID > 255 {
		return invalidf(syscall.EINVAL, "sync ID %d is above 255", d.SyncID)
	}
	if d.Group.Is4In6() {
		return mappedError("multicast group", d.Group)
	}
	if d.Group.IsValid() && !d.Group.IsMulticast() {
		return invalidf(syscall.EINVAL, "group %v is not a multicast address", d.Group)
	}
	return nil
}

// StopDaemon stops the sync daemon of d.State (the other fields are sent as
// given; the kernel looks only at the state).
//
// A stop that comes before the daemon's kernel thread first ran is not
// answered by the kernel (ip_vs_sync.c's stop_sync_thread returns
// kthread_stop's EINTR, for which netlink sends no acknowledgement; ipvsadm
// waits for it forever): StopDaemon then asks whether the daemon is still
// listed, and a daemon that is gone was stopped.
//
// Errors: ErrDaemonNotRunning, ErrPermission, ErrUnavailable, ErrClosed,
// or the context's error.
func (c *Client) StopDaemon(ctx context.Context, d Daemon) error {
	a := attrs(func(e *attrEncoder) {
		n := e.nest(uapi.CmdAttrDaemon)
		e.uint32(uapi.DaemonAttrState, uint32(d.State))
		e.string(uapi.DaemonAttrMcastIfn, d.Interface)
		e.uint32(uapi.DaemonAttrSyncID, d.SyncID)
		e.end(n)
	})
	_, err := c.do(ctx, ack(uapi.CmdDelDaemon, a))
	if errors.Is(err, errNoAnswer) {
		if running, lerr := c.daemonRunning(ctx, d.State); lerr == nil && !running {
			return nil
		}
	}
	return opError("stop", d.State.String()+" sync daemon", err, daemonErrors)
}

// daemonRunning reports whether the kernel lists a daemon of state.
func (c *Client) daemonRunning(ctx context.Context, state DaemonState) (bool, error) {
	ds, err := c.Daemons(ctx)
	return slices.ContainsFunc(ds, func(d Daemon) bool { return d.State == state }), err
}
