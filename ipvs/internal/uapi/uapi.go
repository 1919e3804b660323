// Package uapi holds the numbers of the kernel's IPVS generic-netlink
// interface (include/uapi/linux/ip_vs.h). The client in package ipvs and the
// in-memory kernel in package ipvstest both speak this protocol, so the
// numbers live here once.
package uapi

// Generic netlink family.
const (
	FamilyName    = "IPVS"
	FamilyVersion = 1
)

// Commands (enum IPVS_CMD_*).
const (
	CmdNewService  = 1
	CmdSetService  = 2
	CmdDelService  = 3
	CmdGetService  = 4
	CmdNewDest     = 5
	CmdSetDest     = 6
	CmdDelDest     = 7
	CmdGetDest     = 8
	CmdNewDaemon   = 9
	CmdDelDaemon   = 10
	CmdGetDaemon   = 11
	CmdSetConfig   = 12
	CmdGetConfig   = 13
	CmdSetInfo     = 14
	CmdGetInfo     = 15
	CmdZero        = 16
	CmdFlush       = 17
	CmdMax         = CmdFlush
	CmdReplyDaemon = CmdNewDaemon // dump replies carry the "new" command
)

// Top-level attributes (IPVS_CMD_ATTR_*).
const (
	CmdAttrService       = 1
	CmdAttrDest          = 2
	CmdAttrDaemon        = 3
	CmdAttrTimeoutTCP    = 4
	CmdAttrTimeoutTCPFin = 5
	CmdAttrTimeoutUDP    = 6
)

// Service attributes (IPVS_SVC_ATTR_*).
const (
	SvcAttrAF        = 1
	SvcAttrProtocol  = 2
	SvcAttrAddr      = 3
	SvcAttrPort      = 4
	SvcAttrFwmark    = 5
	SvcAttrSchedName = 6
	SvcAttrFlags     = 7
	SvcAttrTimeout   = 8
	SvcAttrNetmask   = 9
	SvcAttrStats     = 10
	SvcAttrPEName    = 11
	SvcAttrStats64   = 12
)

// Destination attributes (IPVS_DEST_ATTR_*).
const (
	DestAttrAddr         = 1
	DestAttrPort         = 2
	DestAttrFwdMethod    = 3
	DestAttrWeight       = 4
	DestAttrUThresh      = 5
	DestAttrLThresh      = 6
	DestAttrActiveConns  = 7
	DestAttrInactConns   = 8
	DestAttrPersistConns = 9
	DestAttrStats        = 10
	DestAttrAddrFamily   = 11
	DestAttrStats64      = 12
	DestAttrTunType      = 13
	DestAttrTunPort      = 14
	DestAttrTunFlags     = 15
)

// Sync daemon attributes (IPVS_DAEMON_ATTR_*).
const (
	DaemonAttrState       = 1
	DaemonAttrMcastIfn    = 2
	DaemonAttrSyncID      = 3
	DaemonAttrSyncMaxLen  = 4
	DaemonAttrMcastGroup  = 5
	DaemonAttrMcastGroup6 = 6
	DaemonAttrMcastPort   = 7
	DaemonAttrMcastTTL    = 8
)

// Statistics attributes (IPVS_STATS_ATTR_*), shared by STATS and STATS64.
const (
	StatsConns    = 1
	StatsInPkts   = 2
	StatsOutPkts  = 3
	StatsInBytes  = 4
	StatsOutBytes = 5
	StatsCPS      = 6
	StatsInPPS    = 7
	StatsOutPPS   = 8
	StatsInBPS    = 9
	StatsOutBPS   = 10
	StatsPad      = 11
)

// Info attributes (IPVS_INFO_ATTR_*).
const (
	InfoAttrVersion     = 1
	InfoAttrConnTabSize = 2
)

// Service flags (IP_VS_SVC_F_*).
const (
	SvcFlagPersistent = 0x0001
	SvcFlagHashed     = 0x0002
	SvcFlagOnePacket  = 0x0004
	SvcFlagSched1     = 0x0008
	SvcFlagSched2     = 0x0010
	SvcFlagSched3     = 0x0020
)

// Forwarding methods (IP_VS_CONN_F_FWD_MASK values).
const (
	FwdMasq   = 0
	FwdLocal  = 1
	FwdTunnel = 2
	FwdRoute  = 3
	FwdMask   = 7
)

// FwdMethods holds the kernel's forwarding method for each value of
// ipvs.ForwardMethod, whose zero value is direct routing (ipvsadm's
// default) where the kernel's zero is masquerading.
var FwdMethods = [...]uint32{FwdRoute, FwdMasq, FwdTunnel, FwdLocal}

// FwdMethodIndex is the inverse of FwdMethods: the ipvs.ForwardMethod of
// the kernel's method v. Numbers the kernel does not define map past the
// end of FwdMethods, to len(FwdMethods)+v.
func FwdMethodIndex(v uint32) int {
	for i, k := range FwdMethods {
		if k == v {
			return i
		}
	}
	return len(FwdMethods) + int(v)
}

// Tunnel types and flags (IP_VS_CONN_F_TUNNEL_TYPE_*, IP_VS_TUNNEL_ENCAP_FLAG_*).
const (
	TunTypeIPIP = 0
	TunTypeGUE  = 1
	TunTypeGRE  = 2

	TunFlagCsum    = 1 << 0
	TunFlagRemCsum = 1 << 1
)

// Sync daemon states (IP_VS_STATE_*).
const (
	StateMaster = 1
	StateBackup = 2
)

// Sizes and limits.
const (
	SchedNameMaxLen = 16 // IP_VS_SCHEDNAME_MAXLEN, including the NUL
	PENameMaxLen    = 16 // IP_VS_PENAME_MAXLEN, including the NUL
	IfNameMaxLen    = 16 // IP_VS_IFNAME_MAXLEN, including the NUL
	AddrLen         = 16 // sizeof(union nf_inet_addr)
)

// Address families and protocols, with Linux's numbers (AF_INET,
// AF_INET6, IPPROTO_TCP).
const (
	AFInet     = 2
	AFInet6    = 10
	IPProtoTCP = 6
)

// The generic netlink controller (include/uapi/linux/genetlink.h), which
// resolves family names.
const (
	GenlIDCtrl           = 0x10
	CtrlCmdNewFamily     = 1
	CtrlCmdGetFamily     = 3
	CtrlAttrFamilyID     = 1
	CtrlAttrFamilyName   = 2
	CtrlAttrVersion      = 3
	CtrlAttrHdrSize      = 4
	CtrlAttrMaxAttr      = 5
	CtrlAttrOps          = 6
	CtrlAttrMcastGroups  = 7
	CtrlAttrOpID         = 1
	CtrlAttrOpFlags      = 2
	CtrlAttrMcastGrpName = 1
	CtrlAttrMcastGrpID   = 2
)
