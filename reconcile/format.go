package reconcile

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/goipvsadm/goipvsadm/ipvs"
)

// appendOp appends op as an ipvsadm command line.
func appendOp(b []byte, op ipvs.Op) []byte { return append(b, formatOp(op)...) }

// formatOp returns op as an ipvsadm command line (without "ipvsadm"),
// numeric and complete: unlike -S output it keeps thresholds, a netmask
// without persistence and fwmarks of 2^31 and more, so a plan printed with
// it restores exactly what it describes when fed to -R.
func formatOp(op ipvs.Op) string {
	var b strings.Builder
	switch op.Kind {
	case ipvs.OpCreateService, ipvs.OpUpdateService:
		b.WriteString(map[bool]string{true: "-A ", false: "-E "}[op.Kind == ipvs.OpCreateService])
		writeSpec(&b, op.Service)
		writeServiceOptions(&b, op.Service)
	case ipvs.OpDeleteService:
		b.WriteString("-D ")
		writeSpec(&b, op.Service)
	case ipvs.OpCreateDestination, ipvs.OpUpdateDestination:
		b.WriteString(map[bool]string{true: "-a ", false: "-e "}[op.Kind == ipvs.OpCreateDestination])
		writeSpec(&b, op.Service)
		writeDestination(&b, op.Destination)
	case ipvs.OpDeleteDestination:
		b.WriteString("-d ")
		writeSpec(&b, op.Service)
		b.WriteString(" -r ")
		b.WriteString(addrPort(op.Destination.Addr, op.Destination.Port))
	case ipvs.OpSetTimeouts:
		t := op.Timeouts
		b.WriteString("--set " + secs(t.TCP) + " " + secs(t.TCPFin) + " " + secs(t.UDP))
	}
	return b.String()
}

func secs(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}

func addrPort(a netip.Addr, port uint16) string {
	if a.Is6() {
		return "[" + a.String() + "]:" + strconv.Itoa(int(port))
	}
	return a.String() + ":" + strconv.Itoa(int(port))
}

func writeSpec(b *strings.Builder, s ipvs.Service) {
	k := s.Key()
	if k.FWMark != 0 {
		b.WriteString("-f " + strconv.FormatUint(uint64(k.FWMark), 10))
		if k.Family == ipvs.IPv6 {
			b.WriteString(" -6")
		}
		return
	}
	switch k.Protocol {
	case ipvs.UDP:
		b.WriteString("-u ")
	case ipvs.SCTP:
		b.WriteString("--sctp-service ")
	default:
		b.WriteString("-t ")
	}
	b.WriteString(addrPort(k.Addr, k.Port))
}

func writeServiceOptions(b *strings.Builder, s ipvs.Service) {
	sched := s.Scheduler
	if sched == "" {
		sched = ipvs.DefaultScheduler
	}
	b.WriteString(" -s " + sched)
	if s.Flags&ipvs.FlagPersistent != 0 {
		b.WriteString(" -p " + strconv.FormatUint(uint64(s.Timeout), 10))
	}
	if !s.Netmask.IsDefault() {
		if s.Key().Family == ipvs.IPv6 {
			b.WriteString(" -M " + strconv.FormatUint(uint64(s.Netmask.Value(ipvs.IPv6)), 10))
		} else {
			b.WriteString(" -M " + s.Netmask.IPv4().String())
		}
	}
	if s.PEName != "" {
		b.WriteString(" --pe " + s.PEName)
	}
	if s.Flags&ipvs.FlagOnePacket != 0 {
		b.WriteString(" -o")
	}
	if names := s.Flags.SchedFlagNames(sched); len(names) > 0 {
		b.WriteString(" -b " + strings.Join(names, ","))
	}
}

func writeDestination(b *strings.Builder, d ipvs.Destination) {
	b.WriteString(" -r " + addrPort(d.Addr, d.Port))
	switch d.ForwardMethod {
	case ipvs.Masquerade:
		b.WriteString(" -m")
	case ipvs.Tunnel:
		b.WriteString(" -i")
	default: // DirectRoute, and Local, which ipvsadm saves as -g too
		b.WriteString(" -g")
	}
	b.WriteString(" -w " + strconv.FormatUint(uint64(d.Weight), 10))
	if d.UpperThreshold != 0 {
		b.WriteString(" -x " + strconv.FormatUint(uint64(d.UpperThreshold), 10))
	}
	if d.LowerThreshold != 0 {
		b.WriteString(" -y " + strconv.FormatUint(uint64(d.LowerThreshold), 10))
	}
	if d.ForwardMethod != ipvs.Tunnel {
		return
	}
	switch d.TunnelType {
	case ipvs.GUE:
		b.WriteString(" --tun-type gue --tun-port " + strconv.Itoa(int(d.TunnelPort)) + csumOption(d.TunnelFlags))
	case ipvs.GRE:
		b.WriteString(" --tun-type gre" + csumOption(d.TunnelFlags))
	}
}

func csumOption(f ipvs.TunnelFlags) string {
	switch f {
	case ipvs.TunnelCsum:
		return " --tun-csum"
	case ipvs.TunnelRemCsum:
		return " --tun-remcsum"
	}
	return " --tun-nocsum"
}
