package sentencepiece

import "fmt"

// spModel is a loaded spiece.model: SentencePieceProcessor's Encode without
// sampling or extra options.
type spModel struct {
	norm         *normalizer
	encodeFn     func(s string, emit func(id int32, piece string))
	pieces       map[string]int32 // normal, user-defined, unused
	reserved     map[string]int32 // control, unknown, byte
	text         []string
	unkID        int32
	byteFallback bool
	byteIDs      [256]int32
}

// newSPModel checks a parsed ModelProto as ModelInterface::InitializePieces
// does and builds its normalizer and model.
func newSPModel(m *modelProto) (*spModel, error) {
	sp := &spModel{
		pieces: map[string]int32{}, reserved: map[string]int32{}, unkID: -1,
		byteFallback: m.byteFallback,
	}
	if len(m.pieces) == 0 {
		return nil, fmt.Errorf("the model has no pieces")
	}
	user, err := sp.indexPieces(m)
	if err != nil {
		return nil, err
	}
	if sp.norm, err = newNormalizer(m, user); err != nil {
		return nil, err
	}
	switch m.modelType {
	case modelUnigram:
		sp.encodeFn = newUnigram(m, sp.pieces, sp.unkID).encode
	case modelBPE:
		typ, score := make([]int32, len(m.pieces)), make([]float32, len(m.pieces))
		for i, p := range m.pieces {
			typ[i], score[i] = p.typ, p.score
		}
		b := &spBPE{pieces: sp.pieces, typ: typ, score: score, user: newPrefixMatcher(user), lookup: sp.pieceToID}
		sp.encodeFn = b.encode
	case modelWord, modelChar:
		return nil, fmt.Errorf("model_type %s is not supported (only unigram and BPE)", map[int32]string{modelWord: "WORD", modelChar: "CHAR"}[m.modelType])
	default:
		return nil, fmt.Errorf("unknown model_type %d", m.modelType)
	}
	return sp, nil
}

// newNormalizer builds the normalizer of the NormalizerSpec. A spec with
// rules but no compiled charsmap (normalization_rule_tsv only) is refused.
func newNormalizer(m *modelProto, user []string) (*normalizer, error) {
	n := &normalizer{
		user: newPrefixMatcher(user), addDummy: m.addDummy, removeExtraWS: m.removeExtraWS,
		escapeWS: m.escapeWS, wsAsSuffix: m.wsAsSuffix,
	}
	if len(m.charsmap) > 0 {
		c, err := parseCharsMap(m.charsmap)
		if err != nil {
			return nil, fmt.Errorf("normalizer %q: %w", m.normName, err)
		}
		n.cmap = c
		return n, nil
	}
	switch m.normName {
	case "", "identity":
		if m.hasRuleTSV {
			return nil, fmt.Errorf("normalizer %q has rules (normalization_rule_tsv) but no precompiled_charsmap", m.normName)
		}
		return n, nil
	}
	return nil, fmt.Errorf("normalizer %q has no precompiled_charsmap, which this package needs to apply it", m.normName)
}

// pieceToID is ModelInterface::PieceToId: reserved pieces first, then the
// vocabulary, unknown otherwise.
func (sp *spModel) pieceToID(s string) int32 {
	if id, ok := sp.reserved[s]; ok {
		return id
	}
	if id, ok := sp.pieces[s]; ok {
		return id
	}
	return sp.unkID
}

// encodePieces returns the pieces SentencePieceProcessor.encode(text,
// out_type=str) gives, with their ids: the normalized text segmented by the
// model, unknown pieces replaced by their UTF-8 bytes ("<0xAB>") with
// byte_fallback, or else runs of unknown pieces merged into one.
func (sp *spModel) encodePieces(text string, dst []spToken) []spToken {
	s := sp.norm.normalize(text)
	prevUnk := false
	sp.encodeFn(s, func(id int32, piece string) {
		unk := id == sp.unkID
		switch {
		case unk && sp.byteFallback:
			for i := 0; i < len(piece); i++ {
				dst = append(dst, spToken{id: sp.byteIDs[piece[i]], piece: byteName(piece[i])})
			}
		case unk && prevUnk:
			dst[len(dst)-1].piece += piece
		default:
			dst = append(dst, spToken{id: id, piece: piece})
		}
		prevUnk = unk
	})
	return dst
}

// encode returns the ids of encodePieces.
func (sp *spModel) encode(text string) []int32 {
	toks := sp.encodePieces(text, nil)
	ids := make([]int32, len(toks))
	for i, t := range toks {
		ids[i] = t.id
	}
	return ids
}

// byteName is the byte piece name of b, "<0x00>" … "<0xFF>".
func byteName(b byte) string {
	const hex = "0123456789ABCDEF"
	return "<0x" + hex[b>>4:b>>4+1] + hex[b&15:b&15+1] + ">"
}

// pieceToByte parses "<0xAB>" (upper-case hex, as ByteToPiece writes it).
func pieceToByte(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(s[3:5]) {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | (c - '0')
		case 'A' <= c && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// indexPieces fills the piece maps, the unknown id and the byte pieces, and
// returns the user-defined symbols.
func (sp *spModel) indexPieces(m *modelProto) (user []string, err error) {
	byteFound := 0
	for i := range sp.byteIDs {
		sp.byteIDs[i] = -1
	}
	sp.text = make([]string, len(m.pieces))
	for i, p := range m.pieces {
		id := int32(i)
		sp.text[i] = p.text
		if p.text == "" {
			return nil, fmt.Errorf("piece %d is empty", i)
		}
		dst := sp.reserved
		switch p.typ {
		case typeNormal, typeUserDefined, typeUnused:
			dst = sp.pieces
		case typeUnknown, typeControl, typeByte:
		default:
			return nil, fmt.Errorf("piece %d %q has unknown type %d", i, p.text, p.typ)
		}
		if _, dup := dst[p.text]; dup {
			return nil, fmt.Errorf("piece %q is defined twice", p.text)
		}
		dst[p.text] = id
		switch p.typ {
		case typeUserDefined:
			user = append(user, p.text)
		case typeUnknown:
			if sp.unkID >= 0 {
				return nil, fmt.Errorf("two unknown pieces (%d and %d)", sp.unkID, i)
			}
			sp.unkID = id
		case typeByte:
			if !m.byteFallback {
				return nil, fmt.Errorf("byte piece %q found although byte_fallback is false", p.text)
			}
			b, ok := pieceToByte(p.text)
			if !ok {
				return nil, fmt.Errorf("byte piece %q is invalid", p.text)
			}
			if sp.byteIDs[b] < 0 {
				byteFound++
			}
			sp.byteIDs[b] = id
		}
	}
	if sp.unkID < 0 {
		return nil, fmt.Errorf("the model has no unknown piece")
	}
	if m.byteFallback && byteFound != 256 {
		return nil, fmt.Errorf("byte_fallback is set but only %d of the 256 byte pieces exist", byteFound)
	}
	return user, nil
}
