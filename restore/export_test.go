package restore

// ReadsSavedForm reports whether ParseRules reads line (with its newline)
// without the general parser.
func ReadsSavedForm(line string) bool {
	var l savedLine
	return readSavedLine([]byte(line), &l)
}
