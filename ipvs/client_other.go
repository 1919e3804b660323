//go:build !linux

package ipvs

import (
	"errors"
	"runtime"

	"github.com/mdlayher/netlink"
)

// dialKernel fails: only Linux has IPVS. A Config.Dial hook still works.
func dialKernel(Config) (*netlink.Conn, error) {
	return nil, &OpError{Op: "open", Err: errNotLinux, kind: ErrUnavailable}
}

var errNotLinux = errors.New("IPVS needs Linux, not " + runtime.GOOS)

func setReceiveBuffer(*netlink.Conn, int) {}

// newLink speaks through netlink.Conn's message API.
func newLink(conn *netlink.Conn, _ int) link { return &connLink{conn: conn} }
