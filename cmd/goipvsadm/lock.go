package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// restoreLockPath is the lock that -R --sync and -R --atomic hold while
// they read the table, plan and apply, so that two such runs (the boot
// service's among them) never interleave: the second one plans against
// the first one's result. Nothing else takes it: a plain -R or a single
// command is never held up.
const restoreLockPath = "/run/goipvsadm.lock"

// lockRestore takes the restore lock, waiting (and saying so once) while
// another run holds it. The lock is released by unlock, or by the
// kernel when the process ends, however it ends.
//
// Without a lock directory (no /run) or on a read-only one the run goes
// on with a warning: no other run can take the lock there either. Any
// other failure to take it is an error and nothing is changed.
func (a *app) lockRestore() (unlock func(), code int, ok bool) {
	if a.lockPath == "" {
		return func() {}, 0, true
	}
	f, err := openLockFile(a.lockPath)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EROFS) {
		fmt.Fprintf(a.stderr, "%s: warning: running without the restore lock: %v\n", a.argv0, err)
		return func() {}, 0, true
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "%s: cannot take the restore lock: %v; nothing was changed\n", a.argv0, err)
		return nil, 2, false
	}
	err = flock(f, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		fmt.Fprintf(a.stderr, "%s: waiting for another -R --sync or --atomic run to finish (%s)\n", a.argv0, a.lockPath)
		err = flock(f, unix.LOCK_EX)
	}
	if err != nil {
		f.Close()
		fmt.Fprintf(a.stderr, "%s: cannot take the restore lock %s: %v; nothing was changed\n", a.argv0, a.lockPath, err)
		return nil, 2, false
	}
	return func() { f.Close() }, 0, true
}

// openLockFile opens (creating) the lock file. Where it cannot be written
// (a non-root user with CAP_NET_ADMIN, a read-only /run) an existing one
// is locked read-only.
func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EROFS) {
		if rf, rerr := os.Open(path); rerr == nil {
			return rf, nil
		}
	}
	return f, err
}

// flock is flock(2), retried when a signal interrupts it.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return os.NewSyscallError("flock", err)
		}
	}
}
