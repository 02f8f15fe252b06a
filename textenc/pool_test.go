package textenc

import "testing"

func TestPoolIndex(t *testing.T) {
	legacy := &Model{cfg: DefaultConfig()}
	legacy.cfg.EOSTokenID = 2
	first := &Model{cfg: DefaultConfig()} // eos_token_id 49407
	cases := []struct {
		ids           []int32
		legacy, first int
	}{
		{[]int32{49406, 320, 1125, 49407}, 3, 3},
		{[]int32{49406, 320, 49407, 49407, 49407}, 2, 2}, // padded with EOS: first occurrence
		{[]int32{49406, 320, 49407, 0, 0}, 2, 2},         // padded with 0
		{[]int32{49406, 320, 1125}, 0, 0},                // no EOS: legacy takes the max (BOS), first-EOS falls back to 0
		{[]int32{5, 49407, 49400, 49407}, 1, 1},          // two EOS: the first
		{[]int32{49406, 49402, 2, 49397}, 0, 0},          // no EOS, BOS highest
	}
	for _, c := range cases {
		if got := legacy.PoolIndex(c.ids); got != c.legacy {
			t.Errorf("legacy PoolIndex(%v) = %d, want %d", c.ids, got, c.legacy)
		}
		if got := first.PoolIndex(c.ids); got != c.first {
			t.Errorf("first-EOS PoolIndex(%v) = %d, want %d", c.ids, got, c.first)
		}
	}
	// The rules differ when a token id above EOS's position is higher:
	// with an added token beyond the vocabulary end (ids are model
	// specific) legacy pooling picks it, first-EOS pooling does not.
	ids := []int32{49406, 49407, 60000}
	if legacy.PoolIndex(ids) != 2 || first.PoolIndex(ids) != 1 {
		t.Errorf("rules do not differ on %v", ids)
	}
}
