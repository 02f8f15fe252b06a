package bulk

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/goclip/goclip/internal/half"
)

// fixture images: deterministic gradients of varied sizes, PNG or JPEG.
func imageBytes(t testing.TB, i int) []byte {
	w, h := 40+7*i%50, 30+11*i%60
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{byte(x*5 + i*17), byte(y*3 + i*29), byte((x + y) * i), 255})
		}
	}
	var b bytes.Buffer
	var err error
	if i%2 == 0 {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func ext(i int) string {
	if i%2 == 0 {
		return "png"
	}
	return "jpg"
}

// fixture is what the tests know about the input.
type fixture struct {
	images   map[string][]byte // image_path -> encoded image (good ones)
	captions map[string]string // image_path -> caption
	bad      []string          // image_path of undecodable images
}

// writeShards writes a WebDataset root (CLIP_benchmark layout: test/K.tar,
// test/nshards.txt) in img2dataset's member style: key.jpg|png, key.txt,
// key.json. Sample 6 has a corrupt image, sample 3 no caption.
func writeShards(t testing.TB, root string, sizes []int) fixture {
	fx := fixture{images: map[string][]byte{}, captions: map[string]string{}}
	os.MkdirAll(filepath.Join(root, "test"), 0o755)
	k := 0
	for s, n := range sizes {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		add := func(name string, data []byte) {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			tw.Write(data)
		}
		for range n {
			key := fmt.Sprintf("%05d%04d", s, k)
			img := imageBytes(t, k)
			if k == 6 {
				img = []byte("this is not an image")
				fx.bad = append(fx.bad, key)
			} else {
				fx.images[key] = img
			}
			add(key+"."+ext(k), img)
			if k != 3 {
				c := fmt.Sprintf("a photo of thing number %d, colour %d", k, k*37%11)
				add(key+".txt", []byte(c))
				fx.captions[key] = c
			}
			add(key+".json", fmt.Appendf(nil, `{"url": "http://example.com/%d.jpg", "key": %q, "width": %d, "similarity": %g, "status": "success", "exif": {"Make": "cam%d"}, "tags": [1, 2]}`, k, key, 40+k, 0.25+float64(k)/8, k%2))
			k++
		}
		tw.Close()
		os.WriteFile(filepath.Join(root, "test", fmt.Sprintf("%d.tar", s)), b.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(root, "test", "nshards.txt"), fmt.Appendf(nil, "%d\n", len(sizes)), 0o644)
	return fx
}

// writeFolder writes a plain folder of n images, image 2 corrupt, with a
// caption file beside the even ones.
func writeFolder(t testing.TB, root string, n int) fixture {
	fx := fixture{images: map[string][]byte{}, captions: map[string]string{}}
	os.MkdirAll(root, 0o755)
	for i := range n {
		p := filepath.Join(root, fmt.Sprintf("img%03d.%s", i, ext(i)))
		img := imageBytes(t, 100+i)
		if i == 2 {
			img = imageBytes(t, 100+i)[:50] // truncated
			fx.bad = append(fx.bad, p)
		} else {
			fx.images[p] = img
		}
		os.WriteFile(p, img, 0o644)
		if i%2 == 0 {
			c := fmt.Sprintf("caption of file %d", i)
			os.WriteFile(strings.TrimSuffix(p, filepath.Ext(p))+".txt", []byte(c), 0o644)
			fx.captions[p] = c
		}
	}
	return fx
}

// readNpy parses a 2-D little-endian .npy file of '<f4' or '<f2'.
func readNpy(t testing.TB, path string) [][]float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:8]) != "\x93NUMPY\x01\x00" {
		t.Fatalf("%s: bad magic %q", path, b[:8])
	}
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	header := string(b[10 : 10+hl])
	if (10+hl)%64 != 0 || !strings.HasSuffix(header, "\n") {
		t.Fatalf("%s: header of %d bytes not padded to 64: %q", path, hl, header)
	}
	var descr string
	var n, d int
	if _, err := fmt.Sscanf(header, "{'descr': '%3s', 'fortran_order': False, 'shape': (%d, %d), }", &descr, &n, &d); err != nil {
		t.Fatalf("%s: header %q: %v", path, header, err)
	}
	data := b[10+hl:]
	size := map[string]int{"<f4": 4, "<f2": 2}[descr]
	if size == 0 || len(data) != n*d*size {
		t.Fatalf("%s: %s [%d,%d] but %d data bytes", path, descr, n, d, len(data))
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, d)
		for j := range rows[i] {
			o := (i*d + j) * size
			if size == 4 {
				rows[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(data[o:]))
			} else {
				rows[i][j] = half.ToFloat32(binary.LittleEndian.Uint16(data[o:]))
			}
		}
	}
	return rows
}

// readParquet returns the rows of a parquet file as column name -> value
// (nil for nulls).
func readParquet(t testing.TB, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readParquetBytes(t, path, b)
}

func readParquetBytes(t testing.TB, path string, b []byte) []map[string]any {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var names []string
	for _, p := range f.Schema().Columns() {
		names = append(names, strings.Join(p, "."))
	}
	var out []map[string]any
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				m := map[string]any{}
				for _, v := range r {
					name := names[v.Column()]
					switch {
					case v.IsNull():
						m[name] = nil
					case v.Kind() == parquet.ByteArray:
						m[name] = string(v.ByteArray())
					case v.Kind() == parquet.Int64:
						m[name] = v.Int64()
					case v.Kind() == parquet.Double:
						m[name] = v.Double()
					case v.Kind() == parquet.Boolean:
						m[name] = v.Boolean()
					default:
						t.Fatalf("%s: column %s has kind %v", path, name, v.Kind())
					}
				}
				out = append(out, m)
			}
			if err != nil {
				break
			}
		}
		rows.Close()
	}
	return out
}
