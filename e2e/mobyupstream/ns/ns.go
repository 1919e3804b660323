// Package ns stands in for github.com/moby/ipvs/ns in moby/ipvs's tests,
// which call Init after moving their thread into a new network namespace.
//
// moby's Init re-reads the namespace handle that its ns helpers keep for
// later use; the package under test keeps no such state (New reads the
// calling thread's namespace itself), so there is nothing to re-read.
package ns

// Init is called by the tests after they unshare their network namespace.
func Init() {}
