package restore

// ReadsSavedForm reports whether ParseRules reads line (with its newline)
// without the general parser.
func ReadsSavedForm(line string) bool {
	var d savedDest
	return readSavedDest([]byte(line), &d)
}
