package listing

// The documents of goipvsadm -L --json, as Go types: decoding a document
// with encoding/json into the matching type loses nothing. The field order
// is the order in which JSONWriter writes the members. docs/json.md is the
// reference for the schema.

// JSONTable is the document of the full listing (-L --json).
type JSONTable struct {
	// Version is the IPVS version the kernel reports, e.g. "1.2.1".
	Version string `json:"version"`
	// ConnTableSize is the size of the connection hash table.
	ConnTableSize uint32 `json:"conn_table_size"`
	// Services is never null; empty for an empty table.
	Services []JSONService `json:"services"`
}

// JSONServiceDocument is the document of a single service (-L -t/-u/
// --sctp-service/-f ... --json).
type JSONServiceDocument struct {
	Service JSONService `json:"service"`
}

// JSONService is a virtual service and its destinations.
type JSONService struct {
	// Family is "IPv4" or "IPv6".
	Family string `json:"family"`
	// Protocol ("TCP", "UDP", "SCTP"), Address and Port are null for a
	// firewall-mark service.
	Protocol *string `json:"protocol"`
	Address  *string `json:"address"`
	Port     *uint16 `json:"port"`
	// FWMark is the firewall mark, 0 for an address service.
	FWMark uint32 `json:"fwmark"`

	Scheduler string `json:"scheduler"`
	// Flags are the raw IP_VS_SVC_F_* bits; Persistent, OnePacket and
	// SchedFlags spell them out.
	Flags      uint32 `json:"flags"`
	Persistent bool   `json:"persistent"`
	OnePacket  bool   `json:"one_packet"`
	// SchedFlags names the scheduler flags as ipvsadm -b spells them for
	// the scheduler (sh-fallback, sh-port, mh-fallback, mh-port, or
	// flag-1, flag-2, flag-3); never null.
	SchedFlags []string `json:"sched_flags"`
	// Timeout is the persistence timeout in seconds.
	Timeout uint32 `json:"timeout"`
	// Netmask is the persistence mask as an address of the service's
	// family: "255.255.255.255" by default for IPv4; for IPv6 the prefix
	// length written out as a mask, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	// (128) by default.
	Netmask string `json:"netmask"`
	// PE is the persistence engine ("sip"), "" for none.
	PE string `json:"pe"`

	Stats JSONStats `json:"stats"`
	Rates JSONRates `json:"rates"`
	// Destinations is never null.
	Destinations []JSONDestination `json:"destinations"`
}

// JSONDestination is a real server.
type JSONDestination struct {
	Family  string `json:"family"`
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	// Forward is "masq", "local", "tunnel" or "route" (another kernel
	// value is written as its decimal number, in a string).
	Forward         string `json:"forward"`
	Weight          uint32 `json:"weight"`
	UpperThreshold  uint32 `json:"upper_threshold"`
	LowerThreshold  uint32 `json:"lower_threshold"`
	ActiveConns     uint32 `json:"active_conns"`
	InactiveConns   uint32 `json:"inactive_conns"`
	PersistentConns uint32 `json:"persistent_conns"`
	// Tunnel is set for tunnel destinations only.
	Tunnel *JSONTunnel `json:"tunnel"`
	Stats  JSONStats   `json:"stats"`
	Rates  JSONRates   `json:"rates"`
}

// JSONTunnel is the encapsulation of a tunnel destination.
type JSONTunnel struct {
	// Type is "ipip", "gue" or "gre" (another value: its decimal number).
	Type string `json:"type"`
	// Port is the GUE destination port (0 for the others).
	Port uint16 `json:"port"`
	// Csum is "nocsum", "csum" or "remcsum", as the ipvsadm options
	// --tun-nocsum, --tun-csum and --tun-remcsum (another value: the bits
	// as a hexadecimal number such as "0x3").
	Csum string `json:"csum"`
}

// JSONStats are the counters, unscaled.
type JSONStats struct {
	Conns    uint64 `json:"conns"`
	InPkts   uint64 `json:"inpkts"`
	OutPkts  uint64 `json:"outpkts"`
	InBytes  uint64 `json:"inbytes"`
	OutBytes uint64 `json:"outbytes"`
}

// JSONRates are the kernel's rate estimates, per second, unscaled.
type JSONRates struct {
	CPS    uint64 `json:"cps"`
	InPPS  uint64 `json:"inpps"`
	OutPPS uint64 `json:"outpps"`
	InBPS  uint64 `json:"inbps"`
	OutBPS uint64 `json:"outbps"`
}

// JSONConnections is the document of -L -c --json.
type JSONConnections struct {
	// Connections is never null.
	Connections []JSONConnection `json:"connections"`
}

// JSONConnection is an entry of the connection table.
type JSONConnection struct {
	// Protocol is the kernel's word: TCP, UDP, SCTP, ICMP, ICMPv6, IP_<n>.
	Protocol    string       `json:"protocol"`
	Client      JSONEndpoint `json:"client"`
	Virtual     JSONEndpoint `json:"virtual"`
	Destination JSONEndpoint `json:"destination"`
	// State is the kernel's name for it (ESTABLISHED, SYN_RECV, ...).
	State string `json:"state"`
	// Expires is the number of seconds left.
	Expires uint32 `json:"expires"`
	// PEName and PEData are the persistence engine and its data (the SIP
	// Call-ID); "" for other connections.
	PEName string `json:"pe_name"`
	PEData string `json:"pe_data"`
}

// JSONEndpoint is an address and a port.
type JSONEndpoint struct {
	Address string `json:"address"`
	Port    uint16 `json:"port"`
}

// JSONTimeoutsDocument is the document of -L --timeout --json.
type JSONTimeoutsDocument struct {
	Timeouts JSONTimeouts `json:"timeouts"`
}

// JSONTimeouts are the connection timeouts, in seconds.
type JSONTimeouts struct {
	TCP    uint32 `json:"tcp"`
	TCPFin uint32 `json:"tcpfin"`
	UDP    uint32 `json:"udp"`
}

// JSONDaemonsDocument is the document of -L --daemon --json.
type JSONDaemonsDocument struct {
	// Daemons is never null: master first, then backup.
	Daemons []JSONDaemon `json:"daemons"`
}

// JSONDaemon is a connection synchronisation daemon. The fields after
// SyncID are 0 (McastGroup null) on kernels before 4.3, which do not report
// them.
type JSONDaemon struct {
	// State is "master" or "backup".
	State          string  `json:"state"`
	McastInterface string  `json:"mcast_interface"`
	SyncID         uint32  `json:"syncid"`
	SyncMaxLen     uint16  `json:"sync_maxlen"`
	McastGroup     *string `json:"mcast_group"`
	McastPort      uint16  `json:"mcast_port"`
	McastTTL       uint8   `json:"mcast_ttl"`
}
