package reconcile

import (
	"github.com/goipvsadm/goipvsadm/internal/rulefmt"
	"github.com/goipvsadm/goipvsadm/ipvs"
)

// lossless writes like goipvsadm -S --lossless: numeric and complete,
// unlike ipvsadm -S it keeps thresholds, a netmask without persistence and
// firewall marks of 2^31 and more, so a printed plan makes exactly the
// changes it describes when fed to -R.
var lossless = rulefmt.Format{Lossless: true}

var opLetters = [...]string{
	ipvs.OpCreateService:     "-A ",
	ipvs.OpUpdateService:     "-E ",
	ipvs.OpDeleteService:     "-D ",
	ipvs.OpCreateDestination: "-a ",
	ipvs.OpUpdateDestination: "-e ",
	ipvs.OpDeleteDestination: "-d ",
}

// appendOp appends op as an ipvsadm command line (without "ipvsadm").
func appendOp(b []byte, op ipvs.Op) []byte {
	if op.Kind == ipvs.OpSetTimeouts {
		return rulefmt.AppendTimeouts(b, op.Timeouts)
	}
	if int(op.Kind) >= len(opLetters) || opLetters[op.Kind] == "" {
		return append(b, "# "+op.Kind.String()...)
	}
	b = append(b, opLetters[op.Kind]...)
	k := op.Service.Key()
	b = lossless.AppendSpec(b, k)
	switch op.Kind {
	case ipvs.OpCreateService, ipvs.OpUpdateService:
		b = lossless.AppendServiceOptions(b, &op.Service)
	case ipvs.OpCreateDestination, ipvs.OpUpdateDestination:
		b = lossless.AppendRealServer(b, k.Protocol, &op.Destination)
		b = lossless.AppendDestinationOptions(b, &op.Destination)
	case ipvs.OpDeleteDestination:
		b = lossless.AppendRealServer(b, k.Protocol, &op.Destination)
	}
	return b
}
