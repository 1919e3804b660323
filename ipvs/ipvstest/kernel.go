package ipvstest

import (
	"encoding/binary"
	"fmt"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/mdlayher/netlink"
)

// FamilyID is the generic netlink family ID the fake kernel gives IPVS.
// (A real kernel allocates it at module load; clients must resolve it by
// name, as they do against the fake.)
const FamilyID = 0x1b

// hz is the kernel's tick rate (Debian's CONFIG_HZ=250). Service timeouts
// are kept in ticks, which is visible when a large timeout overflows.
const hz = 250

// Kernel is an in-memory Linux kernel with IPVS loaded. Connections made by
// Dial talk to it over the real generic netlink protocol. A Kernel is safe
// for concurrent use.
type Kernel struct {
	cfg config

	mu sync.Mutex
	// The two service tables, as in ip_vs_ctl.c: address services hashed
	// by protocol, address and port, fwmark services by mark. Each bucket
	// lists its services newest first.
	addrTable [256][]*service
	fwmTable  [256][]*service
	// Connection timeouts in seconds.
	tcpTimeout, tcpFinTimeout, udpTimeout uint32
	// Running sync daemons.
	master, backup *daemon

	nextPort uint32

	faultMu  sync.Mutex
	requests int
	fault    func(Request) Fault
}

type service struct {
	af       uint16
	protocol uint16
	addr     [16]byte // IPv4 addresses use the first 4 bytes
	port     uint16
	fwmark   uint32
	sched    string // "none" for no scheduler
	pe       string
	flags    uint32 // without IP_VS_SVC_F_HASHED
	timeout  uint32 // in ticks
	netmask  uint32 // the attribute's 4 bytes read in native order
	stats    ipvs.Stats
	dests    []*dest // newest first
}

type dest struct {
	af         uint16
	addr       [16]byte
	port       uint16
	fwd        uint32
	weight     uint32
	uThresh    uint32
	lThresh    uint32
	tunType    uint8
	tunPort    uint16
	tunFlags   uint16
	active     uint32
	inactive   uint32
	persistent uint32
	stats      ipvs.Stats
}

type daemon struct {
	state   uint32
	ifname  string
	syncID  uint32
	maxLen  uint16
	groupAF uint16
	group   [16]byte
	port    uint16
	ttl     uint8
}

// New returns a fresh kernel: IPVS 1.2.1, a connection table of 4096,
// timeouts 900/120/300 seconds, the schedulers rr wrr lc wlc lblc lblcr dh
// sh sed nq fo ovf mh twos (and "none"), the persistence engine "sip", and
// the interfaces lo (MTU 65536), eth0 and eth1 (MTU 1500) for sync
// daemons.
func New(opts ...Option) *Kernel {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return &Kernel{
		cfg:           cfg,
		tcpTimeout:    900,
		tcpFinTimeout: 120,
		udpTimeout:    300,
		nextPort:      0x4000,
	}
}

// Dial returns a netlink connection to the kernel. Any number of
// connections may share one kernel. Its signature fits ipvs.Config.Dial.
func (k *Kernel) Dial() (*netlink.Conn, error) {
	k.mu.Lock()
	k.nextPort++
	port := k.nextPort
	k.mu.Unlock()
	s := newSocket(k, port)
	return netlink.NewConn(s, port), nil
}

// InjectFault installs f, which is consulted for every request the kernel
// receives (family resolution included), before it is handled, and
// decides what goes wrong with it. f is called without the kernel's lock
// held, so it may inspect the kernel (Services, Requests, ...); it may be
// called from several goroutines at once. A nil f removes the hook.
func (k *Kernel) InjectFault(f func(Request) Fault) {
	k.faultMu.Lock()
	k.fault = f
	k.faultMu.Unlock()
}

// Requests returns how many requests the kernel has received.
func (k *Kernel) Requests() int {
	k.faultMu.Lock()
	defer k.faultMu.Unlock()
	return k.requests
}

// Services returns the services and their destinations in the order the
// kernel dumps them: address services by hash bucket, then fwmark
// services by bucket, newest first within a bucket; destinations newest
// first. The bucket order equals a real kernel's only up to the
// per-namespace term it mixes into its hash (see HashSeed), so an
// unsorted listing (ipvsadm --nosort) need not match a real one.
func (k *Kernel) Services() []ipvs.ServiceEntry {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []ipvs.ServiceEntry
	k.eachService(func(s *service) bool {
		e := ipvs.ServiceEntry{Service: s.public()}
		for _, d := range s.dests {
			e.Destinations = append(e.Destinations, d.public())
		}
		out = append(out, e)
		return true
	})
	return out
}

