// Package compact holds values in forms without pointers, for the
// packages that keep a million of them (restore's rules, reconcile's
// tables): the garbage collector need not look inside them, and they take
// less room.
package compact

import "net/netip"

// Addr is a netip.Addr without its zone, which IPVS does not keep: 17
// bytes where a netip.Addr takes 24 and holds a pointer.
type Addr struct {
	b    [16]byte
	bits uint8 // 32, 128, or 0 for the zero netip.Addr
}

// AddrOf returns a's compact form, without its zone.
func AddrOf(a netip.Addr) Addr { return Addr{b: a.As16(), bits: uint8(a.BitLen())} }

// Addr returns the address.
func (a Addr) Addr() netip.Addr {
	switch a.bits {
	case 0:
		return netip.Addr{}
	case 32:
		return netip.AddrFrom16(a.b).Unmap()
	}
	return netip.AddrFrom16(a.b)
}
