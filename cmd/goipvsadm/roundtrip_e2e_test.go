//go:build e2e

package main

import (
	"context"
	"testing"
)

// kernelRoundTrip is a round trip on the guest's kernel: goipvsadm saves,
// restorer restores.
func kernelRoundTrip(t *testing.T, ours, restorer string) *roundTrip {
	c := kernelClient(t)
	tool := func(bin string) func([]string, string) result {
		return func(args []string, stdin string) result { return runTool(t, bin, args, stdin) }
	}
	return &roundTrip{ctx: context.Background(), client: c, save: tool(ours), restore: tool(restorer)}
}

// kernelCases is how many random tables each round-trip test sends
// through the real kernel.
const kernelCases = 200

// TestLosslessRoundTripOnKernel: random tables, which this kernel must
// accept as generated, come back exactly from goipvsadm -S --lossless and
// every kind of goipvsadm -R, and from ipvsadm 1.31's -R.
func TestLosslessRoundTripOnKernel(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	rt, rtRef := kernelRoundTrip(t, ours, ours), kernelRoundTrip(t, ours, ref)
	runCases(t, roundTripSeeds(t, kernelCases), func(seed int64) error {
		tab := genTable(seed)
		if err := rt.checkLossless(tab, restoreModes[seed%4]); err != nil {
			return err
		}
		return rtRef.checkLossless(tab, []string{"-R"})
	})
}

// TestPlainSaveRoundTripOnKernel: -S -n then goipvsadm -R loses exactly
// plainSaveLosses on this kernel too.
func TestPlainSaveRoundTripOnKernel(t *testing.T) {
	ref, ours := e2eBinaries(t)
	resetKernel(t, ref)
	defer resetKernel(t, ref)
	rt := kernelRoundTrip(t, ours, ours)
	runCases(t, roundTripSeeds(t, kernelCases), func(seed int64) error {
		return rt.checkPlain(genTable(seed))
	})
	for _, l := range plainSaveLosses {
		t.Run(l.name, func(t *testing.T) { checkLossExample(t, rt, l) })
	}
}
