//go:build mobycompat

package main

// The moby/ipvs API that viaMoby drives. This build (-tags mobycompat):
// goipvsadm's package with that API; mobyapi.go's differs only in the
// import path.
import moby "github.com/goipvsadm/goipvsadm/moby/ipvs"

type (
	mobyService     = moby.Service
	mobyDestination = moby.Destination
)

var mobyNew = moby.New

const (
	mobyAPIName = "goipvsadm/moby/ipvs"
	mobyMasq    = moby.ConnectionFlagMasq
)
