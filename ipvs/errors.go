package ipvs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Sentinel errors. Every error a Client returns is an *OpError that wraps
// one of these where one fits, together with the cause (for a kernel's
// refusal its errno), so errors.Is(err, ipvs.ErrServiceNotFound),
// errors.Is(err, unix.ESRCH) and errors.Is(err, fs.ErrNotExist) all work.
// The not-found sentinels match fs.ErrNotExist, the exists ones
// fs.ErrExist, ErrPermission fs.ErrPermission and ErrUnavailable
// errors.ErrUnsupported.
var (
	// ErrUnavailable: the kernel has no IPVS (the generic-netlink family
	// "IPVS" does not exist; the ip_vs module is not loaded), or the
	// operating system is not Linux.
	ErrUnavailable = unsupported("IPVS is not available")
	// ErrPermission: the caller lacks CAP_NET_ADMIN, which every IPVS
	// operation needs, reads included.
	ErrPermission = denied("permission denied (CAP_NET_ADMIN is needed)")
	// ErrClosed: the Client was closed, before the call or during it.
	ErrClosed = errors.New("client is closed")

	// ErrServiceNotFound: no service has the key (the kernel's ESRCH).
	ErrServiceNotFound = notFound("no such service")
	// ErrServiceExists: a service with the key exists already (EEXIST).
	ErrServiceExists = exists("service already exists")
	// ErrDestinationNotFound: the service has no destination with the
	// key (ENOENT).
	ErrDestinationNotFound = notFound("no such destination")
	// ErrDestinationExists: the service has that destination already
	// (EEXIST).
	ErrDestinationExists = exists("destination already exists")
	// ErrSchedulerNotFound: the kernel knows no scheduler or persistence
	// engine of the given name (ENOENT; it does not say which of the two).
	ErrSchedulerNotFound = notFound("scheduler or persistence engine not found")
	// ErrDaemonRunning: a sync daemon of that state runs already (EEXIST).
	ErrDaemonRunning = exists("sync daemon is already running")
	// ErrDaemonNotRunning: no sync daemon of that state runs (ESRCH).
	ErrDaemonNotRunning = notFound("no sync daemon is running")

	// ErrInvalid: the request was refused before it was sent because the
	// kernel would reject it, or would silently do something else than
	// asked; the error says why. Where the kernel would have answered with
	// an errno (EINVAL, ERANGE, EAFNOSUPPORT), the error matches it too.
	ErrInvalid = errors.New("invalid argument")

	// ErrSchedFlagIncompatible comes from ParseSchedFlag.
	ErrSchedFlagIncompatible = errors.New("scheduler flag does not belong to this scheduler")
)

// notFound, exists, denied and unsupported make sentinels that also match
// fs.ErrNotExist, fs.ErrExist, fs.ErrPermission and errors.ErrUnsupported.
func notFound(msg string) error    { return &sentinel{msg, fs.ErrNotExist} }
func exists(msg string) error      { return &sentinel{msg, fs.ErrExist} }
func denied(msg string) error      { return &sentinel{msg, fs.ErrPermission} }
func unsupported(msg string) error { return &sentinel{msg, errors.ErrUnsupported} }

// sentinel is an error of this package that also matches its io/fs (or
// errors) counterpart.
type sentinel struct {
	msg  string
	like error
}

func (e *sentinel) Error() string { return e.msg }

// Is reports whether target is the standard error e stands for.
func (e *sentinel) Is(target error) bool { return target == e.like }

// OpError is the error of one operation on one object. It unwraps to a
// sentinel (when one applies) and to the cause, which for kernel errors is a
// syscall.Errno (unix.Errno on Linux).
type OpError struct {
	Op     string // "create service", "delete destination", "list services", ...
	Object string // "TCP 10.0.0.1:80", "TCP 10.0.0.1:80 -> 10.0.0.2:80", or empty
	Err    error  // the cause: an errno, a validation error, a context or transport error
	kind   error  // the sentinel, if any
}

