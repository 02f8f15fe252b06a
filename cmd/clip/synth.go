package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/synth"
)

// runSynth writes a model folder with deterministic synthetic weights:
//
//	clip synth (--preset NAME | --config CONFIG.json) [--seed N] --out DIR
func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", "usage: clip synth (--preset NAME | --config CONFIG.json) [--seed N] --out DIR", stderr)
	config := fs.String("config", "", "config.json to take the shapes from (either layout)")
	preset := fs.String("preset", "", "tiny (64 px, 2 layers), b32 (ViT-B/32 shapes), siglip-tiny, siglip-b16, openclip-tiny, openclip-b32, openclip-b16")
	seed := fs.Uint64("seed", 0, "recipe seed")
	out := fs.String("out", "", "output folder (created)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("synth: --out is required")
	}
	var cfg synth.Config
	switch {
	case *config != "" && *preset != "":
		return errors.New("synth: give --config or --preset, not both")
	case *config != "":
		c, err := clip.LoadConfig(*config)
		if err != nil {
			return err
		}
		cfg = synth.Config{Text: c.TextConfig, Vision: c.VisionConfig, ProjectionDim: c.ProjectionDim, LogitScaleInitValue: c.LogitScaleInitValue}
	case *preset == "":
		return errors.New("synth: --config or --preset is required")
	default:
		var err error
		if cfg, err = synth.Preset(*preset); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := synth.WriteModel(*out, cfg, *seed); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	weights := "model.safetensors"
	if cfg.Family == synth.FamilyOpenCLIP {
		weights = "open_clip_model.safetensors"
	}
	fmt.Fprintf(stdout, "wrote %s in %.2fs\n", filepath.Join(*out, weights), time.Since(start).Seconds())
	return nil
}
