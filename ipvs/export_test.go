package ipvs

import (
	"fmt"
	"testing"
)

// SetWalkAhead makes walks of destination dumps dump ahead on a goroutine
// of their own (on) or not, whatever the CPUs, until restore is called.
func SetWalkAhead(on bool) (restore func()) {
	old := walkAheadOn
	walkAheadOn = func() bool { return on }
	return func() { walkAheadOn = old }
}

// SetWalkPage makes Walk read n services before their destinations,
// until restore is called.
func SetWalkPage(n int) (restore func()) {
	old := walkPage
	walkPage = n
	return func() { walkPage = old }
}

// SetApplyAhead makes Apply fill a window while it sends the one before
// (on) or not, whatever the CPUs, until restore is called.
func SetApplyAhead(on bool) (restore func()) {
	old := applyAheadOn
	applyAheadOn = func() bool { return on }
	return func() { applyAheadOn = old }
}

// BothWays runs test with a setting off and on, as subtests.
func BothWays(t interface {
	Run(string, func(*testing.T)) bool
}, set func(bool) func(), test func(t *testing.T)) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("ahead=%v", on), func(t *testing.T) {
			defer set(on)()
			test(t)
		})
	}
}

// RandomOps returns n random ops of every kind on a few dozen services.
var RandomOps = randomOps

// Chain is the kernel's service hash chain of k, up to a permutation.
func Chain(k ServiceKey) int { return k.chain() }
