// Package ipvs programs the Linux IP Virtual Server (IPVS, LVS) through the
// kernel's generic-netlink family "IPVS".
//
// A Client holds one netlink socket with the family resolved once, and a
// second one, opened on first use, for destination dumps (the kernel
// serves those much more cheaply on a socket that only reads small
// datagrams). It is safe for concurrent use: requests are serialised,
// every reply is checked against its request, and sockets that timed out
// or saw a stray reply are closed and dialled again on the next call.
//
// Every call takes a context. Its deadline and cancellation end the call
// wherever it waits: for another goroutine's call on the same Client, for
// the socket to be dialled and the family resolved (NewContext bounds
// construction the same way), and for the kernel's answer. Close ends the
// calls in flight.
//
// Services and destinations are plain values with comparable keys
// (ServiceKey, DestinationKey) and net/netip addresses; a value written and
// read back compares equal. The zero values are ipvsadm's defaults: the
// wlc scheduler, direct routing, a netmask of one address. To change one
// setting of an existing service or destination and keep the others, use
// Client.ModifyService and Client.ModifyDestination.
//
// Every error a Client returns is an *OpError naming the operation and the
// object. It matches a sentinel of this package with errors.Is
// (ErrServiceNotFound, ErrServiceExists, ErrClosed, ...), the kernel's
// errno where the kernel answered (errors.Is(err, unix.ESRCH)), the io/fs
// sentinel of its category (fs.ErrNotExist, fs.ErrExist,
// fs.ErrPermission), and context.Canceled or context.DeadlineExceeded when
// the context ended the call.
//
// Every IPVS operation, reads included, needs CAP_NET_ADMIN. The package
// never loads kernel modules by itself (the family lookup auto-loads ip_vs
// on most kernels); LoadModule does it explicitly, as ipvsadm does.
//
// The types and constants build on every operating system; off Linux,
// NewContext fails with ErrUnavailable (unless Config.Dial supplies a
// socket). Package ipvstest provides an in-memory kernel that speaks the
// same protocol, for tests without root.
package ipvs
