package synth

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
)

// spieceWords are the whole-word pieces of the synthetic SentencePiece
// model: enough for prompts such as "a photo of a cat".
var spieceWords = []string{"a", "an", "the", "photo", "of", "picture", "image", "this", "is", "cat", "dog",
	"bird", "car", "tree", "house", "red", "blue", "green", "small", "big", "in", "on", "and", "with"}

// WriteSpiece writes a small SentencePiece unigram model (a ModelProto,
// serialised by hand) to path, laid out as SigLIP's spiece.model: id 0
// "<pad>", 1 "</s>" (EOS and SiglipTokenizer's pad), 2 "<unk>", then "▁",
// the letters and digits, and "▁"+word for spieceWords, whole words
// scoring higher than their letters. It has far fewer pieces than any
// vocab_size the presets use, so every id is a row of the token
// embedding. Its identity normaliser (no charsmap) adds a dummy prefix,
// removes extra white space and escapes spaces as "▁".
func WriteSpiece(path string) error {
	type piece struct {
		s     string
		score float32
		typ   int // 1 normal, 2 unknown, 3 control
	}
	ps := []piece{{"<pad>", 0, 3}, {"</s>", 0, 3}, {"<unk>", 0, 2}, {"▁", -2, 1}}
	for c := 'a'; c <= 'z'; c++ {
		ps = append(ps, piece{string(c), -8, 1})
	}
	for c := '0'; c <= '9'; c++ {
		ps = append(ps, piece{string(c), -8, 1})
	}
	for _, w := range spieceWords {
		ps = append(ps, piece{"▁" + w, -3, 1})
	}
	var b []byte
	field := func(dst []byte, num, typ int) []byte { return binary.AppendUvarint(dst, uint64(num<<3|typ)) }
	bytesField := func(dst []byte, num int, v []byte) []byte {
		dst = field(dst, num, 2)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		return append(dst, v...)
	}
	varint := func(dst []byte, num, v int) []byte {
		return binary.AppendUvarint(field(dst, num, 0), uint64(int64(v))) // negative int32: 10 bytes, as protobuf
	}
	for _, p := range ps {
		pb := bytesField(nil, 1, []byte(p.s))
		pb = field(pb, 2, 5)
		pb = binary.LittleEndian.AppendUint32(pb, math.Float32bits(p.score))
		pb = varint(pb, 3, p.typ)
		b = bytesField(b, 1, pb)
	}
	trainer := varint(nil, 3, 1)      // model_type UNIGRAM
	trainer = varint(trainer, 40, 2)  // unk_id
	trainer = varint(trainer, 41, -1) // bos_id: none
	trainer = varint(trainer, 42, 1)  // eos_id
	trainer = varint(trainer, 43, 0)  // pad_id
	b = bytesField(b, 2, trainer)
	norm := bytesField(nil, 1, []byte("identity"))
	norm = varint(norm, 3, 1)
	norm = varint(norm, 4, 1)
	norm = varint(norm, 5, 1)
	b = bytesField(b, 3, norm)
	return os.WriteFile(path, b, 0o644)
}

// writeSigLIPTokenizer adds spiece.model to a SigLIP folder.
func writeSigLIPTokenizer(dir string) error {
	return WriteSpiece(filepath.Join(dir, "spiece.model"))
}
