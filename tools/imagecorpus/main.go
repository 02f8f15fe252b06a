// Command imagecorpus compares goclip's decoding and preprocessing with
// transformers' CLIPImageProcessor on a generated corpus (see corpus.py):
//
//	/root/goclip-venv/bin/python tools/imagecorpus/corpus.py generate /tmp/corpus
//	/root/goclip-venv/bin/python tools/imagecorpus/corpus.py reference /tmp/corpus
//	go run ./tools/imagecorpus /tmp/corpus
//
// It prints, by format, how many files are bit-exact (decoded RGB and the
// 64 px preprocessed levels), within 1 level, worse, refused by goclip and
// refused by Pillow, then every file that is not bit-exact.
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nlpodyssey/safetensors"

	"github.com/goclip/goclip/imageproc"
)

type counts struct{ files, exact, within1, worse, refused, pillowRefused, bothRefuse int }

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: imagecorpus DIR (made by tools/imagecorpus/corpus.py)")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "imagecorpus:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		return err
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return err
	}
	pillowErr, err := pillowErrors(data)
	if err != nil {
		return err
	}
	proc, err := imageproc.New(imageproc.DefaultConfig(64))
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	byFormat := map[string]*counts{}
	var notes []string
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".safetensors") {
			continue
		}
		format := strings.TrimPrefix(filepath.Ext(name), ".")
		c := byFormat[format]
		if c == nil {
			c = &counts{}
			byFormat[format] = c
		}
		c.files++
		note := check(dir, name, st, pillowErr, proc, c)
		if note != "" {
			notes = append(notes, note)
		}
	}
	printTable(byFormat)
	sort.Strings(notes)
	for _, n := range notes {
		fmt.Println(n)
	}
	return nil
}

// pillowErrors reads the "pillow_errors" entry of the safetensors header's
// __metadata__ (the header is a little-endian length and JSON).
func pillowErrors(data []byte) (map[string]string, error) {
	if len(data) < 8 {
		return nil, errors.New("reference.safetensors: short file")
	}
	n := binary.LittleEndian.Uint64(data)
	if n > uint64(len(data)-8) {
		return nil, errors.New("reference.safetensors: bad header length")
	}
	var hdr struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(data[8:8+n], &hdr); err != nil {
		return nil, fmt.Errorf("reference.safetensors header: %w", err)
	}
	out := map[string]string{}
	if err := json.Unmarshal([]byte(hdr.Meta["pillow_errors"]), &out); err != nil {
		return nil, fmt.Errorf("metadata pillow_errors: %w", err)
	}
	return out, nil
}

// check compares one file and returns a line for anything not bit-exact.
func check(dir, name string, st safetensors.SafeTensors, pillowErr map[string]string, proc *imageproc.Processor, c *counts) string {
	path := filepath.Join(dir, name)
	got, derr := imageproc.DecodeFile(path, nil)
	if pe, ok := pillowErr[name]; ok {
		c.pillowRefused++
		if derr != nil {
			c.bothRefuse++
			return ""
		}
		return fmt.Sprintf("%-40s Pillow refuses (%s), goclip decodes", name, pe)
	}
	if derr != nil {
		c.refused++
		var de *imageproc.DecodeError
		if errors.As(derr, &de) {
			return fmt.Sprintf("%-40s refused: %v", name, de.Err)
		}
		return fmt.Sprintf("%-40s refused: %v", name, derr)
	}
	dec, _ := st.Tensor("dec/" + name)
	pre, _ := st.Tensor("pre/" + name)
	sh := dec.Shape()
	if int(sh[0]) != got.Rect.Dy() || int(sh[1]) != got.Rect.Dx() {
		c.worse++
		return fmt.Sprintf("%-40s size %v, Pillow %dx%d", name, got.Rect.Size(), sh[1], sh[0])
	}
	dmax, dn := diff(got.Pix, dec.Data())
	out, err := proc.File(path)
	if err != nil {
		c.worse++
		return fmt.Sprintf("%-40s decodes but preprocessing fails: %v", name, err)
	}
	pmax, pn := diff(levels(proc, out), pre.Data())
	if drop, ok := st.Tensor("drop/" + name); ok {
		// transformers 4's convention: Image.open(p).convert("RGB").
		g, err := imageproc.DecodeFile(path, &imageproc.DecodeOptions{DropAlpha: true})
		if err != nil {
			c.worse++
			return fmt.Sprintf("%-40s DropAlpha fails: %v", name, err)
		}
		if m, n := diff(g.Pix, drop.Data()); m > dmax {
			dmax, dn = m, n
		}
	}
	switch {
	case dmax == 0 && pmax == 0:
		c.exact++
		return ""
	case dmax <= 1 && pmax <= 1:
		c.within1++
	default:
		c.worse++
	}
	return fmt.Sprintf("%-40s decode max %d (%d values), preprocess max %d (%d of %d values)", name, dmax, dn, pmax, pn, len(out))
}

// levels inverts the processor's rescale and normalisation: the float32
// outputs are an affine function of integer levels, so rounding recovers them.
func levels(p *imageproc.Processor, out []float32) []uint8 {
	cfg := p.Config()
	plane := len(out) / 3
	lv := make([]uint8, len(out))
	for i, v := range out {
		c := i / plane
		x := float64(v)*cfg.ImageStd[c]*255 + cfg.ImageMean[c]*255
		lv[i] = uint8(max(0, min(255, math.Round(x))))
	}
	return lv
}

func diff(a, b []uint8) (maxd, n int) {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			n++
		}
		maxd = max(maxd, d)
	}
	return maxd, n
}

func printTable(byFormat map[string]*counts) {
	var formats []string
	for f := range byFormat {
		formats = append(formats, f)
	}
	sort.Strings(formats)
	fmt.Println("| format | files | bit-exact | ≤1 level | worse | goclip refuses | Pillow refuses (goclip too) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	var t counts
	for _, f := range formats {
		c := byFormat[f]
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %d (%d) |\n", f, c.files, c.exact, c.within1, c.worse, c.refused, c.pillowRefused, c.bothRefuse)
		t.files += c.files
		t.exact += c.exact
		t.within1 += c.within1
		t.worse += c.worse
		t.refused += c.refused
		t.pillowRefused += c.pillowRefused
		t.bothRefuse += c.bothRefuse
	}
	fmt.Printf("| all | %d | %d | %d | %d | %d | %d (%d) |\n\n", t.files, t.exact, t.within1, t.worse, t.refused, t.pillowRefused, t.bothRefuse)
}
