package ipvs

import (
	"context"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The kernel's errnos mean different things per operation (ESRCH is "no
// such service" for every operation that names one; ENOENT is a missing
// destination, or a missing scheduler when a service is written).
var (
	serviceWriteErrors = map[unix.Errno]error{
		unix.EEXIST: ErrServiceExists,
		unix.ESRCH:  ErrServiceNotFound,
		unix.ENOENT: ErrSchedulerNotFound,
	}
	serviceErrors = map[unix.Errno]error{
		unix.ESRCH: ErrServiceNotFound,
	}
	destErrors = map[unix.Errno]error{
		unix.ESRCH:  ErrServiceNotFound,
		unix.EEXIST: ErrDestinationExists,
		unix.ENOENT: ErrDestinationNotFound,
	}
	daemonErrors = map[unix.Errno]error{
		unix.EEXIST: ErrDaemonRunning,
		unix.ESRCH:  ErrDaemonNotRunning,
	}
)

// attrs returns the attributes fn writes.
func attrs(fn func(e *attrEncoder)) []byte {
	var e attrEncoder
	fn(&e)
	return e.b
}

func ack(cmd uint8, a []byte) request {
	return request{cmd: cmd, flags: netlink.Request | netlink.Acknowledge, attrs: a}
}

// Info returns the kernel's IPVS version and connection table size.
func (c *Client) Info(ctx context.Context) (Info, error) {
	msgs, err := c.do(ctx, request{cmd: uapi.CmdGetInfo, flags: netlink.Request})
	if err != nil {
		return Info{}, opError("get info", "", err, nil)
	}
	var info Info
	attrs, err := genlAttrs(msgs[0])
	if err != nil {
		return info, opError("get info", "", err, nil)
	}
	ad, err := netlink.NewAttributeDecoder(attrs)
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

// Services lists every virtual service, in the kernel's order. An empty
// table is an empty slice.
func (c *Client) Services(ctx context.Context) ([]Service, error) {
	var svcs []Service
	err := c.session(ctx, func(l link) (err error) {
		svcs, err = c.dumpServices(l)
		return err
	})
	return svcs, err
}

// dumpServices runs the service dump on l.
func (c *Client) dumpServices(l link) ([]Service, error) {
	svcs := []Service{}
	err := c.dumpOn(l, request{cmd: uapi.CmdGetService}, func(m []byte) error {
		b, err := nested(m, uapi.CmdAttrService)
		if err != nil {
			return err
		}
		s, err := decodeService(b)
		if err != nil {
			return err
		}
		svcs = append(svcs, s)
		return nil
	})
	if err != nil {
		return nil, opError("list services", "", err, nil)
	}
	return svcs, nil
}

// Service returns one service.
func (c *Client) Service(ctx context.Context, k ServiceKey) (Service, error) {
	k = canonicalKey(k)
	if err := validateService(serviceOf(k), false); err != nil {
		return Service{}, opError("get service", k.String(), err, nil)
	}
	msgs, err := c.do(ctx, request{cmd: uapi.CmdGetService, flags: netlink.Request, attrs: appendServiceKeyAttr(nil, k)})
	if err != nil {
		return Service{}, opError("get service", k.String(), err, serviceErrors)
	}
	b, err := nested(msgs[0], uapi.CmdAttrService)
	if err != nil {
		return Service{}, opError("get service", k.String(), err, nil)
	}
	s, err := decodeService(b)
	return s, opError("get service", k.String(), err, nil)
}

// CreateService adds a service. Unset fields take ipvsadm's defaults:
// scheduler wlc, netmask of one address.
func (c *Client) CreateService(ctx context.Context, s Service) error {
	return c.apply1(ctx, CreateService(s))
}

// UpdateService replaces the configuration of an existing service with s
// (every field: unset ones take their defaults, as ipvsadm -E does).
func (c *Client) UpdateService(ctx context.Context, s Service) error {
	return c.apply1(ctx, UpdateService(s))
}

// DeleteService removes a service and its destinations.
func (c *Client) DeleteService(ctx context.Context, k ServiceKey) error {
	return c.apply1(ctx, DeleteService(k))
}

// Destinations lists a service's destinations, newest first (the kernel's
// order). A service without destinations, and one that does not exist,
// give an empty slice: the kernel does not tell them apart here.
func (c *Client) Destinations(ctx context.Context, k ServiceKey) ([]Destination, error) {
	k = canonicalKey(k)
	if err := validateService(serviceOf(k), false); err != nil {
		return nil, opError("list destinations", k.String(), err, nil)
	}
	var dests []Destination
	err := c.sessionLinks(ctx, true, func(_, dl link) (err error) {
		dests, err = c.dumpDestinations(dl, k)
		return err
	})
	return dests, err
}

// dumpDestinations runs the destination dump of k on l.
func (c *Client) dumpDestinations(l link, k ServiceKey) ([]Destination, error) {
	// Decode into a reused slice and copy out once: appending to a new
	// slice grew it four times for a service of ten destinations.
	dests := c.destBuf[:0]
	c.keyBuf = appendServiceKeyAttr(c.keyBuf[:0], k)
	err := c.dumpOn(l, request{cmd: uapi.CmdGetDest, attrs: c.keyBuf}, func(m []byte) error {
		b, err := nested(m, uapi.CmdAttrDest)
		if err != nil {
			return err
		}
		d, err := decodeDestination(b, k.Family)
		if err != nil {
			return err
		}
		dests = append(dests, d)
		return nil
	})
	if cap(dests) <= 4096 { // keep no outsized buffer for good
		c.destBuf = dests[:0]
	}
	if err != nil {
		return nil, opError("list destinations", k.String(), err, serviceErrors)
	}
	return append(make([]Destination, 0, len(dests)), dests...), nil
}

// CreateDestination adds a destination to a service.
func (c *Client) CreateDestination(ctx context.Context, k ServiceKey, d Destination) error {
	return c.apply1(ctx, CreateDestination(k, d))
}

// UpdateDestination replaces the configuration of a destination (every
// field, as ipvsadm -e does).
func (c *Client) UpdateDestination(ctx context.Context, k ServiceKey, d Destination) error {
	return c.apply1(ctx, UpdateDestination(k, d))
}

// DeleteDestination removes a destination from a service.
func (c *Client) DeleteDestination(ctx context.Context, k ServiceKey, dk DestinationKey) error {
	return c.apply1(ctx, DeleteDestination(k, dk))
}

// Flush removes every service.
func (c *Client) Flush(ctx context.Context) error {
	_, err := c.do(ctx, ack(uapi.CmdFlush, nil))
	return opError("flush", "", err, nil)
}

// ZeroAll zeroes the counters of every service and destination.
func (c *Client) ZeroAll(ctx context.Context) error {
	_, err := c.do(ctx, ack(uapi.CmdZero, nil))
	return opError("zero", "", err, nil)
}

// Zero zeroes the counters of one service and its destinations.
func (c *Client) Zero(ctx context.Context, k ServiceKey) error {
	k = canonicalKey(k)
	if err := validateService(serviceOf(k), false); err != nil {
		return opError("zero", k.String(), err, nil)
	}
	_, err := c.do(ctx, ack(uapi.CmdZero, appendServiceKeyAttr(nil, k)))
	return opError("zero", k.String(), err, serviceErrors)
}

// Timeouts returns the TCP, TCP-FIN and UDP connection timeouts.
func (c *Client) Timeouts(ctx context.Context) (Timeouts, error) {
	msgs, err := c.do(ctx, request{cmd: uapi.CmdGetConfig, flags: netlink.Request})
	if err != nil {
		return Timeouts{}, opError("get timeouts", "", err, nil)
	}
	var t Timeouts
	b, err := genlAttrs(msgs[0])
	if err != nil {
		return t, opError("get timeouts", "", err, nil)
	}
	ad, err := netlink.NewAttributeDecoder(b)
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
// value. The kernel keeps whole seconds: fractions are dropped.
func (c *Client) SetTimeouts(ctx context.Context, t Timeouts) error {
	return c.apply1(ctx, SetTimeouts(t))
}

// timeoutAttrs encodes SET_CONFIG's three values in seconds.
func timeoutAttrs(t Timeouts) ([]byte, error) {
	var v [3]uint32
	for i, d := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
		if d < 0 || d/time.Second > 1<<31-1 {
			return nil, invalidf(unix.EINVAL, "timeout %v is out of range", d)
		}
		v[i] = uint32(d / time.Second)
	}
	return attrs(func(e *attrEncoder) {
		e.uint32(uapi.CmdAttrTimeoutTCP, v[0])
		e.uint32(uapi.CmdAttrTimeoutTCPFin, v[1])
		e.uint32(uapi.CmdAttrTimeoutUDP, v[2])
	}), nil
}

// Daemons lists the running sync daemons, master first.
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
func (c *Client) StartDaemon(ctx context.Context, d Daemon) error {
	object := d.State.String() + " sync daemon"
	if d.Interface == "" || len(d.Interface) >= uapi.IfNameMaxLen {
		return opError("start", object, invalidf(unix.EINVAL, "interface name %q is empty or longer than %d bytes", d.Interface, uapi.IfNameMaxLen-1), nil)
	}
	if d.SyncID > 255 {
		return opError("start", object, invalidf(unix.EINVAL, "sync ID %d is above 255", d.SyncID), nil)
	}
	if d.Group.IsValid() && !d.Group.IsMulticast() {
		return opError("start", object, invalidf(unix.EINVAL, "group %v is not a multicast address", d.Group), nil)
	}
	a := attrs(func(e *attrEncoder) {
		n := e.nest(uapi.CmdAttrDaemon)
		encodeDaemon(e, d)
		e.end(n)
	})
	_, err := c.do(ctx, ack(uapi.CmdNewDaemon, a))
	return opError("start", object, err, daemonErrors)
}

// StopDaemon stops the sync daemon of d.State (the other fields are sent as
// given; the kernel looks only at the state).
func (c *Client) StopDaemon(ctx context.Context, d Daemon) error {
	a := attrs(func(e *attrEncoder) {
		n := e.nest(uapi.CmdAttrDaemon)
		e.uint32(uapi.DaemonAttrState, uint32(d.State))
		e.string(uapi.DaemonAttrMcastIfn, d.Interface)
		e.uint32(uapi.DaemonAttrSyncID, d.SyncID)
		e.end(n)
	})
	_, err := c.do(ctx, ack(uapi.CmdDelDaemon, a))
	return opError("stop", d.State.String()+" sync daemon", err, daemonErrors)
}

// canonicalKey fills in the family and clears what a fwmark key does not
// use, so user-made keys behave like keys read from the kernel.
func canonicalKey(k ServiceKey) ServiceKey {
	return serviceOf(k).Key()
}

func serviceOf(k ServiceKey) Service {
	return Service{Family: k.Family, Protocol: k.Protocol, Addr: k.Addr, Port: k.Port, FWMark: k.FWMark}
}
