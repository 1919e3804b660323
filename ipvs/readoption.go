package ipvs

// A ReadOption changes what a read of the table decodes. Services,
// Destinations, Snapshot, Walk and WalkDestinations take any number of
// them.
type ReadOption uint8

// SkipStats leaves the Stats of every Service and Destination read zero.
// The kernel sends each entry's counters and rates with it, about half of
// a destination's attributes; a reader that compares configuration (a
// reconcile loop, a listing without counters) need not decode them. The
// connection counts of a Destination are read either way.
const SkipStats ReadOption = 1

// readOptions folds opts into one set.
func readOptions(opts []ReadOption) ReadOption {
	var o ReadOption
	for _, x := range opts {
		o |= x
	}
	return o
}

// stats reports whether a read with o decodes Stats.
func (o ReadOption) stats() bool { return o&SkipStats == 0 }
