package ipvs_test

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/goipvsadm/goipvsadm/ipvs/ipvstest"
	"golang.org/x/sys/unix"
)

// hangGuard bounds how long a test waits for a call that must return by
// itself; it only turns a hang into a failure and measures nothing.
const hangGuard = 10 * time.Second

// TestWaitingCallHonoursContext: a call queued behind another goroutine's
// stalled call ends when its own context does.
func TestWaitingCallHonoursContext(t *testing.T) {
	c, k := fakeClient(t)
	stalled := make(chan struct{}, 1)
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() && r.Command == uapi.CmdFlush {
			stalled <- struct{}{}
			return ipvstest.Stall()
		}
		return ipvstest.Fault{}
	})
	long, release := context.WithCancel(context.Background())
	defer release()
	first := make(chan error, 1)
	go func() { first <- c.Flush(long) }()
	<-stalled // the first call now holds the client

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() { _, err := c.Services(short); second <- err }()
	select {
	case err := <-second:
		var oe *ipvs.OpError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &oe) {
			t.Errorf("call waiting behind a stalled one: %v, want an *OpError wrapping DeadlineExceeded", err)
		}
	case <-time.After(hangGuard):
		t.Error("a call waiting for the client ignored its context")
	}
	release()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("stalled call after cancel: %v", err)
	}
}

func stallEverything(k *ipvstest.Kernel) {
	k.InjectFault(func(ipvstest.Request) ipvstest.Fault { return ipvstest.Stall() })
}

// TestNewContextOnStalledKernel: construction ends at its context's
// deadline, whether the family lookup or the first IPVS request stalls.
func TestNewContextOnStalledKernel(t *testing.T) {
	for _, name := range []string{"family lookup", "info"} {
		t.Run(name, func(t *testing.T) {
			k := ipvstest.New()
			if name == "family lookup" {
				stallEverything(k)
			} else {
				k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
					if r.IsIPVS() {
						return ipvstest.Stall()
					}
					return ipvstest.Fault{}
				})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				c, err := ipvs.NewContext(ctx, &ipvs.Config{Dial: k.Dial})
				if err == nil {
					c.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				var oe *ipvs.OpError
				if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &oe) {
					t.Errorf("NewContext on a stalled kernel: %v, want an *OpError wrapping DeadlineExceeded", err)
				}
			case <-time.After(hangGuard):
				t.Error("NewContext ignored its deadline")
			}
		})
	}
}

// TestSentinelsMatchFS: every not-found, exists and permission sentinel
// matches its io/fs counterpart, and so do the errors that carry them.
func TestSentinelsMatchFS(t *testing.T) {
	for _, tc := range []struct {
		err, fs error
	}{
		{ipvs.ErrServiceNotFound, fs.ErrNotExist},
		{ipvs.ErrDestinationNotFound, fs.ErrNotExist},
		{ipvs.ErrSchedulerNotFound, fs.ErrNotExist},
		{ipvs.ErrDaemonNotRunning, fs.ErrNotExist},
		{ipvs.ErrServiceExists, fs.ErrExist},
		{ipvs.ErrDestinationExists, fs.ErrExist},
		{ipvs.ErrDaemonRunning, fs.ErrExist},
		{ipvs.ErrPermission, fs.ErrPermission},
		{ipvs.ErrUnavailable, errors.ErrUnsupported},
	} {
		if !errors.Is(tc.err, tc.fs) {
			t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.fs)
		}
	}

	c, _ := fakeClient(t)
	ctx := context.Background()
	k := ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	err := c.DeleteService(ctx, k)
	if !errors.Is(err, ipvs.ErrServiceNotFound) || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, unix.ESRCH) {
		t.Errorf("DeleteService of a missing service: %v; want ErrServiceNotFound, fs.ErrNotExist and ESRCH", err)
	}
	must(t, c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: k.Addr, Port: 80}))
	err = c.DeleteDestination(ctx, k, ipvs.DestinationKey{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80})
	if !errors.Is(err, ipvs.ErrDestinationNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("DeleteDestination of a missing destination: %v", err)
	}
	err = c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: k.Addr, Port: 80})
	if !errors.Is(err, ipvs.ErrServiceExists) || !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateService of an existing service: %v", err)
	}
}

