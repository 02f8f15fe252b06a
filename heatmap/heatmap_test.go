package heatmap

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sample builds an n×m matrix shaped like CLIP cosine similarities:
// 0.15..0.25 off the diagonal, about 0.3 on it.
func sample(n, m int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, m)
		for j := range out[i] {
			out[i][j] = 0.15 + 0.1*float32(math.Abs(math.Sin(float64(i*7+j*3))))
			if i == j {
				out[i][j] = 0.3 + 0.01*float32(i%3)
			}
		}
	}
	return out
}

var classNames = []string{"tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark",
	"electric ray", "stingray", "rooster", "hen", "ostrich", "brambling", "goldfinch", "house finch",
	"junco", "indigo bunting", "American robin", "bulbul", "jay", "magpie", "chickadee", "American dipper",
	"kite (bird of prey)", "bald eagle", "vulture", "great grey owl", "fire salamander", "smooth newt",
	"newt", "spotted salamander", "axolotl"}

func thumbs(n int) []image.Image {
	out := make([]image.Image, n)
	for i := range out {
		im := image.NewRGBA(image.Rect(0, 0, 40+i*3, 30))
		for y := 0; y < 30; y++ {
			for x := 0; x < 40+i*3; x++ {
				im.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 8), uint8(i * 25), 255})
			}
		}
		out[i] = im
	}
	return out
}

