package ipvs

import (
	"os"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// dialKernel opens a generic netlink socket in the namespace cfg names.
func dialKernel(cfg Config) (*netlink.Conn, error) {
	nc := &netlink.Config{NetNS: cfg.NetNS}
	if cfg.NetNSPath != "" {
		f, err := os.Open(cfg.NetNSPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		nc.NetNS = int(f.Fd())
	}
	return netlink.Dial(unix.NETLINK_GENERIC, nc)
}

// setReceiveBuffer raises SO_RCVBUF, forcing past rmem_max where the
// caller is privileged (it is: IPVS needs CAP_NET_ADMIN anyway). Failures
// only make large batches use smaller windows, so they are not errors.
func setReceiveBuffer(conn *netlink.Conn, size int) {
	if rc, err := conn.SyscallConn(); err == nil {
		var serr error
		rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
		})
		if serr == nil {
			return
		}
	}
	conn.SetReadBuffer(size)
}
