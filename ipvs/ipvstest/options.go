package ipvstest

import "slices"

// An Option configures a Kernel made by New.
type Option func(*config)

type config struct {
	unavailable      bool
	permissionDenied bool

	// Feature levels of older kernels.
	noStats64        bool // before 4.1
	noDestAddrFamily bool // before 3.18
	noTunnel         bool // before 5.2
	noTunnelFlags    bool // before 5.3
	noDaemonOptions  bool // before 4.3

	padU64        bool
	hashSeed      uint8
	dumpBatch     int
	rcvbuf        int
	readerBuffer  int
	connTableSize uint32
	schedulers    []string
	interfaces    map[string]int // name -> MTU
}

func defaultConfig() config {
	return config{
		rcvbuf:        212992, // net.core.rmem_default
		readerBuffer:  32768,
		connTableSize: 4096, // 1 << CONFIG_IP_VS_TAB_BITS (12)
		schedulers: []string{
			"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh",
			"sed", "nq", "fo", "ovf", "mh", "twos",
		},
		interfaces: map[string]int{"lo": 65536, "eth0": 1500, "eth1": 1500},
	}
}

// Unavailable makes a kernel without IPVS: the generic netlink family
// "IPVS" does not exist, as when the ip_vs module is not loaded.
func Unavailable() Option { return func(c *config) { c.unavailable = true } }

// PermissionDenied makes every IPVS command fail with EPERM, as for a
// caller without CAP_NET_ADMIN. Resolving the family still works.
func PermissionDenied() Option { return func(c *config) { c.permissionDenied = true } }

// WithoutStats64 emulates kernels before 4.1: no STATS64 nests in replies
// and 64-bit counters put without alignment padding.
func WithoutStats64() Option { return func(c *config) { c.noStats64 = true } }

// WithoutDestAddrFamily emulates kernels before 3.18: destinations have the
// service's family, the ADDR_FAMILY attribute is ignored in requests and
// absent from replies (and so are the newer destination attributes).
func WithoutDestAddrFamily() Option {
	return func(c *config) { c.noDestAddrFamily, c.noStats64, c.noTunnel = true, true, true }
}

// WithoutTunnel emulates kernels before 5.2: no TUN_TYPE, TUN_PORT or
// TUN_FLAGS destination attributes.
func WithoutTunnel() Option { return func(c *config) { c.noTunnel = true } }

// WithoutTunnelFlags emulates Linux 5.2: TUN_TYPE and TUN_PORT but no
// TUN_FLAGS.
func WithoutTunnelFlags() Option { return func(c *config) { c.noTunnelFlags = true } }

// WithoutDaemonOptions emulates kernels before 4.3: sync daemons have only
// STATE, MCAST_IFN and SYNC_ID; SYNC_MAXLEN, the group, port and TTL are
// ignored in requests and absent from replies.
func WithoutDaemonOptions() Option { return func(c *config) { c.noDaemonOptions = true } }

// PadU64 emulates architectures without efficient unaligned access (unlike
// x86-64 and arm64), where the kernel inserts IPVS_STATS_ATTR_PAD
// attributes so that 64-bit values are 8-byte aligned.
func PadU64() Option { return func(c *config) { c.padU64 = true } }

// HashSeed is XORed into the service table's bucket numbers. The real
// kernel mixes the address of the network namespace into its hash, which
// makes the unsorted listing order unpredictable; the default 0 leaves it
// out.
func HashSeed(seed uint8) Option { return func(c *config) { c.hashSeed = seed } }

// DumpBatchBytes fixes the size of every dump datagram. By default the
// kernel's own rule applies: the first batch of a fresh socket holds
// NLMSG_GOODSIZE (3776) bytes, later ones as much as the largest recvmsg
// buffer the reader has used (see ReaderBuffer), at most 32448 bytes.
func DumpBatchBytes(n int) Option { return func(c *config) { c.dumpBatch = n } }

// ReceiveBuffer sets the receive buffer capacity in bytes (the socket's
// sk_rcvbuf; default 212992). Replies beyond it are dropped and the next
// Receive fails with ENOBUFS.
func ReceiveBuffer(bytes int) Option { return func(c *config) { c.rcvbuf = bytes } }

// ReaderBuffer sets the buffer length the emulated client passes to
// recvmsg, which the kernel remembers to size dump batches (default
// 32768, as for a netlink.Config with MessageBufferSize 32768). Zero
// emulates netlink.Conn's default reader, which peeks at each datagram and
// then reads it with a buffer of exactly its size.
func ReaderBuffer(n int) Option { return func(c *config) { c.readerBuffer = n } }

// ConnTableSize sets the connection table size GET_INFO reports.
func ConnTableSize(n uint32) Option { return func(c *config) { c.connTableSize = n } }

// Schedulers replaces the list of scheduler modules the kernel has.
func Schedulers(names ...string) Option {
	return func(c *config) { c.schedulers = slices.Clone(names) }
}

// Interface adds (or changes) a network interface sync daemons can use.
func Interface(name string, mtu int) Option {
	return func(c *config) { c.interfaces[name] = mtu }
}
