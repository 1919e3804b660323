// Package rulefmt writes the parts of ipvsadm command lines that describe
// services and destinations: the one writer behind ipvsadm -S (package
// save) and the printed plans of package reconcile.
//
// The zero Format writes as ipvsadm 1.31's -S does, with its flaws: names
// resolved, firewall marks of 2^31 and more negative, no thresholds, the
// persistence mask only with persistence, scheduler flags without a name
// under their scheduler left out. A Lossless Format writes every attribute
// the kernel keeps, numerically, so that -R makes exactly the object
// described.
package rulefmt

import (
	"strconv"
	"time"

	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/internal/names"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// Format says how to write.
type Format struct {
	// Numeric writes addresses and ports as numbers.
	Numeric bool
	// Lossless writes every attribute (see the package comment); it
	// implies Numeric.
	Lossless bool
	// Names looks up host and port names unless Numeric is set.
	Names names.Lookup
}

func (f *Format) numeric() bool { return f.Numeric || f.Lossless }

// AppendSpec appends the service option: -t/-u/--sctp-service with the
// address (uncut but for the 59-byte cap), or -f with the mark, signed as
// ipvsadm prints it unless Lossless.
func (f *Format) AppendSpec(b []byte, k ipvs.ServiceKey) []byte {
	if k.FWMark != 0 {
		b = append(b, "-f "...)
		if f.Lossless {
			b = strconv.AppendUint(b, uint64(k.FWMark), 10)
		} else {
			b = strconv.AppendInt(b, int64(int32(k.FWMark)), 10)
		}
		if k.Family == ipvs.IPv6 {
			b = append(b, " -6"...)
		}
		return b
	}
	switch k.Protocol {
	case ipvs.TCP:
		b = append(b, "-t "...)
	case ipvs.UDP:
		b = append(b, "-u "...)
	case ipvs.SCTP:
		b = append(b, "--sctp-service "...)
	default:
		b = append(b, "--xxx-service "...)
	}
	return names.AppendAddrPort(b, f.Names, listing.ServiceAddr(k), k.Port, names.ProtoName(uint16(k.Protocol)), f.numeric())
}

// AppendServiceOptions appends the options of -A and -E after the service
// option: " -s rr -p 300 ...".
func (f *Format) AppendServiceOptions(b []byte, svc *ipvs.Service) []byte {
	b = append(b, " -s "...)
	if svc.Scheduler == "" && f.Lossless {
		b = append(b, ipvs.DefaultScheduler...)
	} else {
		b = append(b, svc.Scheduler...)
	}
	persistent := svc.Flags&ipvs.FlagPersistent != 0
	if persistent {
		b = append(b, " -p "...)
		b = strconv.AppendUint(b, uint64(svc.Timeout), 10)
	}
	// ipvsadm saves the mask only with -p, though -A takes it without.
	if persistent || f.Lossless {
		b = listing.AppendMask(b, " -M ", svc.Netmask, svc.Key().Family)
	}
	// Unlike -L, the persistence engine is saved whether or not the
	// service is persistent.
	if svc.PEName != "" {
		b = append(b, " --pe "...)
		b = append(b, svc.PEName...)
	}
	if svc.Flags&ipvs.FlagOnePacket != 0 {
		b = append(b, " -o"...)
	}
	if svc.Flags&ipvs.FlagSchedMask != 0 {
		b = append(b, " -b "...)
		b = f.appendSchedFlags(b, svc.Flags, svc.Scheduler)
	}
	return b
}

// appendSchedFlags appends the names of the scheduler flags in fl as -L
// shows them; Lossless names a flag that has no name under the scheduler
// by its generic one (flag-3 under sh), which -b takes under any
// scheduler, where ipvsadm leaves it out.
func (f *Format) appendSchedFlags(b []byte, fl ipvs.ServiceFlags, scheduler string) []byte {
	if !f.Lossless {
		return listing.AppendSchedFlags(b, fl, scheduler)
	}
	if scheduler == "" {
		scheduler = ipvs.DefaultScheduler
	}
	n := 0
	for i, bit := range []ipvs.ServiceFlags{ipvs.FlagSched1, ipvs.FlagSched2, ipvs.FlagSched3} {
		if fl&bit == 0 {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		if name := bit.SchedFlagNames(scheduler); len(name) == 1 {
			b = append(b, name[0]...)
		} else {
			b = append(b, "flag-"...)
			b = strconv.AppendInt(b, int64(i+1), 10)
		}
	}
	return b
}

// AppendRealServer appends " -r addr:port" for a destination of a service
// of protocol p.
func (f *Format) AppendRealServer(b []byte, p ipvs.Protocol, d *ipvs.Destination) []byte {
	b = append(b, " -r "...)
	return names.AppendAddrPort(b, f.Names, d.Addr, d.Port, names.ProtoName(uint16(p)), f.numeric())
}

// AppendDestinationOptions appends the options of -a and -e after the
// real server: " -m -w 1 ...".
func (f *Format) AppendDestinationOptions(b []byte, d *ipvs.Destination) []byte {
	switch d.ForwardMethod {
	case ipvs.Masquerade:
		b = append(b, " -m"...)
	case ipvs.Tunnel:
		b = append(b, " -i"...)
	case ipvs.Local, ipvs.DirectRoute:
		b = append(b, " -g"...)
	default:
		b = append(b, " (null)"...) // glibc's text for ipvsadm's NULL
	}
	b = append(b, " -w "...)
	b = strconv.AppendInt(b, int64(int32(d.Weight)), 10)
	if f.Lossless && d.UpperThreshold != 0 {
		b = append(b, " -x "...)
		b = strconv.AppendUint(b, uint64(d.UpperThreshold), 10)
	}
	if f.Lossless && d.LowerThreshold != 0 {
		b = append(b, " -y "...)
		b = strconv.AppendUint(b, uint64(d.LowerThreshold), 10)
	}
	if d.ForwardMethod != ipvs.Tunnel {
		return b
	}
	switch d.TunnelType {
	case ipvs.IPIP:
		b = append(b, " --tun-type ipip"...)
	case ipvs.GUE:
		b = append(b, " --tun-type gue --tun-port "...)
		b = strconv.AppendUint(b, uint64(d.TunnelPort), 10)
		b = append(b, ' ')
		b = append(b, csumOption(d.TunnelFlags)...)
	case ipvs.GRE:
		b = append(b, " --tun-type gre "...)
		b = append(b, csumOption(d.TunnelFlags)...)
	}
	return b
}

// csumOption is the option that sets the tunnel flags back.
func csumOption(f ipvs.TunnelFlags) string {
	if name, ok := listing.TunnelCsumName(f); ok {
		return "--tun-" + name
	}
	return "(null)"
}

// AppendTimeouts appends the --set line's text for t (a zero field: leave
// as it is).
func AppendTimeouts(b []byte, t ipvs.Timeouts) []byte {
	b = append(b, "--set"...)
	for _, d := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(d/time.Second), 10)
	}
	return b
}
