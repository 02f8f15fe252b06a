package index

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
)

// ExportFAISS writes the index in dir as a FAISS IndexFlatIP (inner
// product over the normalised rows, so scores are cosine similarities),
// the file faiss.read_index reads; FAISS id i is row i of the index's
// metadata file. The layout is FAISS's index_write for IndexFlat: fourcc
// "IxFI", d (int32), ntotal (int64), two int64 placeholders (1<<20),
// is_trained (1 byte), metric_type (int32, 0 = inner product), then the
// codes as a size_t count of float32 values followed by the values,
// little-endian.
func ExportFAISS(dir string, w io.Writer) error {
	m, _, vecs, err := load(dir)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	le := binary.LittleEndian
	bw.WriteString("IxFI")
	binary.Write(bw, le, int32(m.Dim))
	binary.Write(bw, le, int64(m.Count))
	binary.Write(bw, le, int64(1<<20))
	binary.Write(bw, le, int64(1<<20))
	bw.WriteByte(1)
	binary.Write(bw, le, int32(0))
	binary.Write(bw, le, uint64(len(vecs)))
	var b [4]byte
	for _, v := range vecs {
		le.PutUint32(b[:], math.Float32bits(v))
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}
