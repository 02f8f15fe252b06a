package sentencepiece

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Piece types of sentencepiece_model.proto (ModelProto.SentencePiece.Type).
const (
	typeNormal      = 1
	typeUnknown     = 2
	typeControl     = 3
	typeUserDefined = 4
	typeUnused      = 5
	typeByte        = 6
)

// Model types of TrainerSpec.ModelType.
const (
	modelUnigram = 1
	modelBPE     = 2
	modelWord    = 3
	modelChar    = 4
)

// piece is one ModelProto.SentencePiece.
type piece struct {
	text  string
	score float32
	typ   int32
}

// modelProto holds the fields of a SentencePiece ModelProto that encoding
// reads; every other field is skipped (the special tokens' ids come from
// the pieces' types and transformers' token names, not trainer_spec).
type modelProto struct {
	pieces []piece

	modelType     int32
	byteFallback  bool
	wsAsSuffix    bool // treat_whitespace_as_suffix
	normName      string
	charsmap      []byte
	addDummy      bool // add_dummy_prefix
	removeExtraWS bool // remove_extra_whitespaces
	escapeWS      bool // escape_whitespaces
	hasRuleTSV    bool
}

// maxPieces bounds the vocabulary a model file may declare (the largest
// real SentencePiece vocabularies have 256k pieces).
const maxPieces = 1 << 22

// wire is a protobuf wire-format reader over one message.
type wire struct {
	b   []byte
	off int
}

// errTruncated is returned for a message that ends inside a field.
var errTruncated = fmt.Errorf("truncated protobuf field")

// varint reads a base-128 varint.
func (w *wire) varint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.off:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint at byte %d", w.off)
	}
	w.off += n
	return v, nil
}

// field reads the next field's tag; ok is false at the end of the message.
func (w *wire) field() (num int, typ int, ok bool, err error) {
	if w.off >= len(w.b) {
		return 0, 0, false, nil
	}
	tag, err := w.varint()
	if err != nil {
		return 0, 0, false, err
	}
	num, typ = int(tag>>3), int(tag&7)
	if num <= 0 || num > 1<<29-1 {
		return 0, 0, false, fmt.Errorf("bad field number %d", num)
	}
	return num, typ, true, nil
}

// bytes reads a length-delimited payload (wire type 2).
func (w *wire) bytes() ([]byte, error) {
	n, err := w.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(w.b)-w.off) {
		return nil, errTruncated
	}
	b := w.b[w.off : w.off+int(n)]
	w.off += int(n)
	return b, nil
}

// fixed32 reads a 4-byte little-endian value (wire type 5).
func (w *wire) fixed32() (uint32, error) {
	if len(w.b)-w.off < 4 {
		return 0, errTruncated
	}
	v := binary.LittleEndian.Uint32(w.b[w.off:])
	w.off += 4
	return v, nil
}

// skip skips a field of wire type typ.
func (w *wire) skip(typ int) error {
	switch typ {
	case 0:
		_, err := w.varint()
		return err
	case 1:
		if len(w.b)-w.off < 8 {
			return errTruncated
		}
		w.off += 8
		return nil
	case 2:
		_, err := w.bytes()
		return err
	case 5:
		_, err := w.fixed32()
		return err
	}
	return fmt.Errorf("unsupported wire type %d", typ)
}

// each calls fn for every field of the message b; fn returns handled=false
// for fields it does not read, which are skipped.
func each(b []byte, fn func(w *wire, num, typ int) (bool, error)) error {
	w := &wire{b: b}
	for {
		num, typ, ok, err := w.field()
		if err != nil || !ok {
			return err
		}
		handled, err := fn(w, num, typ)
		if err != nil {
			return fmt.Errorf("field %d: %w", num, err)
		}
		if !handled {
			if err := w.skip(typ); err != nil {
				return fmt.Errorf("field %d: %w", num, err)
			}
		}
	}
}