// Timeouts returns the connection timeouts.
func (k *Kernel) Timeouts() ipvs.Timeouts {
	k.mu.Lock()
	defer k.mu.Unlock()
	return ipvs.Timeouts{
		TCP:    time.Duration(k.tcpTimeout) * time.Second,
		TCPFin: time.Duration(k.tcpFinTimeout) * time.Second,
		UDP:    time.Duration(k.udpTimeout) * time.Second,
	}
}

// Daemons returns the running sync daemons, master first.
func (k *Kernel) Daemons() []ipvs.Daemon {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []ipvs.Daemon
	for _, d := range []*daemon{k.master, k.backup} {
		if d == nil {
			continue
		}
		pd := ipvs.Daemon{
			State:     ipvs.DaemonState(d.state),
			Interface: d.ifname,
			SyncID:    d.syncID,
			MaxLen:    d.maxLen,
			Port:      d.port,
			TTL:       d.ttl,
		}
		if d.groupAF == uapi.AFInet6 {
			pd.Group = netip.AddrFrom16(d.group)
		} else {
			pd.Group = netip.AddrFrom4([4]byte(d.group[:4]))
		}
		out = append(out, pd)
	}
	return out
}

// SetStats sets a service's counters and rates, as traffic would.
func (k *Kernel) SetStats(svc ipvs.ServiceKey, s ipvs.Stats) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	sv, err := k.lookupKey(svc)
	if err != nil {
		return err
	}
	sv.stats = s
	return nil
}

// SetDestStats sets a destination's counters and rates.
func (k *Kernel) SetDestStats(svc ipvs.ServiceKey, d ipvs.DestinationKey, s ipvs.Stats) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	dst, err := k.lookupDestKey(svc, d)
	if err != nil {
		return err
	}
	dst.stats = s
	return nil
}

// SetDestConns sets a destination's connection counts.
func (k *Kernel) SetDestConns(svc ipvs.ServiceKey, d ipvs.DestinationKey, active, inactive, persistent uint32) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	dst, err := k.lookupDestKey(svc, d)
	if err != nil {
		return err
	}
	dst.active, dst.inactive, dst.persistent = active, inactive, persistent
	return nil
}

func (k *Kernel) lookupKey(key ipvs.ServiceKey) (*service, error) {
	var addr [16]byte
	af := uint16(key.Family)
	if key.FWMark == 0 {
		if af == 0 {
			af = familyOf(key.Addr)
		}
		addr = addrBytes(key.Addr)
	}
	proto := uint16(key.Protocol)
	if key.FWMark != 0 {
		if af == 0 {
			af = uapi.AFInet
		}
		proto = uapi.IPProtoTCP
	}
	s := k.lookup(af, key.FWMark, proto, addr, key.Port)
	if s == nil {
		return nil, fmt.Errorf("ipvstest: no service %v", key)
	}
	return s, nil
}

func (k *Kernel) lookupDestKey(svc ipvs.ServiceKey, d ipvs.DestinationKey) (*dest, error) {
	s, err := k.lookupKey(svc)
	if err != nil {
		return nil, err
	}
	dst := s.lookupDest(familyOf(d.Addr), addrBytes(d.Addr), d.Port)
	if dst == nil {
		return nil, fmt.Errorf("ipvstest: no destination %v in service %v", d, svc)
	}
	return dst, nil
}

func familyOf(a netip.Addr) uint16 {
	if a.Is4() {
		return uapi.AFInet
	}
	if a.Is6() {
		return uapi.AFInet6
	}
	return 0
}

func addrBytes(a netip.Addr) [16]byte {
	var b [16]byte
	if a.Is4() {
		v := a.As4()
		copy(b[:], v[:])
	} else if a.Is6() {
		b = a.As16()
	}
	return b
}

