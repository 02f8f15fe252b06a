package main

import (
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/heatmap"
)

// heatmapFormat returns the image format a --heatmap file name asks for:
// "png", "svg" or "jpeg"; any other extension is an error, given before
// anything is computed.
func heatmapFormat(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		return "png", nil
	case ".svg":
		return "svg", nil
	case ".jpg", ".jpeg":
		return "jpeg", nil
	default:
		return "", fmt.Errorf("--heatmap %s: unknown extension %q (want .png, .svg, .jpg or .jpeg)", path, ext)
	}
}

// writeHeatmap draws the similarity matrix to path, atomically, in the
// format its extension names (a JPEG is the PNG's image, encoded at
// quality 95).
func writeHeatmap(path string, sim [][]float32, title string, rows, cols []string, thumbs []image.Image) error {
	format, err := heatmapFormat(path)
	if err != nil {
		return err
	}
	opts := &heatmap.Options{
		Title: title, RowLabels: rows, ColLabels: cols, Thumbnails: thumbs,
		RowAxis: "image", ColAxis: "text", OutlineRowMax: true,
	}
	return writeFileAtomic(path, func(w io.Writer) error {
		switch format {
		case "svg":
			return heatmap.WriteSVG(w, sim, opts)
		case "jpeg":
			img, err := heatmap.Render(sim, opts)
			if err != nil {
				return err
			}
			return jpeg.Encode(w, img, &jpeg.Options{Quality: 95})
		}
		return heatmap.WritePNG(w, sim, opts)
	})
}
