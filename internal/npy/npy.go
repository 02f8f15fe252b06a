// Package npy holds the NumPy .npy header shared by the index files and
// the bulk pipeline's parts: format version 1.0, a 2-D C-order array of
// little-endian float32 ('<f4') or float16 ('<f2').
package npy

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Magic starts every .npy file.
const Magic = "\x93NUMPY"

// Header returns the bytes that precede the data of a rows×dim array, as
// np.save writes them: magic, version 1.0, header length, and the dict
// padded with spaces and a newline so that the data starts at a multiple
// of 64 bytes.
func Header(rows, dim int, f16 bool) []byte {
	descr := "<f4"
	if f16 {
		descr = "<f2"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", descr, rows, dim)
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	out := make([]byte, 0, total+pad)
	out = append(out, Magic+"\x01\x00"...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(dict)+pad+1))
	out = append(out, dict...)
	out = append(out, strings.Repeat(" ", pad)...)
	return append(out, '\n')
}
