package main

import (
	"math"
	"strconv"
	"strings"
)

// numpy's default print options, which formatMatrix follows.
const (
	printThreshold = 1000 // more elements than this: print a summary
	edgeItems      = 3    // items shown at each end of a summarised axis
	printWidth     = 75   // line width
)

// formatMatrix formats a matrix the way numpy prints a float32 array
// (print(a) with numpy's default options): at most 8 decimals, the
// shortest that round-trips, aligned on the decimal point, rows wrapped at
// 75 characters. As in numpy, a matrix of more than 1,000 elements is
// summarised: the first and last 3 rows and columns with "..." between,
// so the printout is bounded whatever the matrix size. The time is linear
// in the number of elements shown.
func formatMatrix(m [][]float32) string {
	n := 0
	for _, r := range m {
		n += len(r)
	}
	summarise := n > printThreshold
	rows := shownItems(len(m), summarise)
	cells := make([][]string, len(rows)) // nil row: "..."
	intW, fracW := 0, 0
	for k, i := range rows {
		if i < 0 {
			continue
		}
		for _, j := range shownItems(len(m[i]), summarise) {
			s := "..."
			if j >= 0 {
				s = numpyFloat(m[i][j])
				ip, fp, _ := strings.Cut(s, ".")
				intW, fracW = max(intW, len(ip)), max(fracW, len(fp))
			}
			cells[k] = append(cells[k], s)
		}
	}
	var b strings.Builder
	for k, r := range cells {
		if rows[k] < 0 {
			b.WriteString(" ...\n")
			continue
		}
		if k == 0 {
			b.WriteString("[[")
		} else {
			b.WriteString(" [")
		}
		writeRow(&b, r, intW, fracW)
		if k == len(cells)-1 {
			b.WriteString("]]")
		} else {
			b.WriteString("]\n")
		}
	}
	if len(m) == 0 {
		return "[]"
	}
	return b.String()
}

// writeRow writes the cells of one row, padded and wrapped as numpy does.
// A cell's right padding is written only when another cell or the closing
// bracket follows on the same line (numpy strips it before a line break).
func writeRow(b *strings.Builder, r []string, intW, fracW int) {
	col, pad := 2, 0 // column after the padding; padding not yet written
	for j, s := range r {
		word, wpad := s, 0
		if s != "..." {
			ip, fp, ok := strings.Cut(s, ".")
			word = strings.Repeat(" ", intW-len(ip)) + ip
			if ok || fracW > 0 {
				word += "." + fp
				wpad = fracW - len(fp)
			}
		}
		if j > 0 {
			if col+1+len(word)+wpad+2 > printWidth {
				b.WriteString("\n  ")
				col = 2
			} else {
				b.WriteString(strings.Repeat(" ", pad+1))
				col++
			}
		}
		b.WriteString(word)
		col += len(word) + wpad
		pad = wpad
	}
	b.WriteString(strings.Repeat(" ", pad))
}

// shownItems lists the indices printed along an axis of length n: all, or
// with summarise and n > 2·edgeItems the first and last edgeItems with -1
// ("...") between.
func shownItems(n int, summarise bool) []int {
	var out []int
	if !summarise || n <= 2*edgeItems {
		for i := range n {
			out = append(out, i)
		}
		return out
	}
	for i := range edgeItems {
		out = append(out, i)
	}
	out = append(out, -1)
	for i := n - edgeItems; i < n; i++ {
		out = append(out, i)
	}
	return out
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
