package ipvstest

import (
	"encoding/binary"
	"slices"
	"syscall"

	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// Attribute policies of ip_vs_ctl.c.
var cmdPolicy = policy{
	uapi.CmdAttrTimeoutUDP:    {kind: kindU32},
	uapi.CmdAttrService:       {kind: kindNested},
	uapi.CmdAttrDest:          {kind: kindNested},
	uapi.CmdAttrDaemon:        {kind: kindNested},
	uapi.CmdAttrTimeoutTCP:    {kind: kindU32},
	uapi.CmdAttrTimeoutTCPFin: {kind: kindU32},
}

var svcPolicy = policy{
	uapi.SvcAttrStats64:   {}, // not in the kernel's policy, but within its maxattr
	uapi.SvcAttrAF:        {kind: kindU16},
	uapi.SvcAttrProtocol:  {kind: kindU16},
	uapi.SvcAttrAddr:      {kind: kindBinary, len: uapi.AddrLen},
	uapi.SvcAttrPort:      {kind: kindU16},
	uapi.SvcAttrFwmark:    {kind: kindU32},
	uapi.SvcAttrSchedName: {kind: kindNulString, len: uapi.SchedNameMaxLen - 1},
	uapi.SvcAttrPEName:    {kind: kindNulString, len: uapi.PENameMaxLen},
	uapi.SvcAttrFlags:     {kind: kindBinary, len: 8},
	uapi.SvcAttrTimeout:   {kind: kindU32},
	uapi.SvcAttrNetmask:   {kind: kindU32},
	uapi.SvcAttrStats:     {kind: kindNested},
}

var destPolicy = policy{
	uapi.DestAttrTunFlags:     {kind: kindU16},
	uapi.DestAttrAddr:         {kind: kindBinary, len: uapi.AddrLen},
	uapi.DestAttrPort:         {kind: kindU16},
	uapi.DestAttrFwdMethod:    {kind: kindU32},
	uapi.DestAttrWeight:       {kind: kindU32},
	uapi.DestAttrUThresh:      {kind: kindU32},
	uapi.DestAttrLThresh:      {kind: kindU32},
	uapi.DestAttrActiveConns:  {kind: kindU32},
	uapi.DestAttrInactConns:   {kind: kindU32},
	uapi.DestAttrPersistConns: {kind: kindU32},
	uapi.DestAttrStats:        {kind: kindNested},
	uapi.DestAttrAddrFamily:   {kind: kindU16},
	uapi.DestAttrStats64:      {},
	uapi.DestAttrTunType:      {kind: kindU8},
	uapi.DestAttrTunPort:      {kind: kindU16},
}

var daemonPolicy = policy{
	uapi.DaemonAttrMcastTTL:    {kind: kindU8},
	uapi.DaemonAttrState:       {kind: kindU32},
	uapi.DaemonAttrMcastIfn:    {kind: kindNulString, len: uapi.IfNameMaxLen - 1},
	uapi.DaemonAttrSyncID:      {kind: kindU32},
	uapi.DaemonAttrSyncMaxLen:  {kind: kindU16},
	uapi.DaemonAttrMcastGroup:  {kind: kindU32},
	uapi.DaemonAttrMcastGroup6: {len: 16},
	uapi.DaemonAttrMcastPort:   {kind: kindU16},
}

// The policies shrink to the attributes older kernels knew; they ignore
// the rest.
func (k *Kernel) svcPolicy() policy {
	if k.cfg.noStats64 {
		return svcPolicy[:uapi.SvcAttrPEName+1]
	}
	return svcPolicy
}

func (k *Kernel) destPolicy() policy {
	switch {
	case k.cfg.noDestAddrFamily:
		return destPolicy[:uapi.DestAttrStats+1]
	case k.cfg.noStats64:
		return destPolicy[:uapi.DestAttrAddrFamily+1]
	case k.cfg.noTunnel:
		return destPolicy[:uapi.DestAttrStats64+1]
	case k.cfg.noTunnelFlags:
		return destPolicy[:uapi.DestAttrTunPort+1]
	}
	return destPolicy
}

func (k *Kernel) daemonPolicy() policy {
	if k.cfg.noDaemonOptions {
		return daemonPolicy[:uapi.DaemonAttrSyncID+1]
	}
	return daemonPolicy
}

// ipvsDo handles an IPVS command that is not a dump. Called with k.mu held.
func (k *Kernel) ipvsDo(s *socket, h header, cmd uint8, attrs [][]byte) ([]reply, syscall.Errno, bool) {
	switch cmd {
	case uapi.CmdGetService, uapi.CmdGetConfig, uapi.CmdGetInfo:
		r, errno := k.getCmd(s, h, cmd, attrs)
		return r, errno, false
	case uapi.CmdNewDaemon, uapi.CmdDelDaemon:
		return nil, k.setDaemon(cmd, attrs), false
	}
	return nil, k.setCmd(cmd, attrs), false
}

// userService is the request's service, ip_vs_service_user_kern.
type userService struct {
	af       uint16
	protocol uint16
	addr     [16]byte
	port     uint16
	fwmark   uint32
	flags    uint32 // including IP_VS_SVC_F_HASHED when prefilled
	sched    string
	pe       string
	timeout  uint32
	netmask  uint32
}

// parseService is ip_vs_genl_parse_service: it returns the service the
// identity names (nil if none) and, for a full entry, its new settings.
func (k *Kernel) parseService(nla []byte, full bool) (*service, userService, syscall.Errno) {
	var u userService
	if nla == nil {
		return nil, u, syscall.EINVAL
	}
	tb, errno := parseAttrs(nla, k.svcPolicy())
	if errno != 0 {
		return nil, u, syscall.EINVAL
	}
	af, proto, addr, port, mark := tb[uapi.SvcAttrAF], tb[uapi.SvcAttrProtocol], tb[uapi.SvcAttrAddr], tb[uapi.SvcAttrPort], tb[uapi.SvcAttrFwmark]
	if af == nil || (mark == nil && (port == nil || proto == nil || addr == nil)) {
		return nil, u, syscall.EINVAL
	}
	u.af = getU16(af)
	if u.af != uapi.AFInet && u.af != uapi.AFInet6 {
		return nil, u, syscall.EAFNOSUPPORT
	}
	if mark != nil {
		u.protocol = uapi.IPProtoTCP
		u.fwmark = getU32(mark)
	} else {
		u.protocol = getU16(proto)
		memcpy(u.addr[:], addr)
		u.port = getBE16(port)
	}
	svc := k.lookup(u.af, u.fwmark, u.protocol, u.addr, u.port)

	if full {
		sched, flags, timeout, netmask := tb[uapi.SvcAttrSchedName], tb[uapi.SvcAttrFlags], tb[uapi.SvcAttrTimeout], tb[uapi.SvcAttrNetmask]
		if sched == nil || flags == nil || timeout == nil || netmask == nil {
			return svc, u, syscall.EINVAL
		}
		var fm [8]byte
		memcpy(fm[:], flags)
		set, mask := getU32(fm[0:]), getU32(fm[4:])
		if svc != nil {
			u.flags = svc.flags | uapi.SvcFlagHashed
		}
		u.flags = u.flags&^mask | set&mask
		u.sched = getCString(sched)
		if pe := tb[uapi.SvcAttrPEName]; pe != nil {
			u.pe = getCString(pe)
		}
		u.timeout = getU32(timeout)
		u.netmask = getU32(netmask)
	}
	return svc, u, 0
}

// userDest is the request's destination, ip_vs_dest_user_kern.
type userDest struct {
	af       uint16
	addr     [16]byte
	port     uint16
	fwd      uint32
	weight   int32
	uThresh  uint32
	lThresh  uint32
	tunType  uint8
	tunPort  uint16
	tunFlags uint16
}

// parseDest is ip_vs_genl_parse_dest.
func (k *Kernel) parseDest(nla []byte, full bool) (userDest, syscall.Errno) {
	var u userDest
	if nla == nil {
		return u, syscall.EINVAL
	}
	tb, errno := parseAttrs(nla, k.destPolicy())
	if errno != 0 {
		return u, syscall.EINVAL
	}
	addr, port := tb[uapi.DestAttrAddr], tb[uapi.DestAttrPort]
	if addr == nil || port == nil {
		return u, syscall.EINVAL
	}
	memcpy(u.addr[:], addr)
	u.port = getBE16(port)
	if len(tb) > uapi.DestAttrAddrFamily {
		if af := tb[uapi.DestAttrAddrFamily]; af != nil {
			u.af = getU16(af)
		}
	}
	if full {
		fwd, weight, uth, lth := tb[uapi.DestAttrFwdMethod], tb[uapi.DestAttrWeight], tb[uapi.DestAttrUThresh], tb[uapi.DestAttrLThresh]
		if fwd == nil || weight == nil || uth == nil || lth == nil {
			return u, syscall.EINVAL
		}
		u.fwd = getU32(fwd) & uapi.FwdMask
		u.weight = int32(getU32(weight))
		u.uThresh = getU32(uth)
		u.lThresh = getU32(lth)
		if len(tb) > uapi.DestAttrTunPort {
			if a := tb[uapi.DestAttrTunType]; a != nil {
				u.tunType = getU8(a)
			}
			if a := tb[uapi.DestAttrTunPort]; a != nil {
				u.tunPort = getBE16(a)
			}
		}
		if len(tb) > uapi.DestAttrTunFlags {
			if a := tb[uapi.DestAttrTunFlags]; a != nil {
				u.tunFlags = getU16(a)
			}
		}
	}
	return u, 0
}

// setCmd is ip_vs_genl_set_cmd.
func (k *Kernel) setCmd(cmd uint8, attrs [][]byte) syscall.Errno {
	switch {
	case cmd == uapi.CmdFlush:
		for i := range k.addrTable {
			k.addrTable[i] = nil
			k.fwmTable[i] = nil
		}
		return 0
	case cmd == uapi.CmdSetConfig:
		return k.setConfig(attrs)
	case cmd == uapi.CmdZero && attrs[uapi.CmdAttrService] == nil:
		k.eachService(func(s *service) bool {
			s.zero()
			return true
		})
		return 0
	}

	full := cmd == uapi.CmdNewService || cmd == uapi.CmdSetService
	svc, usvc, errno := k.parseService(attrs[uapi.CmdAttrService], full)
	if errno != 0 {
		return errno
	}
	if cmd != uapi.CmdNewService && svc == nil {
		return syscall.ESRCH
	}

	var udest userDest
	if cmd == uapi.CmdNewDest || cmd == uapi.CmdSetDest || cmd == uapi.CmdDelDest {
		udest, errno = k.parseDest(attrs[uapi.CmdAttrDest], cmd != uapi.CmdDelDest)
		if errno != 0 {
			return errno
		}
		if udest.af == 0 {
			udest.af = svc.af
		}
		if udest.af != uapi.AFInet && udest.af != uapi.AFInet6 {
			return syscall.EAFNOSUPPORT
		}
		if udest.af != svc.af && cmd != uapi.CmdDelDest {
			// The sync protocol cannot carry mixed families, and
			// only tunnels can forward across them.
			if k.master != nil || k.backup != nil || udest.fwd != uapi.FwdTunnel {
				return syscall.EINVAL
			}
		}
		udest.addr = normalizeAddr(udest.af, udest.addr)
	}

	switch cmd {
	case uapi.CmdNewService:
		if svc != nil {
			return syscall.EEXIST
		}
		return k.addService(usvc)
	case uapi.CmdSetService:
		return k.editService(svc, usvc)
	case uapi.CmdDelService:
		k.remove(svc)
		return 0
	case uapi.CmdNewDest:
		return k.addDest(svc, udest)
	case uapi.CmdSetDest:
		return k.editDest(svc, udest)
	case uapi.CmdDelDest:
		d := svc.lookupDest(udest.af, udest.addr, udest.port)
		if d == nil {
			return syscall.ENOENT
		}
		svc.dests = slices.DeleteFunc(svc.dests, func(x *dest) bool { return x == d })
		return 0
	case uapi.CmdZero:
		svc.zero()
		return 0
	}
	return syscall.EINVAL
}

func (s *service) zero() {
	s.stats = ipvs.Stats{}
	for _, d := range s.dests {
		d.stats = ipvs.Stats{}
	}
}

// checkSchedPE looks the scheduler and persistence engine up as
// ip_vs_add_service and ip_vs_edit_service do, with the IPv6 netmask check
// that follows.
func (k *Kernel) checkSchedPE(u userService) syscall.Errno {
	if u.sched != "none" && !slices.Contains(k.cfg.schedulers, u.sched) {
		return syscall.ENOENT
	}
	if u.pe != "" && u.pe != "sip" {
		return syscall.ENOENT
	}
	if u.af == uapi.AFInet6 && (u.netmask < 1 || u.netmask > 128) {
		return syscall.EINVAL
	}
	return 0
}

func (k *Kernel) addService(u userService) syscall.Errno {
	if errno := k.checkSchedPE(u); errno != 0 {
		return errno
	}
	k.insert(&service{
		af:       u.af,
		protocol: u.protocol,
		addr:     normalizeAddr(u.af, u.addr),
		port:     u.port,
		fwmark:   u.fwmark,
		sched:    u.sched,
		pe:       u.pe,
		flags:    u.flags &^ uapi.SvcFlagHashed,
		timeout:  u.timeout * hz,
		netmask:  u.netmask,
	})
	return 0
}

func (k *Kernel) editService(s *service, u userService) syscall.Errno {
	if errno := k.checkSchedPE(u); errno != 0 {
		return errno
	}
	s.sched = u.sched
	s.flags = u.flags &^ uapi.SvcFlagHashed
	s.timeout = u.timeout * hz
	s.netmask = u.netmask
	s.pe = u.pe
	return 0
}

// checkDest is the validation ip_vs_add_dest and ip_vs_edit_dest share.
func checkDest(u userDest) syscall.Errno {
	if u.weight < 0 || u.lThresh > u.uThresh {
		return syscall.ERANGE
	}
	if u.tunType == uapi.TunTypeGUE && u.tunPort == 0 {
		return syscall.EINVAL
	}
	return 0
}

// destAddrValid stands in for the kernel's address type checks: IPv4
// destinations must be unicast or local by inet_addr_type, IPv6 ones
// unicast and not link-local (the fake has no local link-local addresses).
// Subnet broadcast addresses are not emulated: the fake's interfaces have
// no IPv4 subnets.
func destAddrValid(af uint16, a [16]byte) bool {
	if af == uapi.AFInet {
		ip := [4]byte(a[:4])
		switch {
		case ip == [4]byte{}, ip == [4]byte{255, 255, 255, 255}:
			return false // RTN_BROADCAST
		case ip[0]&0xf0 == 0xe0:
			return false // RTN_MULTICAST
		}
		return true
	}
	switch {
	case a[0] == 0xff: // multicast
		return false
	case a[0] == 0xfe && a[1]&0xc0 == 0x80: // link-local
		return false
	case a == [16]byte{}: // unspecified
		return false
	case [12]byte(a[:12]) == [12]byte{10: 0xff, 11: 0xff}: // IPv4-mapped
		return false
	}
	return true
}

func (k *Kernel) addDest(s *service, u userDest) syscall.Errno {
	if errno := checkDest(u); errno != 0 {
		return errno
	}
	if s.lookupDest(u.af, u.addr, u.port) != nil {
		return syscall.EEXIST
	}
	if !destAddrValid(u.af, u.addr) {
		return syscall.EINVAL
	}
	d := &dest{af: u.af, addr: u.addr, port: u.port}
	d.update(u)
	s.dests = slices.Insert(s.dests, 0, d)
	return 0
}

func (k *Kernel) editDest(s *service, u userDest) syscall.Errno {
	if errno := checkDest(u); errno != 0 {
		return errno
	}
	d := s.lookupDest(u.af, u.addr, u.port)
	if d == nil {
		return syscall.ENOENT
	}
	d.update(u)
	return 0
}

// update is the part of __ip_vs_update_dest a reader can see.
func (d *dest) update(u userDest) {
	d.weight = uint32(u.weight)
	d.fwd = u.fwd
	d.tunType, d.tunPort, d.tunFlags = u.tunType, u.tunPort, u.tunFlags
	d.uThresh, d.lThresh = u.uThresh, u.lThresh
}

// setConfig is ip_vs_genl_set_config and ip_vs_set_timeout: zero keeps a
// timeout, and each must fit in an int of ticks.
func (k *Kernel) setConfig(attrs [][]byte) syscall.Errno {
	t := [3]uint32{k.tcpTimeout, k.tcpFinTimeout, k.udpTimeout}
	for i, a := range []uint16{uapi.CmdAttrTimeoutTCP, uapi.CmdAttrTimeoutTCPFin, uapi.CmdAttrTimeoutUDP} {
		if b := attrs[a]; b != nil {
			t[i] = getU32(b)
		}
	}
	const maxSeconds = (1<<31 - 1) / hz
	for _, v := range t {
		if int32(v) < 0 || v > maxSeconds {
			return syscall.EINVAL
		}
	}
	for i, p := range []*uint32{&k.tcpTimeout, &k.tcpFinTimeout, &k.udpTimeout} {
		if t[i] != 0 {
			*p = t[i]
		}
	}
	return 0
}

// getCmd is ip_vs_genl_get_cmd: one reply message.
func (k *Kernel) getCmd(s *socket, h header, cmd uint8, attrs [][]byte) ([]reply, syscall.Errno) {
	replyCmd := map[uint8]uint8{
		uapi.CmdGetService: uapi.CmdNewService,
		uapi.CmdGetInfo:    uapi.CmdSetInfo,
		uapi.CmdGetConfig:  uapi.CmdSetConfig,
	}[cmd]
	w := newMessage(0, k.cfg.padU64, replyCmd, uapi.FamilyVersion)
	switch cmd {
	case uapi.CmdGetService:
		svc, _, errno := k.parseService(attrs[uapi.CmdAttrService], false)
		if errno != 0 {
			return nil, errno
		}
		if svc == nil {
			return nil, syscall.ESRCH
		}
		k.writeService(w, svc)
	case uapi.CmdGetConfig:
		w.putU32(uapi.CmdAttrTimeoutTCP, k.tcpTimeout)
		w.putU32(uapi.CmdAttrTimeoutTCPFin, k.tcpFinTimeout)
		w.putU32(uapi.CmdAttrTimeoutUDP, k.udpTimeout)
	case uapi.CmdGetInfo:
		w.putU32(uapi.InfoAttrVersion, 0x010201) // IP_VS_VERSION_CODE, 1.2.1
		w.putU32(uapi.InfoAttrConnTabSize, k.cfg.connTableSize)
	}
	b := finishMessage(w, FamilyID, 0, h.seq, s.port)
	return []reply{{b: b, alloc: nlmsgGoodSize}}, 0
}

// setDaemon is ip_vs_genl_set_daemon.
func (k *Kernel) setDaemon(cmd uint8, attrs [][]byte) syscall.Errno {
	nla := attrs[uapi.CmdAttrDaemon]
	if nla == nil {
		return syscall.EINVAL
	}
	tb, errno := parseAttrs(nla, k.daemonPolicy())
	if errno != 0 {
		return syscall.EINVAL
	}
	if cmd == uapi.CmdDelDaemon {
		st := tb[uapi.DaemonAttrState]
		if st == nil {
			return syscall.EINVAL
		}
		switch getU32(st) {
		case uapi.StateMaster:
			if k.master == nil {
				return syscall.ESRCH
			}
			k.master = nil
		case uapi.StateBackup:
			if k.backup == nil {
				return syscall.ESRCH
			}
			k.backup = nil
		default:
			return syscall.EINVAL
		}
		return 0
	}
	return k.newDaemon(tb)
}

// newDaemon is ip_vs_genl_new_daemon and start_sync_thread.
func (k *Kernel) newDaemon(tb [][]byte) syscall.Errno {
	d, errno := parseDaemon(tb)
	if errno != 0 {
		return errno
	}
	if k.mixedDests() > 0 {
		return syscall.EINVAL
	}
	return k.startSyncThread(d)
}

// parseDaemon reads the attributes of a NEW_DAEMON request, as
// ip_vs_genl_new_daemon does.
func parseDaemon(tb [][]byte) (*daemon, syscall.Errno) {
	st, ifn, id := tb[uapi.DaemonAttrState], tb[uapi.DaemonAttrMcastIfn], tb[uapi.DaemonAttrSyncID]
	if st == nil || ifn == nil || id == nil {
		return nil, syscall.EINVAL
	}
	d := &daemon{ifname: getCString(ifn), syncID: getU32(id), state: getU32(st)}
	if len(tb) > uapi.DaemonAttrMcastTTL {
		if a := tb[uapi.DaemonAttrSyncMaxLen]; a != nil {
			d.maxLen = getU16(a)
		}
		if a := tb[uapi.DaemonAttrMcastGroup]; a != nil {
			d.groupAF = uapi.AFInet
			copy(d.group[:4], a)
			if d.group[0]&0xf0 != 0xe0 {
				return nil, syscall.EINVAL
			}
		} else if a := tb[uapi.DaemonAttrMcastGroup6]; a != nil {
			d.groupAF = uapi.AFInet6
			copy(d.group[:], a)
			if d.group[0] != 0xff {
				return nil, syscall.EINVAL
			}
		}
		if a := tb[uapi.DaemonAttrMcastPort]; a != nil {
			d.port = getU16(a)
		}
		if a := tb[uapi.DaemonAttrMcastTTL]; a != nil {
			d.ttl = getU8(a)
		}
	}
	return d, 0
}

// startSyncThread is start_sync_thread: the defaults, the interface, the
// message size, and one daemon of each state.
func (k *Kernel) startSyncThread(d *daemon) syscall.Errno {
	if d.groupAF == 0 {
		d.groupAF = uapi.AFInet
		d.group = [16]byte{224, 0, 0, 81}
	}
	if d.port == 0 {
		d.port = 8848
	}
	if d.ttl == 0 {
		d.ttl = 1
	}
	mtu, ok := k.cfg.interfaces[d.ifname]
	if !ok {
		return syscall.ENODEV
	}
	hlen := 20 + 8
	if d.groupAF == uapi.AFInet6 {
		hlen = 40 + 8
	}
	minMTU := 1
	if d.state == uapi.StateBackup {
		mtu = min(max(mtu, 1500), 65535)
		minMTU = 1024
	} else {
		mtu = min(max(mtu, 576), 65535)
	}
	if d.maxLen != 0 {
		d.maxLen = uint16(min(max(int(d.maxLen), minMTU), mtu-hlen))
	} else {
		d.maxLen = uint16(mtu - hlen)
	}
	switch d.state {
	case uapi.StateMaster:
		if k.master != nil {
			return syscall.EEXIST
		}
		k.master = d
	case uapi.StateBackup:
		if k.backup != nil {
			return syscall.EEXIST
		}
		k.backup = d
	default:
		return syscall.EINVAL
	}
	return 0
}

// writeService is ip_vs_genl_fill_service.
func (k *Kernel) writeService(w *attrWriter, s *service) {
	nest := w.nest(uapi.CmdAttrService)
	w.putU16(uapi.SvcAttrAF, s.af)
	if s.fwmark != 0 {
		w.putU32(uapi.SvcAttrFwmark, s.fwmark)
	} else {
		w.putU16(uapi.SvcAttrProtocol, s.protocol)
		w.put(uapi.SvcAttrAddr, s.addr[:])
		w.putBE16(uapi.SvcAttrPort, s.port)
	}
	w.putString(uapi.SvcAttrSchedName, s.sched)
	if s.pe != "" {
		w.putString(uapi.SvcAttrPEName, s.pe)
	}
	flags := binary.NativeEndian.AppendUint32(nil, s.flags|uapi.SvcFlagHashed)
	w.put(uapi.SvcAttrFlags, binary.NativeEndian.AppendUint32(flags, 0xffffffff))
	w.putU32(uapi.SvcAttrTimeout, s.timeout/hz)
	w.putU32(uapi.SvcAttrNetmask, s.netmask)
	k.writeStats(w, uapi.SvcAttrStats, uapi.SvcAttrStats64, s.stats)
	w.endNest(nest)
}

// writeDest is ip_vs_genl_fill_dest.
func (k *Kernel) writeDest(w *attrWriter, d *dest) {
	nest := w.nest(uapi.CmdAttrDest)
	w.put(uapi.DestAttrAddr, d.addr[:])
	w.putBE16(uapi.DestAttrPort, d.port)
	w.putU32(uapi.DestAttrFwdMethod, d.fwd)
	w.putU32(uapi.DestAttrWeight, d.weight)
	if !k.cfg.noTunnel {
		w.putU8(uapi.DestAttrTunType, d.tunType)
		w.putBE16(uapi.DestAttrTunPort, d.tunPort)
		if !k.cfg.noTunnelFlags {
			w.putU16(uapi.DestAttrTunFlags, d.tunFlags)
		}
	}
	w.putU32(uapi.DestAttrUThresh, d.uThresh)
	w.putU32(uapi.DestAttrLThresh, d.lThresh)
	w.putU32(uapi.DestAttrActiveConns, d.active)
	w.putU32(uapi.DestAttrInactConns, d.inactive)
	w.putU32(uapi.DestAttrPersistConns, d.persistent)
	if !k.cfg.noDestAddrFamily {
		w.putU16(uapi.DestAttrAddrFamily, d.af)
	}
	k.writeStats(w, uapi.DestAttrStats, uapi.DestAttrStats64, d.stats)
	w.endNest(nest)
}

// writeStats is ip_vs_genl_fill_stats and ip_vs_genl_fill_stats64.
func (k *Kernel) writeStats(w *attrWriter, typ, typ64 uint16, st ipvs.Stats) {
	u64 := func(t uint16, v uint64) {
		if k.cfg.noStats64 {
			w.putU64(t, v)
		} else {
			w.putU64Pad(t, uapi.StatsPad, v)
		}
	}
	nest := w.nest(typ)
	w.putU32(uapi.StatsConns, uint32(st.Conns))
	w.putU32(uapi.StatsInPkts, uint32(st.InPkts))
	w.putU32(uapi.StatsOutPkts, uint32(st.OutPkts))
	u64(uapi.StatsInBytes, st.InBytes)
	u64(uapi.StatsOutBytes, st.OutBytes)
	w.putU32(uapi.StatsCPS, uint32(st.CPS))
	w.putU32(uapi.StatsInPPS, uint32(st.InPPS))
	w.putU32(uapi.StatsOutPPS, uint32(st.OutPPS))
	w.putU32(uapi.StatsInBPS, uint32(st.InBPS))
	w.putU32(uapi.StatsOutBPS, uint32(st.OutBPS))
	w.endNest(nest)
	if k.cfg.noStats64 {
		return
	}
	nest = w.nest(typ64)
	for i, v := range []uint64{st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes, st.CPS, st.InPPS, st.OutPPS, st.InBPS, st.OutBPS} {
		u64(uint16(uapi.StatsConns+i), v)
	}
	w.endNest(nest)
}

// writeDaemon is ip_vs_genl_fill_daemon.
func (k *Kernel) writeDaemon(w *attrWriter, d *daemon) {
	nest := w.nest(uapi.CmdAttrDaemon)
	w.putU32(uapi.DaemonAttrState, d.state)
	w.putString(uapi.DaemonAttrMcastIfn, d.ifname)
	w.putU32(uapi.DaemonAttrSyncID, d.syncID)
	if !k.cfg.noDaemonOptions {
		w.putU16(uapi.DaemonAttrSyncMaxLen, d.maxLen)
		w.putU16(uapi.DaemonAttrMcastPort, d.port)
		w.putU8(uapi.DaemonAttrMcastTTL, d.ttl)
		if d.groupAF == uapi.AFInet6 {
			w.put(uapi.DaemonAttrMcastGroup6, d.group[:])
		} else {
			w.put(uapi.DaemonAttrMcastGroup, d.group[:4])
		}
	}
	w.endNest(nest)
}
