package bulk

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/goclip/goclip/internal/half"
)

// npyBytes encodes rows [n][d] as a NumPy .npy file (format version 1.0,
// C order), little-endian float16 ('<f2', rounded as numpy's astype:
// to nearest, ties to even) or float32 ('<f4'). The header is numpy's own
// (np.save): the dict padded with spaces to a multiple of 64 bytes.
func npyBytes(rows [][]float32, d int, f16 bool) ([]byte, error) {
	descr, size := "<f4", 4
	if f16 {
		descr, size = "<f2", 2
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", descr, len(rows), d)
	// magic(6) + version(2) + header length(2) + dict + padding + '\n'.
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	header := dict + strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return nil, fmt.Errorf("bulk: npy header too long")
	}
	out := make([]byte, 0, 10+len(header)+len(rows)*d*size)
	out = append(out, "\x93NUMPY\x01\x00"...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(header)))
	out = append(out, header...)
	for i, r := range rows {
		if len(r) != d {
			return nil, fmt.Errorf("bulk: row %d has %d values, want %d", i, len(r), d)
		}
		for _, v := range r {
			if f16 {
				out = binary.LittleEndian.AppendUint16(out, half.FromFloat32(v))
			} else {
				out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
			}
		}
	}
	return out, nil
}
