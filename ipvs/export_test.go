package ipvs

// SetWalkAhead makes walks of destination dumps dump ahead on a goroutine
// of their own (on) or not, whatever the CPUs, until restore is called.
func SetWalkAhead(on bool) (restore func()) {
	old := walkAheadOn
	walkAheadOn = func() bool { return on }
	return func() { walkAheadOn = old }
}
