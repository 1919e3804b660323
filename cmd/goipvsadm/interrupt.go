package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/reconcile"
	"github.com/goipvsadm/goipvsadm/restore"
	"golang.org/x/sys/unix"
)

// interruptSignals end a run from the terminal (SIGINT), a service manager
// (SIGTERM) or a closed session (SIGHUP).
var interruptSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP}

// interrupts keeps an all-or-nothing restore's promise when one of the
// interrupting signals arrives: before the first change the run ends at
// once, as the signal would have ended it; once changes are under way the
// signal cancels them, the run undoes what it changed, and only then ends
// as the signal would have ended it.
type interrupts struct {
	sigs   chan os.Signal
	cancel context.CancelFunc
	exit   func(sig os.Signal) // ends the process as sig would have

	mu       sync.Mutex
	changing bool
	got      os.Signal
}

// catchInterrupts starts catching the interrupting signals for a run that
// changes the table through ctx; stop ends that and says which signal, if
// any, arrived.
func (a *app) catchInterrupts(ctx context.Context) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancel(ctx)
	in := &interrupts{sigs: make(chan os.Signal, 1), cancel: cancel, exit: a.exitBySignal}
	a.intr = in
	signal.Notify(in.sigs, interruptSignals...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sig := range in.sigs {
			in.arrived(a, sig)
		}
	}()
	return ctx, func() os.Signal {
		signal.Stop(in.sigs)
		close(in.sigs)
		<-done
		cancel()
		a.intr = nil
		in.mu.Lock()
		defer in.mu.Unlock()
		return in.got
	}
}

// arrived handles one signal.
func (in *interrupts) arrived(a *app, sig os.Signal) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.got != nil {
		return // already stopping
	}
	in.got = sig
	if !in.changing {
		fmt.Fprintf(a.stderr, "%s: interrupted by %s: nothing was changed\n", a.argv0, signalName(sig))
		in.exit(sig)
		return
	}
	in.cancel()
}

// beginChanges says that the run now changes the table: from here on a
// signal is a rollback, not the end of the process.
func (a *app) beginChanges() {
	if in := a.intr; in != nil {
		in.mu.Lock()
		in.changing = true
		in.mu.Unlock()
	}
}

// interrupted returns the signal that stopped the run's changes, if one did.
func (a *app) interrupted() os.Signal {
	if in := a.intr; in != nil {
		in.mu.Lock()
		defer in.mu.Unlock()
		return in.got
	}
	return nil
}

// exitBySignal ends the process as sig would have, so that the caller
// (a shell, systemd) sees the conventional status: the default action is
// restored and the signal raised again. Buffered output is not written,
// as the signal would not have written it.
func (a *app) exitBySignal(sig os.Signal) {
	if a.exitSignal != nil {
		a.exitSignal(sig)
		return
	}
	signal.Reset(sig)
	if s, ok := sig.(syscall.Signal); ok {
		unix.Kill(os.Getpid(), s)
		// The signal ends the process as soon as a thread takes it;
		// this is only in case it never does.
		time.Sleep(time.Second)
		os.Exit(128 + int(s))
	}
	os.Exit(1)
}

func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return sig.String()
}

// restoreTableGuarded is restoreTable holding the restore lock (see
// lockRestore; a dry run changes nothing and takes none) and, with
// --atomic, keeping the all-or-nothing promise through a signal.
func (a *app) restoreTableGuarded(ctx context.Context, rules *restore.Rules, mode cmdline.RestoreOptions) int {
	if !mode.DryRun {
		unlock, code, ok := a.lockRestore()
		if !ok {
			return code
		}
		defer unlock()
	}
	if !mode.Atomic {
		return a.restoreTable(ctx, rules, mode)
	}
	ctx, stop := a.catchInterrupts(ctx)
	code := a.restoreTable(ctx, rules, mode)
	if sig := stop(); sig != nil {
		a.stdout.Flush()
		if code == 0 {
			fmt.Fprintf(a.stderr, "%s: interrupted by %s after the restore was complete\n", a.argv0, signalName(sig))
		}
		a.exitBySignal(sig)
	}
	return code
}

// reportInterrupted reports an all-or-nothing run that a signal stopped.
func (a *app) reportInterrupted(ae *reconcile.AtomicError) int {
	a.stdout.Flush()
	name := signalName(a.interrupted())
	if ae.Rollback != nil {
		fmt.Fprintf(a.stderr, "%s: interrupted by %s; undoing this restore failed: %s: the table is NOT as it was\n", a.argv0, name, kernelMessage(opGeneric, ae.Rollback))
		return 255
	}
	fmt.Fprintf(a.stderr, "%s: interrupted by %s: every change of this restore was undone: the table is as it was\n", a.argv0, name)
	return 255
}
