package reconcile

// SetBuildAhead makes Plan.Apply build the next batch of changes while
// the Client applies one (on) or not, whatever the CPUs, until restore is
// called.
func SetBuildAhead(on bool) (restore func()) {
	old := buildAheadOn
	buildAheadOn = func() bool { return on }
	return func() { buildAheadOn = old }
}
