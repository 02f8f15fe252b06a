package clip

import "testing"

// Expected strings are numpy 2.5's print() of the same float32 arrays.
func TestFormatMatrixLikeNumpy(t *testing.T) {
	cases := []struct {
		m    [][]float32
		want string
	}{
		{[][]float32{{0.30133668, 0.19424956, 0.2, 0.25}, {0.1, -0.0523, 1.0, 0.123456789}},
			"[[ 0.30133668  0.19424956  0.2         0.25      ]\n [ 0.1        -0.0523      1.          0.12345679]]"},
		{[][]float32{{0.30133668, 0.19424956, 0.2, 0.25, 0.1, -0.0523, 1.0, 0.123456789, 0.5, 0.25, 0.26, 0.27}},
			"[[ 0.30133668  0.19424956  0.2         0.25        0.1        -0.0523\n   1.          0.12345679  0.5         0.25        0.26        0.27      ]]"},
		{[][]float32{{1, 2}, {3, 4}}, "[[1. 2.]\n [3. 4.]]"},
	}
	for _, c := range cases {
		if got := FormatMatrix(c.m); got != c.want {
			t.Errorf("got\n%s\nwant\n%s", got, c.want)
		}
	}
}