// TestClosedClient: calls after Close fail with ErrClosed in an *OpError.
func TestClosedClient(t *testing.T) {
	c, _ := fakeClient(t)
	must(t, c.Close())
	var oe *ipvs.OpError
	if _, err := c.Services(context.Background()); !errors.Is(err, ipvs.ErrClosed) || !errors.As(err, &oe) {
		t.Errorf("Services after Close: %v, want an *OpError wrapping ErrClosed", err)
	}
	if err := c.Flush(context.Background()); !errors.Is(err, ipvs.ErrClosed) || !errors.As(err, &oe) {
		t.Errorf("Flush after Close: %v, want an *OpError wrapping ErrClosed", err)
	}
	k := ipvs.ServiceKey{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	dk := ipvs.DestinationKey{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}
	ctx := context.Background()
	for name, call := range allCalls(c, k, dk) {
		if err := call(ctx); !errors.Is(err, ipvs.ErrClosed) || !errors.As(err, &oe) {
			t.Errorf("%s after Close: %v, want an *OpError wrapping ErrClosed", name, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// allCalls calls every Client method that talks to the kernel.
func allCalls(c *ipvs.Client, k ipvs.ServiceKey, dk ipvs.DestinationKey) map[string]func(context.Context) error {
	svc := ipvs.Service{Protocol: k.Protocol, Addr: k.Addr, Port: k.Port}
	d := ipvs.Destination{Addr: dk.Addr, Port: dk.Port}
	daemon := ipvs.Daemon{State: ipvs.Master, Interface: "eth0"}
	return map[string]func(context.Context) error{
		"Info":              func(ctx context.Context) error { _, err := c.Info(ctx); return err },
		"Services":          func(ctx context.Context) error { _, err := c.Services(ctx); return err },
		"Service":           func(ctx context.Context) error { _, err := c.Service(ctx, k); return err },
		"CreateService":     func(ctx context.Context) error { return c.CreateService(ctx, svc) },
		"UpdateService":     func(ctx context.Context) error { return c.UpdateService(ctx, svc) },
		"ModifyService":     func(ctx context.Context) error { return c.ModifyService(ctx, k, func(*ipvs.Service) {}) },
		"DeleteService":     func(ctx context.Context) error { return c.DeleteService(ctx, k) },
		"Destinations":      func(ctx context.Context) error { _, err := c.Destinations(ctx, k); return err },
		"CreateDestination": func(ctx context.Context) error { return c.CreateDestination(ctx, k, d) },
		"UpdateDestination": func(ctx context.Context) error { return c.UpdateDestination(ctx, k, d) },
		"ModifyDestination": func(ctx context.Context) error {
			return c.ModifyDestination(ctx, k, dk, func(*ipvs.Destination) {})
		},
		"DeleteDestination": func(ctx context.Context) error { return c.DeleteDestination(ctx, k, dk) },
		"Snapshot":          func(ctx context.Context) error { _, err := c.Snapshot(ctx); return err },
		"Walk": func(ctx context.Context) error {
			return c.Walk(ctx, func(*ipvs.Service, []ipvs.Destination) error { return nil })
		},
		"WalkDestinations": func(ctx context.Context) error {
			return c.WalkDestinations(ctx, []ipvs.Service{svc}, func(int, []ipvs.Destination) error { return nil })
		},
		"Flush":    func(ctx context.Context) error { return c.Flush(ctx) },
		"ZeroAll":  func(ctx context.Context) error { return c.ZeroAll(ctx) },
		"Zero":     func(ctx context.Context) error { return c.Zero(ctx, k) },
		"Timeouts": func(ctx context.Context) error { _, err := c.Timeouts(ctx); return err },
		"SetTimeouts": func(ctx context.Context) error {
			return c.SetTimeouts(ctx, ipvs.Timeouts{TCP: time.Minute})
		},
		"Daemons":     func(ctx context.Context) error { _, err := c.Daemons(ctx); return err },
		"StartDaemon": func(ctx context.Context) error { return c.StartDaemon(ctx, daemon) },
		"StopDaemon":  func(ctx context.Context) error { return c.StopDaemon(ctx, daemon) },
		"Apply": func(ctx context.Context) error {
			_, err := c.Apply(ctx, []ipvs.Op{ipvs.DeleteService(k)})
			return err
		},
	}
}

// TestCloseInterruptsStalledCall: Close does not wait for a call that
// would never end; that call fails with ErrClosed.
func TestCloseInterruptsStalledCall(t *testing.T) {
	c, k := fakeClient(t)
	stalled := make(chan struct{}, 1)
	k.InjectFault(func(r ipvstest.Request) ipvstest.Fault {
		if r.IsIPVS() {
			stalled <- struct{}{}
			return ipvstest.Stall()
		}
		return ipvstest.Fault{}
	})
	first := make(chan error, 1)
	go func() { first <- c.Flush(context.Background()) }()
	<-stalled
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case <-closed:
	case <-time.After(hangGuard):
		t.Fatal("Close waited for a stalled call")
	}
	if err := <-first; !errors.Is(err, ipvs.ErrClosed) {
		t.Errorf("call interrupted by Close: %v, want ErrClosed", err)
	}
}

// TestContextErrorsAreOpErrors: every call, lists included, wraps context errors in an *OpError.
func TestContextErrorsAreOpErrors(t *testing.T) {
	c, k := fakeClient(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	must(t, c.CreateService(ctx, svc))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	calls := allCalls(c, svc.Key(), ipvs.DestinationKey{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80})
	for name, call := range calls {
		var oe *ipvs.OpError
		if err := call(cancelled); !errors.Is(err, context.Canceled) || !errors.As(err, &oe) {
			t.Errorf("%s with a cancelled context: %v, want an *OpError wrapping Canceled", name, err)
		}
	}
	stallEverything(k)
	for name, call := range calls {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		var oe *ipvs.OpError
		if err := call(short); !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &oe) {
			t.Errorf("%s on a stalled kernel: %v, want an *OpError wrapping DeadlineExceeded", name, err)
		}
		cancel()
	}
}

// TestCallTimeout: with Config.CallTimeout, a call without a deadline of
// its own ends at that bound on a stalled kernel, a context's earlier
// deadline still wins, and the next call works.
func TestCallTimeout(t *testing.T) {
	k := ipvstest.New()
	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial, CallTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stallEverything(k)
	done := make(chan error, 1)
	go func() { _, err := c.Services(context.Background()); done <- err }()
	select {
	case err := <-done:
		var oe *ipvs.OpError
		if !errors.As(err, &oe) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call on a stalled kernel: %v, want an *OpError wrapping DeadlineExceeded", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("CallTimeout did not end a call on a stalled kernel")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := c.Services(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call with an earlier deadline: %v, want DeadlineExceeded", err)
	}
	k.InjectFault(nil)
	if _, err := c.Services(context.Background()); err != nil {
		t.Errorf("call after the stall: %v", err)
	}
}
