package ipvs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Sentinel errors. Errors from a Client wrap one of these (where one fits)
// together with the kernel's errno, so both
// errors.Is(err, ipvs.ErrServiceNotFound) and errors.Is(err, unix.ESRCH)
// work.
var (
	// ErrUnavailable: the kernel has no IPVS (the generic-netlink family
	// "IPVS" does not exist; the ip_vs module is not loaded).
	ErrUnavailable = errors.New("IPVS is not available")
	// ErrPermission: the caller lacks CAP_NET_ADMIN, which every IPVS
	// operation needs, reads included.
	ErrPermission = errors.New("permission denied (CAP_NET_ADMIN is needed)")

	ErrServiceNotFound     = errors.New("no such service")
	ErrServiceExists       = errors.New("service already exists")
	ErrDestinationNotFound = errors.New("no such destination")
	ErrDestinationExists   = errors.New("destination already exists")
	// ErrSchedulerNotFound: the kernel knows no scheduler or persistence
	// engine of the given name (it does not say which of the two).
	ErrSchedulerNotFound = errors.New("scheduler or persistence engine not found")
	ErrDaemonRunning     = errors.New("sync daemon is already running")
	ErrDaemonNotRunning  = errors.New("no sync daemon is running")

	// ErrInvalid: the request was refused before it was sent because the
	// kernel would reject it with a bare EINVAL or ERANGE; the error says
	// why and still matches that errno.
	ErrInvalid = errors.New("invalid argument")

	// ErrSchedFlagUnknown and ErrSchedFlagIncompatible come from
	// ParseSchedFlag.
	ErrSchedFlagUnknown      = errors.New("unknown scheduler flag")
	ErrSchedFlagIncompatible = errors.New("scheduler flag does not belong to this scheduler")
)

// OpError is the error of one operation on one object. It unwraps to a
// sentinel (when one applies) and to the cause, which for kernel errors is a
// unix.Errno.
type OpError struct {
	Op     string // "create service", "delete destination", "list services", ...
	Object string // "TCP 10.0.0.1:80", "TCP 10.0.0.1:80 -> 10.0.0.2:80", or empty
	Err    error  // the cause: a unix.Errno, a validation error, a transport error
	kind   error  // the sentinel, if any
}

func (e *OpError) Error() string {
	msg := e.Err.Error()
	if e.kind != nil {
		msg = e.kind.Error()
		if errno, ok := e.Err.(unix.Errno); ok {
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

// invalidError is a request refused locally. It stands for the errno the
// kernel would have returned, so callers that map errnos to messages (as
// ipvsadm does) print what they would have printed.
type invalidError struct {
	reason string
	errno  unix.Errno
}

func (e *invalidError) Error() string   { return e.reason }
func (e *invalidError) Unwrap() []error { return []error{ErrInvalid, e.errno} }

func invalidf(errno unix.Errno, format string, args ...any) error {
	return &invalidError{reason: fmt.Sprintf(format, args...), errno: errno}
}

func errnoName(e unix.Errno) string {
	if name := unix.ErrnoName(e); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", int(e))
}
