package bulk

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/goclip/goclip/internal/half"
	"github.com/goclip/goclip/internal/npy"
)

// npyBytes encodes rows [n][d] as a NumPy .npy file (format version 1.0,
// C order), little-endian float16 ('<f2', rounded as numpy's astype:
// to nearest, ties to even) or float32 ('<f4'). The header is numpy's own
// (np.save): the dict padded with spaces to a multiple of 64 bytes.
func npyBytes(rows [][]float32, d int, f16 bool) ([]byte, error) {
	size := 4
	if f16 {
		size = 2
	}
	header := npy.Header(len(rows), d, f16)
	if len(header) > math.MaxUint16 {
		return nil, fmt.Errorf("bulk: npy header too long")
	}
	out := make([]byte, 0, len(header)+len(rows)*d*size)
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
