package ipvs

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/netlink"
)

// These tests use the kernel's real generic netlink socket, which every
// Linux has (the controller family is there even without IPVS), so the
// production socket path runs under plain go test, not only in the QEMU
// guests.

// TestRealSocketOpen: NewContext against this host's kernel either works
// or says why with a sentinel.
func TestRealSocketOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := NewContext(ctx, nil)
	if err == nil {
		t.Log("this kernel has IPVS")
		c.Close()
		return
	}
	var oe *OpError
	if !errors.As(err, &oe) || !(errors.Is(err, ErrUnavailable) || errors.Is(err, ErrPermission)) {
		t.Fatalf("NewContext: %v, want an *OpError with ErrUnavailable or ErrPermission", err)
	}
	t.Log(err)
}

// realLink dials the kernel's generic netlink socket as a Client does.
func realLink(t *testing.T) link {
	t.Helper()
	conn, err := dialKernel(Config{})
	if err != nil {
		t.Skipf("no generic netlink socket: %v", err)
	}
	l := newLink(conn, dumpBufferSize)
	if _, ok := l.(*rawLink); !ok {
		t.Fatalf("the kernel's socket got a %T, want the raw link", l)
	}
	t.Cleanup(func() { l.close() })
	return l
}

// TestRealSocketRoundTrip sends a controller request through the raw link
// and reads its answer: the family of the controller itself.
func TestRealSocketRoundTrip(t *testing.T) {
	l := realLink(t)
	a := attrs(func(e *attrEncoder) { e.string(uapi.CtrlAttrFamilyName, "nlctrl") })
	for _, send := range []func([]byte) error{l.send, l.sendQuick} {
		b := appendRequest(nil, uapi.GenlIDCtrl, netlink.Request, 7, request{cmd: uapi.CtrlCmdGetFamily, attrs: a})
		if err := send(b); err != nil {
			t.Fatal(err)
		}
		d, err := l.recv()
		if err != nil {
			t.Fatal(err)
		}
		var got []message
		err = eachMessage(d, func(m message) error {
			got = append(got, message{m.nlHeader, append([]byte(nil), m.data...)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].seq != 7 || got[0].typ != uapi.GenlIDCtrl {
			t.Fatalf("reply %+v, want one controller message with sequence 7", got)
		}
		ad, err := replyAttrs([][]byte{got[0].data})
		if err != nil {
			t.Fatal(err)
		}
		var id uint16
		for ad.Next() {
			if ad.Type() == uapi.CtrlAttrFamilyID {
				id = ad.Uint16()
			}
		}
		if id != uapi.GenlIDCtrl {
			t.Errorf("the controller's family ID = %#x, want %#x", id, uapi.GenlIDCtrl)
		}
	}
}

// TestRealSocketDeadlineAndCancel: a read nothing will answer ends at the
// context's deadline, or when it is cancelled, on the real descriptor.
func TestRealSocketDeadlineAndCancel(t *testing.T) {
	l := realLink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := interruptible(ctx, deadlineOf(ctx), 0, false, l, nil, func() error { _, err := l.recv(); return err })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read past the deadline: %v, want DeadlineExceeded", err)
	}

	l = realLink(t)
	ctx, cancel = context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- interruptible(ctx, deadlineOf(ctx), 0, false, l, nil, func() error {
			close(started)
			_, err := l.recv()
			return err
		})
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want Canceled", err)
	}
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// TestRealSocketNoAnswer: the kernel queues its answer to a request before
// sendmsg returns, so the first read after a send that finds nothing ends
// at once with errNoAnswer (here: a message without NLM_F_REQUEST, which
// gets none), and a request that was answered reads its answer.
func TestRealSocketNoAnswer(t *testing.T) {
	l := realLink(t)
	a := attrs(func(e *attrEncoder) { e.string(uapi.CtrlAttrFamilyName, "nlctrl") })
	if err := l.send(appendRequest(nil, uapi.GenlIDCtrl, 0, 8, request{cmd: uapi.CtrlCmdGetFamily, attrs: a})); err != nil {
		t.Fatal(err)
	}
	if _, err := l.recv(); !errors.Is(err, errNoAnswer) {
		t.Errorf("read after a message the kernel does not answer: %v, want errNoAnswer", err)
	}
	for _, send := range []func([]byte) error{l.send, l.sendQuick} {
		if err := send(appendRequest(nil, uapi.GenlIDCtrl, netlink.Request, 9, request{cmd: uapi.CtrlCmdGetFamily, attrs: a})); err != nil {
			t.Fatal(err)
		}
		if _, err := l.recv(); err != nil {
			t.Errorf("read after an answered request: %v", err)
		}
	}
}

// TestRealSocketTimeout: a timeout (Config.CallTimeout) starts at the
// call's first wait on the raw link and ends a read nothing will answer;
// a deadline set afterwards replaces it.
func TestRealSocketTimeout(t *testing.T) {
	l := realLink(t)
	start := time.Now()
	err := interruptible(context.Background(), time.Time{}, 20*time.Millisecond, false, l, nil,
		func() error { _, err := l.recv(); return err })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read past the timeout: %v, want DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > hangGuardLinux {
		t.Errorf("the timeout ended the read after %v", waited)
	}

	l.(*rawLink).setTimeout(time.Hour)
	if err := l.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.recv(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read with a deadline after a timeout: %v, want the deadline's error", err)
	}
}

// TestRealSocketClosedByLife: a call whose context is the client's life
// has no watcher of its own; Close's (Client.watched) ends its wait, and a
// call that starts after Close ends at once.
func TestRealSocketClosedByLife(t *testing.T) {
	c := &Client{turn: make(chan struct{}, 1)}
	c.life, c.shutdown = context.WithCancelCause(context.Background())
	l := c.watched(realLink(t))
	defer c.dropLocked()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- interruptible(c.life, time.Time{}, 0, true, l, nil, func() error {
			close(started)
			_, err := l.recv()
			return err
		})
	}()
	<-started
	c.shutdown(ErrClosed)
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("read ended by Close: %v, want ErrClosed", err)
		}
	case <-time.After(hangGuardLinux):
		t.Fatal("Close did not end a read of the client's life")
	}
	err := interruptible(c.life, time.Time{}, 0, true, l, nil, func() error {
		t.Error("a call ran after Close")
		return nil
	})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}
}

// hangGuardLinux bounds waits that must end much sooner.
const hangGuardLinux = 10 * time.Second
