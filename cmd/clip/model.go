package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/goclip/goclip/clip"
)

// openModel opens the model named by a --model flag value: a Hugging Face
// model folder (config.json, model.safetensors, tokenizer files), or, when
// no such folder exists, a Hub id "org/name[@revision]" resolved through
// the Hugging Face cache (hubmodel.go).
func openModel(spec string) (*clip.Model, error) {
	if spec == "" {
		return nil, errors.New("--model is required (a model folder)")
	}
	fi, err := os.Stat(spec)
	if repo, ok := parseHubModel(spec); err != nil && ok { // Hub id: see hubmodel.go
		dir, herr := downloadHubModel(repo, os.Stderr)
		if herr != nil {
			return nil, herr
		}
		return clip.Load(dir, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", spec, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("model %q is not a folder", spec)
	}
	return clip.Load(spec, nil)
}

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting, writing usage to stderr.
func newFlagSet(name string, stderr interface{ Write([]byte) (int, error) }) *flag.FlagSet {
	fs := flag.NewFlagSet("clip "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
