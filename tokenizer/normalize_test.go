package tokenizer

import "testing"

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Hello  World", "hello world"},
		{"a\u00a0\u3000\t\nb", "a b"},
		{"cafe\u0301", "caf\u00e9"},                    // composed
		{"A\u030Angstro\u0308m", "\u00e5ngstr\u00f6m"}, // composed, then lowercased
		{"\u212b", "\u00e5"},                           // Angstrom sign: singleton decomposition
		{"\u2126", "\u03c9"},                           // Ohm sign → Ω → ω
		{"\u0130", "i\u0307"},                          // full lowercase mapping
		{"\u03a3\u0391\u03a3", "\u03c3\u03b1\u03c3"},   // no final-sigma rule
		{"q\u0307\u0323", "q\u0323\u0307"},             // canonical reordering
		{"\u1112\u1161\u11ab", "\ud55c"},               // Hangul L V T → syllable
		{"\uac00\u11a8", "\uac01"},                     // Hangul LV + T
		{"e\u0301\u0301", "\u00e9\u0301"},              // second acute is blocked
		{"\u0344", "\u0308\u0301"},                     // excluded: stays decomposed
		{"\u1ac1", "\u1ac1"},
		{"a\u200bb\ufeff", "a\u200bb\ufeff"}, // not white space
		{"x\xffy", "x\ufffdy"},               // invalid UTF-8 → U+FFFD
	}
	for _, c := range cases {
		if got := string(normalize(nil, c.in)); got != c.want {
			t.Errorf("normalize(%+q) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

func TestPreTokens(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"a photo of a cat.", []string{"a", "photo", "of", "a", "cat", "."}},
		{"don't 'stop' ''s", []string{"don", "'t", "'s", "top", "'", "''", "s"}},
		{"<|endoftext|>> <<|endoftext|>", []string{"<|endoftext|>", ">", "<<|", "endoftext", "|>"}},
		{"12ab!?3", []string{"1", "2", "ab", "!?", "3"}},
		{"i\u0307x", []string{"i", "\u0307", "x"}},
		{"  ", nil},
	}
	for _, c := range cases {
		var got []string
		for i := 0; ; {
			s, e := nextPreToken(c.in, i)
			if s < 0 {
				break
			}
			got = append(got, c.in[s:e])
			i = e
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: got %q, want %q", c.in, got, c.want)
				break
			}
		}
	}
}
