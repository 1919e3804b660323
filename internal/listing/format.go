package listing

import "strconv"

// Hand-rolled printf conversions: the listing of 100,000 destinations
// must not go through fmt.

// appendPadTo pads b with blanks until the text since start is width
// bytes long (printf's "%-*s" once the text is appended).
func appendPadTo(b []byte, width, start int) []byte {
	for len(b)-start < width {
		b = append(b, ' ')
	}
	return b
}

// appendStringLeft is "%-*s".
func appendStringLeft(b []byte, s string, width int) []byte {
	start := len(b)
	b = append(b, s...)
	return appendPadTo(b, width, start)
}

// appendUintLeft is "%-*u".
func appendUintLeft(b []byte, v uint64, width int) []byte {
	start := len(b)
	b = strconv.AppendUint(b, v, 10)
	return appendPadTo(b, width, start)
}

// appendIntLeft is "%-*d".
func appendIntLeft(b []byte, v int64, width int) []byte {
	start := len(b)
	b = strconv.AppendInt(b, v, 10)
	return appendPadTo(b, width, start)
}

// appendUintRight is "%*u".
func appendUintRight(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	digits := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(digits); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, digits...)
}

// AppendLargeNum is ipvsadm's print_largenum: a right-aligned number in
// 9 columns, scaled to K, M, G or T once it needs more than 8 digits
// (the T form can still overflow the column). With exact set the number
// is printed in full, in 9 columns or its length plus one.
func AppendLargeNum(b []byte, v uint64, exact bool) []byte {
	if exact {
		var tmp [20]byte
		digits := strconv.AppendUint(tmp[:0], v, 10)
		width := 9
		if len(digits) > 8 {
			width = len(digits) + 1
		}
		return appendUintRight(b, v, width)
	}
	var div uint64
	var unit byte
	switch {
	case v < 100_000_000:
		return appendUintRight(b, v, 9)
	case v < 1_000_000_000:
		div, unit = 1_000, 'K'
	case v < 100_000_000_000:
		div, unit = 1_000_000, 'M'
	case v < 100_000_000_000_000:
		div, unit = 1_000_000_000, 'G'
	default:
		div, unit = 1_000_000_000_000, 'T'
	}
	b = appendUintRight(b, v/div, 8)
	return append(b, unit)
}
