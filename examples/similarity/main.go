// Command similarity reproduces the seed experiment: ten random images of
// ImageNetV2 with their class names, both embedded with CLIP and
// L2-normalised, the cosine-similarity matrix printed and drawn as a
// heatmap, and each image classified zero-shot among the ten names.
//
//	go run ./examples/similarity
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"log"
	"os"
	"os/signal"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/heatmap"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/imageproc"
)

func main() {
	model := flag.String("model", "openai/clip-vit-base-patch32", "model folder or Hub id")
	ds := flag.String("dataset", "clip-benchmark/wds_imagenetv2", "WebDataset folder or Hub id")
	n := flag.Int("sample", 10, "number of images")
	seed := flag.Uint64("seed", 1, "sampling seed")
	out := flag.String("out", "similarity.png", "heatmap file (.png or .svg)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dir, err := modelDir(ctx, *model)
	check(err)
	m, err := clip.Load(dir, nil)
	check(err)
	defer m.Close()
	proc, err := imageproc.LoadProcessor(dir)
	check(err)

	// Ten random images with their class names.
	d, err := dataset.Open(ctx, *ds, nil)
	check(err)
	samples, err := d.RandomSample(ctx, *n, *seed)
	check(err)
	var names, labels []string
	var thumbs []image.Image
	var pixels []float32
	for _, s := range samples {
		img, err := imageproc.Decode(bytes.NewReader(s.Image), nil)
		check(err)
		px, err := proc.Image(img)
		check(err)
		pixels = append(pixels, px...)
		thumbs = append(thumbs, img)
		names = append(names, d.Classnames[s.Label])
		labels = append(labels, s.Key+" · "+d.Classnames[s.Label])
	}

	// Embed both sides, normalise, compare.
	imgEmb, err := m.EmbedPixels(ctx, pixels, len(samples))
	check(err)
	txtEmb, err := m.EmbedTexts(ctx, names)
	check(err)
	fmt.Printf("image embeddings (%d, %d), text embeddings (%d, %d)\n", len(imgEmb), len(imgEmb[0]), len(txtEmb), len(txtEmb[0]))
	clip.Normalize(imgEmb)
	clip.Normalize(txtEmb)
	sim := clip.Similarity(imgEmb, txtEmb)
	for _, row := range sim {
		fmt.Printf("%.4f\n", row)
	}

	// The heatmap.
	check(heatmap.Save(*out, sim, &heatmap.Options{
		Title: "CLIP cosine similarity: ImageNetV2 images × class names", RowLabels: labels, ColLabels: names,
		Thumbnails: thumbs, RowAxis: "image", ColAxis: "class name", OutlineRowMax: true,
	}))
	fmt.Println("heatmap:", *out)

	// Zero-shot among the sampled class names.
	c, err := clip.NewClassifier(ctx, m, names, nil)
	check(err)
	preds, err := c.Classify(imgEmb, 1)
	check(err)
	right := 0
	for i, p := range preds {
		mark := "✗"
		if p[0].Class == names[i] {
			mark, right = "✓", right+1
		}
		fmt.Printf("%s %-40s → %s (%.1f%%)\n", mark, labels[i], p[0].Class, 100*p[0].Prob)
	}
	fmt.Printf("%d/%d correct\n", right, len(preds))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// modelDir returns name if it is a folder, else the snapshot folder of the
// Hub model name in the Hugging Face cache, downloading it on first use.
func modelDir(ctx context.Context, name string) (string, error) {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return name, nil
	}
	cfg := hub.ConfigFromEnv()
	cfg.Progress = hub.NewProgressBar(os.Stderr)
	return hub.New(&cfg).Snapshot(ctx, hub.Repo{ID: name},
		[]string{"config.json", "model.safetensors"},
		[]string{"preprocessor_config.json", "tokenizer.json", "vocab.json", "merges.txt"})
}
