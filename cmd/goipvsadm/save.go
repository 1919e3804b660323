package main

import (
	"context"
	"fmt"

	"github.com/goipvsadm/goipvsadm/internal/cmdline"
	"github.com/goipvsadm/goipvsadm/internal/listing"
	"github.com/goipvsadm/goipvsadm/ipvs"
	"github.com/goipvsadm/goipvsadm/save"
)

// save runs -S: the rules, sorted as ipvsadm sorts them, names resolved
// unless -n. With --lossless (goipvsadm's own) the timeouts come first and
// every attribute is saved; a table that no rules file can hold (see
// save.Writer.Loss) is saved as well as it can be, and exits 1. Kernel
// errors exit 1 after what was printed so far.
func (a *app) save(ctx context.Context, f cmdline.Format) int {
	w := save.NewWriter(a.stdout, save.Options{Numeric: f.Numeric, Lossless: f.Lossless, Names: a.names})
	defer w.Flush()
	if f.Lossless {
		t, err := a.client.Timeouts(ctx)
		if err != nil {
			return a.kernelFailure(opGeneric, err, 1)
		}
		w.Timeouts(t)
	}
	svcs, err := a.client.Services(ctx, ipvs.SkipStats)
	if err != nil {
		return a.kernelFailure(opGeneric, err, 1)
	}
	var sorter listing.Sorter
	err = a.walkTable(ctx, svcs, false, ipvs.SkipStats, func(svc *ipvs.Service, dests []ipvs.Destination) {
		sorter.Destinations(dests)
		w.Service(svc)
		for j := range dests {
			w.Destination(svc, &dests[j])
		}
	})
	if err != nil {
		w.Flush()
		return a.kernelFailure(opGetDests, err, 1)
	}
	if err := w.Loss(); err != nil {
		w.Flush()
		a.stdout.Flush()
		fmt.Fprintf(a.stderr, "%s: the save is not lossless: %v\n", a.argv0, err)
		return 1
	}
	return 0
}
