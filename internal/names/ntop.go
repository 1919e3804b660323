package names

import (
	"net/netip"
	"strconv"
)

// NumericHost returns addr as glibc's inet_ntop writes it. That differs
// from netip.Addr.String for IPv6 addresses whose first 96 bits are zero
// apart from an IPv4-mapped prefix: glibc writes the last 32 bits in dotted
// form for IPv4-compatible addresses too (::1.2.3.4, which Go writes as
// ::102:304). Zones are not printed. The zero Addr gives "0.0.0.0".
func NumericHost(addr netip.Addr) string {
	var buf [48]byte
	return string(AppendNumericHost(buf[:0], addr))
}

// AppendNumericHost appends NumericHost(addr) to dst.
func AppendNumericHost(dst []byte, addr netip.Addr) []byte {
	if !addr.IsValid() {
		return append(dst, "0.0.0.0"...)
	}
	if addr.Is4() {
		return appendDotted(dst, addr.As4())
	}
	b := addr.As16()
	var words [8]uint16
	for i := range words {
		words[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}

	// The longest run of zero words (the first one on a tie) becomes
	// "::", but only if it is at least two words long.
	bestStart, bestLen := -1, 0
	for i := 0; i < 8; {
		if words[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && words[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestStart, bestLen = i, j-i
		}
		i = j
	}
	if bestLen < 2 {
		bestStart, bestLen = -1, 0
	}

	for i := 0; i < 8; i++ {
		if i == bestStart {
			dst = append(dst, ':')
			i += bestLen - 1
			if i == 7 {
				dst = append(dst, ':')
			}
			continue
		}
		if i > 0 {
			dst = append(dst, ':')
		}
		// glibc switches to dotted form for the last two words when the
		// six (or five, then ffff) words before them are the zero run.
		if i == 6 && bestStart == 0 && (bestLen == 6 || (bestLen == 5 && words[5] == 0xffff)) {
			return appendDotted(dst, [4]byte{b[12], b[13], b[14], b[15]})
		}
		dst = strconv.AppendUint(dst, uint64(words[i]), 16)
	}
	return dst
}

func appendDotted(dst []byte, a [4]byte) []byte {
	for i, v := range a {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = strconv.AppendUint(dst, uint64(v), 10)
	}
	return dst
}
