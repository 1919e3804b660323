// Package ipvs has the API of github.com/moby/ipvs v1.1.0 on top of
// github.com/goipvsadm/goipvsadm/ipvs: a program written for moby/ipvs
// moves here by changing its import path.
//
// Callers keep what they depend on: kernel errors are bare syscall.Errno
// values (err == syscall.EEXIST, "file exists"), services read back carry
// the kernel's hashed flag, statistics have moby's field widths, and
// GetConfig and SetConfig take time.Duration. Where moby/ipvs had bugs,
// this package behaves as the native one: no call blocks for ever, New
// fails when IPVS is unavailable, no modprobe is run, a Handle is safe for
// concurrent use, weights and 64-bit counters are read at their real width,
// and the destination's address family is sent, so IPv6 real servers can
// sit behind IPv4 services (through tunnels). The README's "Moving from
// moby/ipvs" lists every difference.
package ipvs

import (
	"context"
	"os"
	"time"

	native "github.com/goipvsadm/goipvsadm/ipvs"
)

// callTimeout bounds each call. moby/ipvs waited for a reply for ever (its
// receive loop retried on every socket timeout); here a call that gets no
// answer fails with context.DeadlineExceeded and the socket is dialled
// anew on the next call.
const callTimeout = 30 * time.Second

// Handle is a connection to the IPVS of one network namespace. Unlike
// moby/ipvs's, it is safe for concurrent use.
type Handle struct {
	c  *native.Client
	ns *os.File // the namespace the sockets are opened in; nil: the process's
}

// New returns a handle on the IPVS of the network namespace at path (as
// /var/run/netns/NAME or /proc/PID/ns/net), or, with an empty path, of the
// calling thread's namespace. It fails when IPVS cannot be used there (no
// ip_vs module, no CAP_NET_ADMIN), where moby/ipvs returned a handle whose
// every call failed later.
func New(path string) (*Handle, error) {
	ns, err := openNetNS(path)
	if err != nil {
		return nil, err
	}
	cfg := &native.Config{}
	if ns != nil {
		cfg.NetNS = int(ns.Fd())
	}
	h, err := newHandle(cfg)
	if err != nil {
		if ns != nil {
			ns.Close()
		}
		return nil, err
	}
	h.ns = ns
	return h, nil
}

// newHandle opens a handle with cfg, bounding each call by callTimeout
// unless cfg gives another bound.
func newHandle(cfg *native.Config) (*Handle, error) {
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = callTimeout
	}
	c, err := native.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Handle{c: c}, nil
}

// openNetNS opens the namespace the handle's sockets belong to: the file at
// path, or, with an empty path, the calling thread's when the thread has
// left the process's namespace (setns or unshare after LockOSThread), so
// that sockets dialled later from other threads land in it too. nil means
// the process's own namespace.
func openNetNS(path string) (*os.File, error) {
	if path != "" {
		return os.Open(path)
	}
	const thread = "/proc/thread-self/ns/net"
	ti, err := os.Stat(thread)
	if err != nil {
		return nil, nil // no procfs: nothing to compare; the caller's namespace
	}
	if pi, err := os.Stat("/proc/self/ns/net"); err == nil && os.SameFile(ti, pi) {
		return nil, nil
	}
	return os.Open(thread)
}

// Close closes the handle's sockets. The handle is invalid afterwards.
func (i *Handle) Close() {
	i.c.Close()
	if i.ns != nil {
		i.ns.Close()
	}
}

// call runs f (whose calls the client bounds by callTimeout) and turns its
// error into moby's.
func (i *Handle) call(f func(ctx context.Context) error) error {
	return mobyError(f(context.Background()))
}

// NewService creates a service.
func (i *Handle) NewService(s *Service) error {
	return i.call(func(ctx context.Context) error { return i.c.CreateService(ctx, toNativeService(s)) })
}

// IsServicePresent reports whether the service exists.
func (i *Handle) IsServicePresent(s *Service) bool {
	_, err := i.GetService(s)
	return err == nil
}

// UpdateService replaces an existing service's configuration.
func (i *Handle) UpdateService(s *Service) error {
	return i.call(func(ctx context.Context) error { return i.c.UpdateService(ctx, toNativeService(s)) })
}

// DelService deletes a service and its destinations.
func (i *Handle) DelService(s *Service) error {
	return i.call(func(ctx context.Context) error { return i.c.DeleteService(ctx, serviceKey(s)) })
}

// Flush deletes every service.
func (i *Handle) Flush() error {
	return i.call(func(ctx context.Context) error { return i.c.Flush(ctx) })
}

// NewDestination adds a destination to an existing service.
func (i *Handle) NewDestination(s *Service, d *Destination) error {
	return i.call(func(ctx context.Context) error {
		nd, err := toNativeDestination(d)
		if err != nil {
			return err
		}
		return i.c.CreateDestination(ctx, serviceKey(s), nd)
	})
}

// UpdateDestination replaces an existing destination's configuration.
func (i *Handle) UpdateDestination(s *Service, d *Destination) error {
	return i.call(func(ctx context.Context) error {
		nd, err := toNativeDestination(d)
		if err != nil {
			return err
		}
		return i.c.UpdateDestination(ctx, serviceKey(s), nd)
	})
}

// DelDestination deletes a destination from a service.
func (i *Handle) DelDestination(s *Service, d *Destination) error {
	return i.call(func(ctx context.Context) error {
		return i.c.DeleteDestination(ctx, serviceKey(s), destinationKey(d))
	})
}

// GetServices lists every service.
func (i *Handle) GetServices() ([]*Service, error) {
	var out []*Service
	err := i.call(func(ctx context.Context) error {
		svcs, err := i.c.Services(ctx)
		out = convertAll(svcs, fromNativeService)
		return err
	})
	return out, err
}

// GetDestinations lists a service's destinations.
func (i *Handle) GetDestinations(s *Service) ([]*Destination, error) {
	var out []*Destination
	err := i.call(func(ctx context.Context) error {
		dests, err := i.c.Destinations(ctx, serviceKey(s))
		out = convertAll(dests, fromNativeDestination)
		return err
	})
	return out, err
}

// GetService reads one service, with its statistics.
func (i *Handle) GetService(s *Service) (*Service, error) {
	var out *Service
	err := i.call(func(ctx context.Context) error {
		svc, err := i.c.Service(ctx, serviceKey(s))
		if err == nil {
			out = fromNativeService(svc)
		}
		return err
	})
	return out, err
}

// GetConfig returns the connection timeouts.
func (i *Handle) GetConfig() (*Config, error) {
	var out *Config
	err := i.call(func(ctx context.Context) error {
		t, err := i.c.Timeouts(ctx)
		if err == nil {
			out = &Config{TimeoutTCP: t.TCP, TimeoutTCPFin: t.TCPFin, TimeoutUDP: t.UDP}
		}
		return err
	})
	return out, err
}

// SetConfig sets the connection timeouts; a zero field keeps its value.
func (i *Handle) SetConfig(c *Config) error {
	t := native.Timeouts{TCP: c.TimeoutTCP, TCPFin: c.TimeoutTCPFin, UDP: c.TimeoutUDP}
	return i.call(func(ctx context.Context) error { return i.c.SetTimeouts(ctx, t) })
}
