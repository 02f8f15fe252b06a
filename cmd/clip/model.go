package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/hub"
)

// This file is the one place the commands turn --model and --dataset values
// into local files: every command that takes a model calls loadModel (or
// resolveModel for the folder alone), every command that opens a Hub
// dataset passes newHubClient(stderr) to dataset.Open.

// defaultModel is the --model default: the model of the seed experiment.
const defaultModel = "openai/clip-vit-base-patch32"

// newHubClient returns a Hub client configured from the environment
// (HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE) that
// reports downloads on stderr: a progress bar on a terminal, one line per
// file otherwise.
func newHubClient(stderr io.Writer) *hub.Client {
	return hub.New(&hub.Config{Progress: hub.NewProgressReporter(stderr)})
}

// resolveModel returns the local folder of a --model value: the folder
// itself, or the Hugging Face cache snapshot of a Hub id
// "org/name[@revision]", downloaded on first use (see hub.ResolveModel).
// Cancelling ctx (Ctrl-C) stops a download; the partial file is resumed
// next time.
func resolveModel(ctx context.Context, spec string, stderr io.Writer) (string, error) {
	if spec == "" {
		return "", errors.New("--model is required (a model folder or a Hub id org/name)")
	}
	return hub.ResolveModel(ctx, spec, newHubClient(stderr))
}

// loadModel resolves a --model value (a folder or a Hub id) and loads the
// model. It also returns the folder, where imageproc.LoadProcessor finds
// the model's preprocessor_config.json.
func loadModel(ctx context.Context, spec string, stderr io.Writer) (*clip.Model, string, error) {
	dir, err := resolveModel(ctx, spec, stderr)
	if err != nil {
		return nil, "", err
	}
	m, err := clip.Load(dir, nil)
	if err != nil {
		return nil, "", err
	}
	return m, dir, nil
}

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting; -h prints synopsis (the "usage: clip name …" lines,
// positional arguments included) and the flags to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("clip "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, synopsis+"\n\nflags:")
		fs.PrintDefaults()
	}
	return fs
}