func (e *OpError) Error() string {
	msg := e.Err.Error()
	if e.kind != nil {
		msg = e.kind.Error()
		if errno, ok := e.Err.(syscall.Errno); ok {
			msg += fmt.Sprintf(" (%s)", errnoName(errno))
		} else if e.Err != e.kind {
			msg += ": " + e.Err.Error()
		}
	}
	if e.Object != "" {
		return fmt.Sprintf("ipvs: %s %s: %s", e.Op, e.Object, msg)
	}
	return fmt.Sprintf("ipvs: %s: %s", e.Op, msg)
}

// Unwrap returns the sentinel and the cause.
func (e *OpError) Unwrap() []error {
	if e.kind == nil || e.kind == e.Err {
		return []error{e.Err}
	}
	return []error{e.kind, e.Err}
}

// invalidError is a request refused locally. Where the kernel would have
// refused it with an errno, it stands for that errno, so callers that map
// errnos to messages (as ipvsadm does) print what they would have printed.
type invalidError struct {
	reason string
	errno  syscall.Errno // 0: the kernel would not have refused it
}

func (e *invalidError) Error() string { return e.reason }
func (e *invalidError) Unwrap() []error {
	if e.errno == 0 {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.errno}
}

func invalidf(errno syscall.Errno, format string, args ...any) error {
	return &invalidError{reason: fmt.Sprintf(format, args...), errno: errno}
}

// errnoNames spells the errnos an IPVS client meets.
var errnoNames = map[syscall.Errno]string{
	syscall.EPERM: "EPERM", syscall.ENOENT: "ENOENT", syscall.ESRCH: "ESRCH",
	syscall.EEXIST: "EEXIST", syscall.EINVAL: "EINVAL", syscall.ERANGE: "ERANGE",
	syscall.EACCES: "EACCES", syscall.ENOBUFS: "ENOBUFS", syscall.ENOMEM: "ENOMEM",
	syscall.EBUSY: "EBUSY", syscall.EAFNOSUPPORT: "EAFNOSUPPORT", syscall.ENODEV: "ENODEV",
	syscall.EOPNOTSUPP: "EOPNOTSUPP",
}

func errnoName(e syscall.Errno) string {
	if name, ok := errnoNames[e]; ok {
		return name
	}
	return fmt.Sprintf("errno %d", int(e))
}

// errnoMap says what the kernel's errnos mean for one kind of operation.
type errnoMap map[syscall.Errno]error

// The kernel's errnos mean different things per operation (ESRCH is "no
// such service" for every operation that names one; ENOENT is a missing
// destination, or a missing scheduler when a service is written).
var (
	serviceWriteErrors = errnoMap{
		syscall.EEXIST: ErrServiceExists,
		syscall.ESRCH:  ErrServiceNotFound,
		syscall.ENOENT: ErrSchedulerNotFound,
	}
	serviceErrors = errnoMap{
		syscall.ESRCH: ErrServiceNotFound,
	}
	destErrors = errnoMap{
		syscall.ESRCH:  ErrServiceNotFound,
		syscall.EEXIST: ErrDestinationExists,
		syscall.ENOENT: ErrDestinationNotFound,
	}
	daemonErrors = errnoMap{
		syscall.EEXIST: ErrDaemonRunning,
		syscall.ESRCH:  ErrDaemonNotRunning,
	}
)

// classify maps an errno to the sentinel it means for the operation, or to
// the one it means for every operation.
func classify(err error, specific errnoMap) error {
	if errors.Is(err, ErrClosed) {
		return ErrClosed
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return nil
	}
	if s, ok := specific[errno]; ok {
		return s
	}
	switch errno {
	case syscall.EPERM, syscall.EACCES:
		return ErrPermission
	}
	return nil
}

// opError wraps err from op on object in an *OpError, adding the sentinel
// its errno means for that operation. An *OpError (from dialling) is
// returned as it is.
func opError(op, object string, err error, specific errnoMap) error {
	if err == nil {
		return nil
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &OpError{Op: op, Object: object, Err: err}
	}
	var errno syscall.Errno
	var ie *invalidError
	if errors.As(err, &errno) && !errors.As(err, &ie) {
		// Unwrap the transport's error so Err is the plain errno.
		err = errno
	}
	return &OpError{Op: op, Object: object, Err: err, kind: classify(err, specific)}
}

// isPathError reports whether err is about a file (the namespace path).
func isPathError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}
