package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/hub"
)

// This file is the one place the commands turn --model and --dataset values
// into local files: every command that takes a model calls loadModel (or
// resolveModel and openModel), every command that opens a dataset calls
// openDataset.

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
	return resolveModelWith(ctx, spec, newHubClient(stderr))
}

// resolveModelWith is resolveModel with a given Hub client.
func resolveModelWith(ctx context.Context, spec string, hc *hub.Client) (string, error) {
	dir, err := hub.ResolveModel(ctx, spec, hc)
	return dir, hubHint(err)
}

// loadModel resolves a --model value (a folder or a Hub id) and loads the
// model with the encoder weights in precision prec (--precision).
func loadModel(ctx context.Context, spec string, prec clip.Precision, stderr io.Writer) (*clip.Model, error) {
	dir, err := resolveModel(ctx, spec, stderr)
	if err != nil {
		return nil, err
	}
	return openModel(dir, prec, stderr)
}

// precisionVar adds --precision to fs, stored in p: the number format of
// the encoder weights (clip.LoadOptions.Precision; "" means f32), checked
// when parsed.
func precisionVar(fs *flag.FlagSet, p *clip.Precision) {
	fs.Func("precision", "encoder weights: f32 (default, matches transformers), bf16 or int8 (faster, approximate)", func(v string) error {
		switch q := clip.Precision(v); q {
		case clip.F32, clip.BF16, clip.Int8:
			*p = q
			return nil
		}
		return fmt.Errorf("want f32, bf16 or int8")
	})
}

// openModel loads the model in a local folder and applies the tokenizer
// rule (after Load, which refuses a config that is not CLIP's, naming its
// model_type).
func openModel(dir string, prec clip.Precision, stderr io.Writer) (*clip.Model, error) {
	m, err := clip.Load(dir, &clip.LoadOptions{Precision: prec})
	if err != nil {
		return nil, err
	}
	if err := checkTokenizer(dir, stderr); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// openDataset opens a --dataset value (a folder, a .tar shard or a Hub
// dataset id, downloaded on first use) at split ("" for the default).
func openDataset(ctx context.Context, name, split string, stderr io.Writer) (*dataset.Dataset, error) {
	d, err := dataset.Open(ctx, name, &dataset.Options{Split: split, Hub: newHubClient(stderr)})
	return d, hubHint(err)
}

// networkError is a Hub request that never reached the Hub: no network, a
// DNS failure, a refused connection. It says what to do instead.
type networkError struct {
	url string
	err error // the whole chain, for errors.Is/As
	net error // the transport's own error, without the URL
}

func (e *networkError) Error() string {
	return fmt.Sprintf("cannot reach the Hugging Face Hub at %s (%v); for a model or dataset already in the cache set HF_HUB_OFFLINE=1, otherwise pass a local folder", e.url, e.net)
}

func (e *networkError) Unwrap() error { return e.err }

// offlineError is a Hub file missing from the cache in offline mode.
type offlineError struct{ err error }

func (e *offlineError) Error() string {
	return e.err.Error() + "; unset HF_HUB_OFFLINE to download it, or pass a local folder"
}

func (e *offlineError) Unwrap() error { return e.err }

// hubHint returns err with advice when it is a Hub request that could not
// reach the network, or a file offline mode could not find; other errors
// unchanged.
func hubHint(err error) error {
	var ue *url.Error
	var he *hub.HTTPError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, hub.ErrOffline):
		return &offlineError{err}
	case errors.As(err, &ue) && !errors.As(err, &he) && !errors.Is(err, context.Canceled):
		return &networkError{url: ue.URL, err: err, net: ue.Err}
	}
	return err
}
