package ipvs

import (
	"errors"
	"os"
	"syscall"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"github.com/mdlayher/genetlink"
)

// errFamilyGone is why a call failed when the family number the Client
// resolved no longer names IPVS: ip_vs was unloaded (and perhaps loaded
// again under another number). The next call resolves the family again.
var errFamilyGone = errors.New("the IPVS generic-netlink family went away under the client (ip_vs unloaded?)")

// staleFamilyLocked is called with an error the kernel answered: when it
// is ENOENT and the Client's family number is no longer IPVS's, the
// sockets are dropped and the error to return instead is an
// ErrUnavailable one; otherwise nil (ENOENT is also the kernel's answer
// to an unknown scheduler).
func (c *Client) staleFamilyLocked(err error) error {
	if !errors.Is(err, syscall.ENOENT) || !c.familyGoneLocked() {
		return nil
	}
	c.dropLocked()
	return &OpError{Op: "open", Err: errFamilyGone, kind: ErrUnavailable}
}

// familyGoneLocked asks the kernel, on a socket of its own, whether IPVS
// is still the family the Client resolved. Like every new Client's first
// question, it may make the kernel load ip_vs.
func (c *Client) familyGoneLocked() bool {
	conn, err := c.openConn()
	if err != nil {
		return false // cannot tell; the error stays the kernel's
	}
	defer conn.Close()
	fam, err := genetlink.NewConn(conn).GetFamily(uapi.FamilyName)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	return fam.ID != c.family
}

// staleResultsLocked is staleFamilyLocked for a batch: when ops were
// refused with ENOENT because the family went away, their results say so
// instead, and so does the returned error.
func (c *Client) staleResultsLocked(ops []Op, results []error) error {
	first := -1
	for i, r := range results {
		if errors.Is(r, syscall.ENOENT) {
			first = i
			break
		}
	}
	if first < 0 {
		return nil
	}
	gone := c.staleFamilyLocked(results[first])
	if gone == nil {
		return nil
	}
	for i, r := range results {
		if errors.Is(r, syscall.ENOENT) {
			results[i] = ops[i].errorFor(gone)
		}
	}
	return gone
}
