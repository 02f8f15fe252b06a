package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/synth"
	"github.com/goclip/goclip/tokenizer"
)

const synthHelp = `usage: clip synth (--preset NAME | --config CONFIG.json) [--seed N] --out DIR

Writes a complete model folder with deterministic synthetic weights of
real shapes (package synth): the config, the weights and, for the presets
with the CLIP vocabulary (CLIP and OpenCLIP), the tokenizer files
(vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json). The weights are a recipe of the tensor names and
--seed, so the same command writes the same bytes; they compute nothing
meaningful but exercise every code path at real sizes.`

// runSynth implements `clip synth`.
func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCmdFlags("synth", synthHelp)
	config := fs.String("config", "", "config.json to take the shapes from (either layout)")
	preset := fs.String("preset", "", "tiny (64 px, 2 layers), b32 (ViT-B/32 shapes), siglip-tiny, siglip-b16, siglip2-tiny, siglip2-b16-naflex (SigLIP 2 NaFlex), openclip-tiny, openclip-b32, openclip-b16")
	seed := fs.Uint64("seed", 0, "recipe seed")
	out := fs.String("out", "", "output folder (created)")
	rest, err := fs.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fs.usage("unexpected argument %q", rest[0])
	}
	if *out == "" {
		return fs.usage("--out is required")
	}
	var cfg synth.Config
	switch {
	case *config != "" && *preset != "":
		return fs.usage("give --config or --preset, not both")
	case *config != "":
		c, err := clip.LoadConfig(*config)
		if err != nil {
			return err
		}
		cfg = synth.Config{Family: c.Family, Text: c.TextConfig, Vision: c.VisionConfig, ProjectionDim: c.ProjectionDim, LogitScaleInitValue: c.LogitScaleInitValue}
	case *preset == "":
		return fs.usage("--config or --preset is required")
	default:
		var err error
		if cfg, err = synth.Preset(*preset); err != nil {
			return fs.usage("%v", err)
		}
	}
	start := time.Now()
	if err := synth.WriteModel(*out, cfg, *seed); err != nil {
		return err
	}
	switch {
	case cfg.Family == synth.FamilySigLIP, cfg.Family == synth.FamilySigLIP2: // WriteModel wrote a small spiece.model
	case cfg.Text.VocabSize == clipVocabSize:
		if err := tokenizer.WriteCLIPFiles(*out); err != nil {
			return err
		}
	default:
		fmt.Fprintf(stderr, "synth: vocab_size %d is not the CLIP vocabulary's %d: no tokenizer files written; add the checkpoint's own\n", cfg.Text.VocabSize, clipVocabSize)
	}
	weights := "model.safetensors"
	if cfg.Family == synth.FamilyOpenCLIP {
		weights = "open_clip_model.safetensors"
	}
	fmt.Fprintf(stdout, "wrote %s in %.2fs\n", filepath.Join(*out, weights), time.Since(start).Seconds())
	return nil
}
