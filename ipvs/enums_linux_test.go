package ipvs

import (
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
	"golang.org/x/sys/unix"
)

// TestConstantsMatchLinux: the constants are written as numbers so that
// godoc shows them and they build everywhere; they must be Linux's.
func TestConstantsMatchLinux(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"IPv4", uint64(IPv4), unix.AF_INET},
		{"IPv6", uint64(IPv6), unix.AF_INET6},
		{"TCP", uint64(TCP), unix.IPPROTO_TCP},
		{"UDP", uint64(UDP), unix.IPPROTO_UDP},
		{"SCTP", uint64(SCTP), unix.IPPROTO_SCTP},
		{"IPIP", uint64(IPIP), uapi.TunTypeIPIP},
		{"GUE", uint64(GUE), uapi.TunTypeGUE},
		{"GRE", uint64(GRE), uapi.TunTypeGRE},
		{"TunnelCsum", uint64(TunnelCsum), uapi.TunFlagCsum},
		{"TunnelRemCsum", uint64(TunnelRemCsum), uapi.TunFlagRemCsum},
		{"FlagPersistent", uint64(FlagPersistent), uapi.SvcFlagPersistent},
		{"FlagOnePacket", uint64(FlagOnePacket), uapi.SvcFlagOnePacket},
		{"FlagSched1", uint64(FlagSched1), uapi.SvcFlagSched1},
		{"FlagSched2", uint64(FlagSched2), uapi.SvcFlagSched2},
		{"FlagSched3", uint64(FlagSched3), uapi.SvcFlagSched3},
		{"FlagSchedMask", uint64(FlagSchedMask), uapi.SvcFlagSched1 | uapi.SvcFlagSched2 | uapi.SvcFlagSched3},
		{"Master", uint64(Master), uapi.StateMaster},
		{"Backup", uint64(Backup), uapi.StateBackup},
		{"DirectRoute", uint64(DirectRoute.kernel()), uapi.FwdRoute},
		{"Masquerade", uint64(Masquerade.kernel()), uapi.FwdMasq},
		{"Tunnel", uint64(Tunnel.kernel()), uapi.FwdTunnel},
		{"Local", uint64(Local.kernel()), uapi.FwdLocal},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, the kernel says %d", c.name, c.got, c.want)
		}
	}
	for m := range ForwardMethod(len(uapi.FwdMethods) + 8) {
		if int(m) < len(uapi.FwdMethods) && forwardFromKernel(m.kernel()) != m {
			t.Errorf("forwarding method %v does not survive the round trip", m)
		}
	}
}
