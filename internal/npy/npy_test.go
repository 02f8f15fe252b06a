package npy

import (
	"strings"
	"testing"
)

// The header np.save writes for np.zeros((2, 3), '<f2'): dict, spaces,
// newline, 128 bytes in all (header length field 118).
func TestHeader(t *testing.T) {
	dict := "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }"
	want := Magic + "\x01\x00" + "\x76\x00" + dict + strings.Repeat(" ", 128-10-len(dict)-1) + "\n"
	if got := string(Header(2, 3, true)); got != want {
		t.Errorf("Header = %q\nwant     %q", got, want)
	}
	for _, n := range []int{1, 999, 123456789} {
		if h := Header(n, 768, false); len(h)%64 != 0 || !strings.Contains(string(h), "'<f4'") {
			t.Errorf("Header(%d, 768) is %d bytes: %q", n, len(h), h)
		}
	}
}