// writeSample saves the figure under $HEATMAP_OUT for a person to look at.
func writeSample(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("HEATMAP_OUT")
	if dir == "" {
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRender10(t *testing.T) {
	m := sample(10, 10)
	rows := make([]string, 10)
	cols := make([]string, 10)
	for i := range rows {
		rows[i] = "s00000" + string(rune('0'+i)) + " " + classNames[i]
		cols[i] = "a photo of a " + classNames[i]
	}
	opts := &Options{Title: "Cosine similarity of image and text embeddings", RowLabels: rows, ColLabels: cols,
		Thumbnails: thumbs(10), RowAxis: "image", ColAxis: "text", OutlineRowMax: true}
	img, err := Render(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeSample(t, "heatmap10.png", img)
	// Every row's largest value, found here independently, is framed in
	// ink; the other cells of the row are not.
	f, err := prepare(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	ink := color.RGBA{0x22, 0x22, 0x22, 0xff}
	for i, row := range m {
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		for j := range row {
			// The left edge of cell (i,j), inside its 1 px separator.
			got := img.RGBAAt(f.gridX+j*f.cell+2, f.gridY+i*f.cell+f.cell/2)
			if (got == ink) != (j == best) {
				t.Errorf("row %d col %d (best %d): edge pixel %v", i, j, best, got)
			}
		}
	}
}

func TestRender30(t *testing.T) {
	m := sample(30, 30)
	img, err := Render(m, &Options{Title: "30 × 30", RowLabels: classNames, ColLabels: classNames, OutlineRowMax: true})
	if err != nil {
		t.Fatal(err)
	}
	writeSample(t, "heatmap30.png", img)
}

// cellColor decodes the PNG and returns the colour at the centre-left of
// cell (i,j), away from the value text.
func cellColor(t *testing.T, m [][]float32, opts *Options, i, j int) color.RGBA {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePNG(&buf, m, opts); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	f, err := prepare(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != f.width || img.Bounds().Dy() != f.height {
		t.Fatalf("PNG is %v, layout says %dx%d", img.Bounds(), f.width, f.height)
	}
	x := f.gridX + j*f.cell + f.cell/8
	y := f.gridY + i*f.cell + f.cell/2
	r, g, b, _ := img.At(x, y).RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
}

func TestPNGColours(t *testing.T) {
	m := [][]float32{
		{0.31, 0.12, 0.2},
		{0.2, 0.25, 0.05},
	}
	opts := &Options{RowLabels: []string{"a", "b"}, ColLabels: []string{"x", "y", "z"}}
	hi := cellColor(t, m, opts, 0, 0)  // the maximum: dark red
	lo := cellColor(t, m, opts, 1, 2)  // the minimum: dark blue
	mid := cellColor(t, m, opts, 0, 2) // 0.2 is 58% of the way up: near white, a little red
	if !(hi.R > 90 && int(hi.R) > int(hi.B)+60 && int(hi.R) > int(hi.G)+60) {
		t.Errorf("max cell %v is not red", hi)
	}
	if !(int(lo.B) > int(lo.R)+40 && lo.R < 40) {
		t.Errorf("min cell %v is not blue", lo)
	}
	if !(mid.R > 200 && mid.G > 190 && mid.B > 180) {
		t.Errorf("middle cell %v is not near white", mid)
	}
	// The colour is the colour map's at the cell's position on the scale.
	if want := RdBuR(1); hi != want {
		t.Errorf("max cell %v, want the top of the scale %v", hi, want)
	}
	if want := RdBuR(0); lo != want {
		t.Errorf("min cell %v, want the bottom of the scale %v", lo, want)
	}
	// A fixed range: 0.31 in [-1,1] is a pale red, not the darkest one.
	fixed := cellColor(t, m, &Options{Min: -1, Max: 1}, 0, 0)
	if want := RdBuR((0.31 + 1) / 2); fixed != want {
		t.Errorf("fixed-range cell %v, want %v", fixed, want)
	}
}

func TestContrast(t *testing.T) {
	if c := textOn(RdBuR(0)); c.R != 0xff {
		t.Errorf("text on dark blue is %v, want white", c)
	}
	if c := textOn(RdBuR(1)); c.R != 0xff {
		t.Errorf("text on dark red is %v, want white", c)
	}
	if c := textOn(RdBuR(0.5)); c.R == 0xff {
		t.Errorf("text on white is white")
	}
}

func TestSizes(t *testing.T) {
	// Cells shrink with the matrix but stay big enough for the values.
	for _, n := range []int{1, 2, 10, 30} {
		f, err := prepare(sample(n, n), nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.cell < 40 || !f.showValues {
			t.Errorf("%d×%d: cell %d px, values shown %v", n, n, f.cell, f.showValues)
		}
		if w := width(f.fs.value, "-0.00"); w > f.cell-4 {
			t.Errorf("%d×%d: value text %d px wider than the %d px cell", n, n, w, f.cell)
		}
	}
	f, err := prepare(sample(200, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.showValues || f.cell != 16 {
		t.Errorf("200 rows: cell %d, values %v", f.cell, f.showValues)
	}
}

func TestLabelsAndErrors(t *testing.T) {
	long := strings.Repeat("a very long caption that goes on and on ", 10)
	uni := []string{"日本語のキャプション", "emoji 🐱🐶", "tab\tand\nnewline", long, "Ünïcödé — “quotes” <b>&amp;</b>"}
	m := sample(5, 5)
	for _, name := range []string{"x.png", "x.svg"} {
		p := filepath.Join(t.TempDir(), name)
		if err := Save(p, m, &Options{Title: long, RowLabels: uni, ColLabels: uni, Thumbnails: make([]image.Image, 5),
			RowAxis: "image", ColAxis: "text", OutlineRowMax: true}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		if name == "x.svg" {
			if !strings.HasPrefix(string(b), "<svg") || !strings.Contains(string(b), "&lt;b&gt;") {
				t.Errorf("SVG does not escape labels: %.200s", b)
			}
			if err := xmlWellFormed(b); err != nil {
				t.Errorf("SVG is not well-formed XML: %v", err)
			}
		} else if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Error(err)
		}
	}
	f, _ := prepare(m, &Options{RowLabels: uni, ColLabels: uni})
	for _, s := range f.rowLabels {
		if width(f.fs.label, s) > maxLabelPx {
			t.Errorf("label %q not truncated", s)
		}
	}
	nan := sample(3, 3)
	nan[1][1] = float32(math.NaN())
	nan[0][2] = float32(math.Inf(1))
	if _, err := Render(nan, nil); err != nil {
		t.Errorf("NaN/Inf values: %v", err)
	}
	bad := map[string]struct {
		m [][]float32
		o *Options
	}{
		"empty":      {nil, nil},
		"empty row":  {[][]float32{{}}, nil},
		"ragged":     {[][]float32{{1, 2}, {3}}, nil},
		"row labels": {sample(2, 2), &Options{RowLabels: []string{"a"}}},
		"col labels": {sample(2, 2), &Options{ColLabels: []string{"a", "b", "c"}}},
		"thumbnails": {sample(2, 2), &Options{Thumbnails: thumbs(3)}},
		"too large":  {tall(2001), nil},
	}
	for name, c := range bad {
		if _, err := Render(c.m, c.o); err == nil {
			t.Errorf("%s: no error", name)
		}
		if err := WriteSVG(io.Discard, c.m, c.o); err == nil {
			t.Errorf("%s: SVG: no error", name)
		}
	}
}

func xmlWellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func tall(n int) [][]float32 {
	m := make([][]float32, n)
	for i := range m {
		m[i] = []float32{float32(i)}
	}
	return m
}

// TestSizeLimits: options or matrices that would need gigabytes of pixels
// are refused before the image is allocated (Cell 1<<20 used to ask for a
// 17 TB RGBA buffer).
func TestSizeLimits(t *testing.T) {
	m := [][]float32{{1, 2}, {3, 4}}
	if _, err := Render(m, &Options{Cell: 1 << 20}); err == nil || !strings.Contains(err.Error(), "cell size") {
		t.Errorf("Cell 1<<20: %v", err)
	}
	if err := WriteSVG(io.Discard, m, &Options{Cell: 1 << 20}); err == nil {
		t.Error("SVG with Cell 1<<20 accepted")
	}
	big := make([][]float32, 1000)
	for i := range big {
		big[i] = make([]float32, 1000)
	}
	if _, err := Render(big, nil); err == nil || !strings.Contains(err.Error(), "too large for a PNG") {
		t.Errorf("1000×1000 PNG: %v", err)
	}
	if _, err := Render(m, &Options{Cell: maxCell}); err != nil {
		t.Errorf("Cell %d: %v", maxCell, err)
	}
}
