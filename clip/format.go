package clip

import (
	"math"
	"strconv"
	"strings"
)

// FormatMatrix formats a matrix the way numpy prints a float32 array
// (print(a) with numpy's default options): at most 8 decimals, the
// shortest that round-trips, aligned on the decimal point, rows wrapped at
// 75 characters. The similarity example and command print with it, so
// their output reads like the Python recipe's.
func FormatMatrix(m [][]float32) string {
	intW, fracW := 0, 0
	cells := make([][]string, len(m))
	for i, r := range m {
		cells[i] = make([]string, len(r))
		for j, v := range r {
			s := numpyFloat(v)
			cells[i][j] = s
			ip, fp, _ := strings.Cut(s, ".")
			intW, fracW = max(intW, len(ip)), max(fracW, len(fp))
		}
	}
	var b strings.Builder
	const lineWidth = 75
	for i, r := range cells {
		line := " ["
		if i == 0 {
			line = "[["
		}
		b.WriteString(line)
		col := len(line)
		for j, s := range r {
			ip, fp, ok := strings.Cut(s, ".")
			cell := strings.Repeat(" ", intW-len(ip)) + ip
			if ok || fracW > 0 {
				cell += "." + fp + strings.Repeat(" ", fracW-len(fp))
			}
			if j > 0 {
				if col+1+len(cell)+2 > lineWidth {
					// numpy strips the padding before a line break
					trimmed := strings.TrimRight(b.String(), " ")
					b.Reset()
					b.WriteString(trimmed)
					b.WriteString("\n  ")
					col = 2
				} else {
					b.WriteByte(' ')
					col++
				}
			}
			b.WriteString(cell)
			col += len(cell)
		}
		if i == len(cells)-1 {
			b.WriteString("]]")
		} else {
			b.WriteString("]\n")
		}
	}
	return b.String()
}

// numpyFloat formats v as numpy's default float32 repr inside arrays.
func numpyFloat(v float32) string {
	switch {
	case math.IsNaN(float64(v)):
		return "nan"
	case math.IsInf(float64(v), 1):
		return "inf"
	case math.IsInf(float64(v), -1):
		return "-inf"
	}
	s := strconv.FormatFloat(float64(v), 'f', -1, 32)
	if _, fp, ok := strings.Cut(s, "."); ok && len(fp) > 8 {
		s = strings.TrimRight(strconv.FormatFloat(float64(v), 'f', 8, 64), "0")
	} else if !ok {
		s += "."
	}
	return s
}
