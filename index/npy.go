package index

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"unsafe"

	"github.com/goclip/goclip/internal/half"
	"github.com/goclip/goclip/internal/npy"
)

// The embeddings file is a NumPy .npy file, format version 1.0, so that
// numpy.load reads it as it is: a 2-D C-order array of little-endian
// float32 ('<f4') or float16 ('<f2').

// writeNPY writes rows×dim values as a .npy array of dtype ("float32" or
// "float16"). Float16 values are rounded to nearest, ties to even.
func writeNPY(w io.Writer, data []float32, rows, dim int, dtype string) error {
	size := 4
	if dtype == Float16 {
		size = 2
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(npy.Header(rows, dim, dtype == Float16))
	var buf [4]byte
	for _, v := range data[:rows*dim] {
		if size == 2 {
			binary.LittleEndian.PutUint16(buf[:], half.FromFloat32(v))
		} else {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
		}
		if _, err := bw.Write(buf[:size]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

var npyHeaderRE = regexp.MustCompile(`^\{'descr': '(<f4|<f2)', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n$`)

// readNPY reads a .npy file written by writeNPY (2-D, C order, '<f4' or
// '<f2') and returns the values as float32. wantRows and wantDim are
// checked against the header so that a file cannot make us allocate more
// than the manifest announced.
func readNPY(r io.Reader, wantRows, wantDim int) ([]float32, string, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, "", fmt.Errorf("npy header: %w", err)
	}
	if string(pre[:6]) != npy.Magic || pre[6] != 1 {
		return nil, "", fmt.Errorf("not a version 1 .npy file")
	}
	hl := int(binary.LittleEndian.Uint16(pre[8:]))
	if hl > 4096 {
		return nil, "", fmt.Errorf("npy header of %d bytes", hl)
	}
	h := make([]byte, hl)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, "", fmt.Errorf("npy header: %w", err)
	}
	m := npyHeaderRE.FindSubmatch(h)
	if m == nil {
		return nil, "", fmt.Errorf("npy header %q: want a 2-D C-order '<f4' or '<f2' array", h)
	}
	rows, err1 := strconv.Atoi(string(m[2]))
	dim, err2 := strconv.Atoi(string(m[3]))
	if err1 != nil || err2 != nil || rows != wantRows || dim != wantDim {
		return nil, "", fmt.Errorf("npy shape (%s, %s), manifest says (%d, %d)", m[2], m[3], wantRows, wantDim)
	}
	out := make([]float32, rows*dim)
	if string(m[1]) == "<f4" {
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), 4*len(out))
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, "", fmt.Errorf("npy data: %w", err)
		}
		if !littleEndian() {
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		return out, Float32, nil
	}
	buf := make([]byte, 1<<16)
	for i := 0; i < len(out); {
		n := min(len(buf)/2, len(out)-i)
		if _, err := io.ReadFull(r, buf[:2*n]); err != nil {
			return nil, "", fmt.Errorf("npy data: %w", err)
		}
		for j := range n {
			out[i+j] = half.ToFloat32(binary.LittleEndian.Uint16(buf[2*j:]))
		}
		i += n
	}
	return out, Float16, nil
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}
