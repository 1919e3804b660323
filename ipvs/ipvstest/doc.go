// Package ipvstest is an in-memory Linux kernel with IPVS loaded, for
// testing IPVS clients without root and without the ip_vs module.
//
// A Kernel answers the real generic netlink protocol byte for byte as
// net/netfilter/ipvs/ip_vs_ctl.c (Linux 6.1 to 6.12, x86-64) does: family
// resolution through the generic netlink controller, NLMSG_ERROR
// acknowledgements that echo the request, dumps in batches sized as the
// kernel sizes them and ended by NLMSG_DONE in a datagram of its own, the
// kernel's attribute policies and its errno for each failure, and its
// receive-buffer accounting (ENOBUFS when a reader falls behind). Options
// select the behaviour of older kernels, and a fault hook (InjectFault)
// makes requests fail, stall, or get lost or corrupted replies.
//
// Use it through Kernel.Dial, which fits ipvs.Config:
//
//	k := ipvstest.New()
//	c, err := ipvs.New(&ipvs.Config{Dial: k.Dial})
//
// The receive side follows the kernel too. Every reply and acknowledgement
// is charged to the socket's receive buffer at about its sk_buff truesize
// (a 36-byte acknowledgement costs 768 bytes, a dump batch 4352 or 33024);
// a reply that finds the buffer over its limit is dropped, the next
// Receive fails once with ENOBUFS, and every later reply is dropped
// silently until the reader has emptied the queue, as with the kernel's
// NETLINK_S_CONGESTED state. A dump produces its next batch only when a
// read leaves the queue at most half full, and re-walks the table from
// the start each time, skipping what it already sent.
//
// What the fake does not reproduce: traffic (connections, rates; set them
// with SetStats, SetDestStats and SetDestConns), the destination trash (a
// deleted destination added back starts from zero), subnet broadcast
// addresses as invalid destinations, extended acknowledgement TLVs, and
// the per-namespace term of the service hash, so services listed without
// sorting (ipvsadm --nosort) come in an order a real kernel need not share
// (HashSeed can stand in for that term).
package ipvstest