func toAddr(af uint16, b [16]byte) netip.Addr {
	if af == uapi.AFInet6 {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

// addrEqual is ip_vs_addr_equal: IPv4 compares the first four bytes only.
func addrEqual(af uint16, a, b [16]byte) bool {
	if af == uapi.AFInet6 {
		return a == b
	}
	return [4]byte(a[:4]) == [4]byte(b[:4])
}

// normalizeAddr is ip_vs_addr_copy into zeroed memory.
func normalizeAddr(af uint16, a [16]byte) [16]byte {
	if af == uapi.AFInet6 {
		return a
	}
	var b [16]byte
	copy(b[:4], a[:4])
	return b
}

func (s *service) public() ipvs.Service {
	p := ipvs.Service{
		Family:    ipvs.Family(s.af),
		Scheduler: s.sched,
		Flags:     ipvs.ServiceFlags(s.flags),
		Timeout:   s.timeout / hz,
		PEName:    s.pe,
		Stats:     s.stats,
	}
	if s.fwmark != 0 {
		p.FWMark = s.fwmark
	} else {
		p.Protocol = ipvs.Protocol(s.protocol)
		p.Addr = toAddr(s.af, s.addr)
		p.Port = s.port
	}
	if s.af == uapi.AFInet6 {
		p.Netmask = ipvs.IPv6Prefix(int(s.netmask))
	} else {
		p.Netmask = ipvs.IPv4NetmaskBits(binary.BigEndian.Uint32(binary.NativeEndian.AppendUint32(nil, s.netmask)))
	}
	return p
}

func (d *dest) public() ipvs.Destination {
	return ipvs.Destination{
		Addr:            toAddr(d.af, d.addr),
		Port:            d.port,
		ForwardMethod:   ipvs.ForwardMethod(uapi.FwdMethodIndex(d.fwd)),
		Weight:          d.weight,
		UpperThreshold:  d.uThresh,
		LowerThreshold:  d.lThresh,
		TunnelType:      ipvs.TunnelType(d.tunType),
		TunnelPort:      d.tunPort,
		TunnelFlags:     ipvs.TunnelFlags(d.tunFlags),
		ActiveConns:     d.active,
		InactiveConns:   d.inactive,
		PersistentConns: d.persistent,
		Stats:           d.stats,
	}
}

// svcHash is ip_vs_svc_hashkey without the namespace pointer term, which
// HashSeed stands in for.
func (k *Kernel) svcHash(af uint16, proto uint16, addr [16]byte, port uint16) int {
	fold := binary.BigEndian.Uint32(addr[0:4])
	if af == uapi.AFInet6 {
		fold ^= binary.BigEndian.Uint32(addr[4:8]) ^
			binary.BigEndian.Uint32(addr[8:12]) ^
			binary.BigEndian.Uint32(addr[12:16])
	}
	p := uint32(port)
	return int((uint32(proto)^fold^(p>>8)^p^uint32(k.cfg.hashSeed))&0xff) & 0xff
}

func (k *Kernel) fwmHash(mark uint32) int {
	return int((mark ^ uint32(k.cfg.hashSeed)) & 0xff)
}

// lookup is ip_vs_genl_parse_service's table search: fwmark services by
// family and mark, others by family, protocol, address and port.
func (k *Kernel) lookup(af uint16, fwmark uint32, proto uint16, addr [16]byte, port uint16) *service {
	if fwmark != 0 {
		for _, s := range k.fwmTable[k.fwmHash(fwmark)] {
			if s.fwmark == fwmark && s.af == af {
				return s
			}
		}
		return nil
	}
	for _, s := range k.addrTable[k.svcHash(af, proto, addr, port)] {
		if s.af == af && addrEqual(af, s.addr, addr) && s.port == port && s.protocol == proto {
			return s
		}
	}
	return nil
}

func (k *Kernel) insert(s *service) {
	if s.fwmark != 0 {
		h := k.fwmHash(s.fwmark)
		k.fwmTable[h] = slices.Insert(k.fwmTable[h], 0, s)
		return
	}
	h := k.svcHash(s.af, s.protocol, s.addr, s.port)
	k.addrTable[h] = slices.Insert(k.addrTable[h], 0, s)
}

func (k *Kernel) remove(s *service) {
	bucket := &k.addrTable[k.svcHash(s.af, s.protocol, s.addr, s.port)]
	if s.fwmark != 0 {
		bucket = &k.fwmTable[k.fwmHash(s.fwmark)]
	}
	if i := slices.Index(*bucket, s); i >= 0 {
		*bucket = slices.Delete(*bucket, i, i+1)
	}
}

// eachService walks the tables in dump order until f returns false.
func (k *Kernel) eachService(f func(*service) bool) {
	for _, table := range []*[256][]*service{&k.addrTable, &k.fwmTable} {
		for _, bucket := range table {
			for _, s := range bucket {
				if !f(s) {
					return
				}
			}
		}
	}
}

func (s *service) lookupDest(af uint16, addr [16]byte, port uint16) *dest {
	for _, d := range s.dests {
		if d.af == af && addrEqual(af, d.addr, addr) && d.port == port {
			return d
		}
	}
	return nil
}

// mixedDests counts destinations whose family differs from their
// service's (the kernel's mixed_address_family_dests).
func (k *Kernel) mixedDests() int {
	n := 0
	k.eachService(func(s *service) bool {
		for _, d := range s.dests {
			if d.af != s.af {
				n++
			}
		}
		return true
	})
	return n
}
