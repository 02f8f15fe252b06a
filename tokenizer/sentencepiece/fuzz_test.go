package sentencepiece

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// smallModel serializes a small ModelProto by hand (Go's fuzzing engine
// is slow on inputs as large as the test models).
func smallModel(modelType int, user bool) []byte {
	var b []byte
	tag := func(num, typ int) { b = binary.AppendUvarint(b, uint64(num<<3|typ)) }
	msg := func(num int, body []byte) {
		tag(num, 2)
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	pieces := []struct {
		s   string
		typ int
	}{{"<unk>", typeUnknown}, {"</s>", typeControl}, {"▁", 1}, {"a", 1}, {"b", 1}, {"▁a", 1}, {"ab", 1}, {"▁ab", 1}, {"c", typeUnused}, {"bc", 1}}
	if user {
		pieces = append(pieces, struct {
			s   string
			typ int
		}{"qq", typeUserDefined})
	}
	for i, p := range pieces {
		var pb []byte
		pb = append(pb, 0x0a, byte(len(p.s)))
		pb = append(pb, p.s...)
		pb = append(pb, 0x15)
		pb = binary.LittleEndian.AppendUint32(pb, math.Float32bits(-float32(i)))
		pb = append(pb, 0x18, byte(p.typ))
		msg(1, pb)
	}
	msg(2, []byte{0x18, byte(modelType)})
	msg(3, []byte{0x0a, 8, 'i', 'd', 'e', 'n', 't', 'i', 't', 'y', 0x18, 1, 0x20, 1, 0x28, 1})
	return b
}

// FuzzModelProto feeds arbitrary bytes to the spiece.model reader and, when
// they load, encodes a few texts: errors are fine, panics and hangs are not.
func FuzzModelProto(f *testing.F) {
	for _, typ := range []int{modelUnigram, modelBPE} {
		f.Add(smallModel(typ, false))
		f.Add(smallModel(typ, true))
	}
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x01, 'a', 0x18, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseModelProto(b)
		if err != nil {
			return
		}
		sp, err := newSPModel(m)
		if err != nil {
			return
		}
		for _, s := range []string{"", "a photo of a dog", "  x\u00a0y\u2581z ", "\xff\xfe日本😀", "abcqq ab"} {
			sp.encode(s)
		}
	})
}

// FuzzCharsMap looks texts up in arbitrary precompiled charsmaps, seeded
// with slices of the nmt_nfkc one.
func FuzzCharsMap(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(testdata, "unigram_nfkc.model"))
	if err != nil {
		f.Fatal(err)
	}
	m, err := parseModelProto(b)
	if err != nil {
		f.Fatal(err)
	}
	cm := m.charsmap
	n := int(binary.LittleEndian.Uint32(cm))
	for _, k := range []int{64, 512, 4096} {
		seed := binary.LittleEndian.AppendUint32(nil, uint32(k))
		seed = append(append(seed, cm[4:4+k]...), cm[4+n:4+n+256]...)
		f.Add(seed, "ＡＢＣ ｶ ﬁ x\u0301")
	}
	f.Fuzz(func(t *testing.T, blob []byte, s string) {
		c, err := parseCharsMap(blob)
		if err != nil {
			return
		}
		nm := &normalizer{cmap: c, addDummy: true, removeExtraWS: true, escapeWS: true}
		nm.normalize(s)
	})
}

// FuzzEncode encodes arbitrary text with every test model.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a photo of a dog.", "</s>", "<unk>x", "▁▁", "\xff", "ΑΣ İ", "<start_of_turn>x y"} {
		f.Add(s)
	}
	var toks []*Tokenizer
	for _, name := range spModels {
		toks = append(toks, loadTest(f, name))
	}
	for _, name := range hfFolders {
		toks = append(toks, loadHFTest(f, name))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			ids := tok.Encode(s)
			if len(ids) > tok.MaxLength() {
				t.Fatalf("%s: %d ids > max length %d", tok.Class(), len(ids), tok.MaxLength())
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%s: id %d out of range", tok.Class(), id)
				}
			}
		}
	})
}
