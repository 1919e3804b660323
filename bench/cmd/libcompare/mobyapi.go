//go:build !mobycompat

package main

// The moby/ipvs API that viaMoby drives. This build: moby/ipvs itself;
// mobyapi_compat.go's differs only in the import path.
import moby "github.com/moby/ipvs"

type (
	mobyService     = moby.Service
	mobyDestination = moby.Destination
)

var mobyNew = moby.New

const (
	mobyAPIName = "moby/ipvs"
	mobyMasq    = moby.ConnectionFlagMasq
)