// want checks that field num has wire type typ.
func want(num, typ, wantTyp int) error {
	if typ != wantTyp {
		return fmt.Errorf("field %d has wire type %d, want %d", num, typ, wantTyp)
	}
	return nil
}

// readInt reads a varint field as int32 (negative values are sign-extended
// 64-bit varints in protobuf).
func readInt(w *wire, num, typ int) (int32, error) {
	if err := want(num, typ, 0); err != nil {
		return 0, err
	}
	v, err := w.varint()
	return int32(v), err
}

// readBool reads a varint field as bool.
func readBool(w *wire, num, typ int) (bool, error) {
	v, err := readInt(w, num, typ)
	return v != 0, err
}

// readString reads a length-delimited field as a UTF-8 string.
func readString(w *wire, num, typ int) (string, error) {
	if err := want(num, typ, 2); err != nil {
		return "", err
	}
	b, err := w.bytes()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("field %d is not valid UTF-8", num)
	}
	return string(b), nil
}

// parseModelProto decodes a serialized ModelProto.
func parseModelProto(b []byte) (*modelProto, error) {
	m := &modelProto{
		modelType: modelUnigram,
		addDummy:  true, removeExtraWS: true, escapeWS: true,
	}
	err := each(b, func(w *wire, num, typ int) (bool, error) {
		switch num {
		case 1:
			if err := want(num, typ, 2); err != nil {
				return true, err
			}
			if len(m.pieces) >= maxPieces {
				return true, fmt.Errorf("more than %d pieces", maxPieces)
			}
			pb, err := w.bytes()
			if err != nil {
				return true, err
			}
			p, err := parsePiece(pb)
			if err != nil {
				return true, fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			m.pieces = append(m.pieces, p)
		case 2:
			return true, m.parseSpec(w, num, typ, m.trainerField)
		case 3:
			return true, m.parseSpec(w, num, typ, m.normalizerField)
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// parseSpec decodes the embedded message of field num with fn.
func (m *modelProto) parseSpec(w *wire, num, typ int, fn func(w *wire, num, typ int) (bool, error)) error {
	if err := want(num, typ, 2); err != nil {
		return err
	}
	b, err := w.bytes()
	if err != nil {
		return err
	}
	return each(b, fn)
}

// parsePiece decodes one SentencePiece message.
func parsePiece(b []byte) (piece, error) {
	p := piece{typ: typeNormal}
	err := each(b, func(w *wire, num, typ int) (bool, error) {
		var err error
		switch num {
		case 1:
			p.text, err = readString(w, num, typ)
		case 2:
			if err = want(num, typ, 5); err == nil {
				var v uint32
				v, err = w.fixed32()
				p.score = math.Float32frombits(v)
			}
		case 3:
			p.typ, err = readInt(w, num, typ)
		default:
			return false, nil
		}
		return true, err
	})
	return p, err
}

// trainerField reads the TrainerSpec fields encoding needs.
func (m *modelProto) trainerField(w *wire, num, typ int) (bool, error) {
	var err error
	switch num {
	case 3:
		m.modelType, err = readInt(w, num, typ)
	case 24:
		m.wsAsSuffix, err = readBool(w, num, typ)
	case 35:
		m.byteFallback, err = readBool(w, num, typ)
	default:
		return false, nil
	}
	return true, err
}

// normalizerField reads the NormalizerSpec fields.
func (m *modelProto) normalizerField(w *wire, num, typ int) (bool, error) {
	var err error
	switch num {
	case 1:
		m.normName, err = readString(w, num, typ)
	case 2:
		if err = want(num, typ, 2); err == nil {
			var b []byte
			b, err = w.bytes()
			m.charsmap = append([]byte(nil), b...)
		}
	case 3:
		m.addDummy, err = readBool(w, num, typ)
	case 4:
		m.removeExtraWS, err = readBool(w, num, typ)
	case 5:
		m.escapeWS, err = readBool(w, num, typ)
	case 6:
		var s string
		s, err = readString(w, num, typ)
		m.hasRuleTSV = s != ""
	default:
		return false, nil
	}
	return true, err
}
