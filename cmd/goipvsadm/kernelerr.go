package main

import (
	"errors"
	"strings"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"golang.org/x/sys/unix"
)

// operation is what ipvsadm's libipvs records as "the function last
// called": its error text depends on it (ESRCH is "No such service" when a
// service is edited but "Service not defined" when a real server is added).
type operation int

const (
	opGeneric operation = iota // init, full dumps, flush, --set, timeouts
	opAddService
	opEditService
	opDelService
	opZero
	opAddDest
	opEditDest
	opDelDest
	opStartDaemon
	opStopDaemon
	opGetDests
	opGetService
)

// operationOf is the libipvs operation whose messages an Op's errors use.
func operationOf(k ipvs.OpKind) operation {
	switch k {
	case ipvs.OpCreateService:
		return opAddService
	case ipvs.OpUpdateService:
		return opEditService
	case ipvs.OpDeleteService:
		return opDelService
	case ipvs.OpCreateDestination:
		return opAddDest
	case ipvs.OpUpdateDestination:
		return opEditDest
	case ipvs.OpDeleteDestination:
		return opDelDest
	}
	return opGeneric
}

// specificMessages are libipvs's per-operation texts.
var specificMessages = map[operation]map[unix.Errno]string{
	opAddService:  {unix.EEXIST: "Service already exists", unix.ENOENT: "Scheduler or persistence engine not found"},
	opEditService: {unix.ESRCH: "No such service", unix.ENOENT: "Scheduler or persistence engine not found"},
	opDelService:  {unix.ESRCH: "No such service"},
	opZero:        {unix.ESRCH: "No such service"},
	opAddDest:     {unix.ESRCH: "Service not defined", unix.EEXIST: "Destination already exists"},
	opEditDest:    {unix.ESRCH: "Service not defined", unix.ENOENT: "No such destination"},
	opDelDest:     {unix.ESRCH: "Service not defined", unix.ENOENT: "No such destination"},
	opStartDaemon: {unix.EEXIST: "Daemon has already run"},
	opStopDaemon:  {unix.ESRCH: "No daemon is running"},
	opGetDests:    {unix.ESRCH: "No such service"},
	opGetService:  {unix.ESRCH: "No such service"},
}

// genericMessages apply to every operation.
var genericMessages = map[unix.Errno]string{
	unix.EPERM:        "Permission denied (you must be root)",
	unix.EINVAL:       "Invalid operation.  Possibly wrong module version, address not unicast, ...",
	unix.ENOPROTOOPT:  "Protocol not available",
	unix.ENOMEM:       "Memory allocation problem",
	unix.EOPNOTSUPP:   "Operation not supported with IPv6",
	unix.EAFNOSUPPORT: "Operation not supported with specified address family",
	unix.EMSGSIZE:     "Module is wrong version",
}

// kernelMessage returns ipvsadm's text for an error of op. Errors that
// carry no errno (a malformed reply, a broken socket) are EINVAL to
// libipvs, and print as such.
func kernelMessage(op operation, err error) string {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		errno = unix.EINVAL
	}
	if msg, ok := specificMessages[op][errno]; ok {
		return msg
	}
	if msg, ok := genericMessages[errno]; ok {
		return msg
	}
	return strerror(errno)
}

// strerror returns glibc's text for errno. Go's table holds glibc's texts
// with the first letter lowered.
func strerror(errno unix.Errno) string {
	s := errno.Error()
	if s == "" || strings.HasPrefix(s, "errno ") {
		return "Unknown error " + strings.TrimPrefix(s, "errno ")
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
