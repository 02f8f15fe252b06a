package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/goclip/goclip/hub"
)

// CLIP model files fetched for a Hub id: model weights and config are
// required; the tokenizer and image-processor files are taken when the
// repo has them (clip.Load falls back to built-in defaults otherwise).
var (
	hubModelRequired = []string{"config.json", "model.safetensors"}
	hubModelOptional = []string{"preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
		"special_tokens_map.json", "vocab.json", "merges.txt"}
)

// parseHubModel splits "org/name" or "org/name@revision"; ok is false when
// spec does not look like a Hub id.
func parseHubModel(spec string) (hub.Repo, bool) {
	id, rev, _ := strings.Cut(spec, "@")
	if !hub.LooksLikeRepoID(id) {
		return hub.Repo{}, false
	}
	return hub.Repo{ID: id, Type: hub.Model, Revision: rev}, true
}

// newHubClient returns a Hub client configured from the environment
// (HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE) that
// draws a progress bar on stderr when it is a terminal, and otherwise
// prints one line per file it starts downloading.
func newHubClient(stderr io.Writer) *hub.Client {
	cfg := hub.ConfigFromEnv()
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		cfg.Progress = hub.NewProgressBar(stderr)
	} else {
		started := map[string]bool{}
		cfg.Progress = func(p hub.Progress) {
			if !started[p.File] {
				started[p.File] = true
				if p.Total >= 0 {
					fmt.Fprintf(stderr, "clip: downloading %s (%d bytes)\n", p.File, p.Total)
				} else {
					fmt.Fprintf(stderr, "clip: downloading %s\n", p.File)
				}
			}
		}
	}
	return hub.New(&cfg)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// downloadHubModel finds a Hub model in the Hugging Face cache, or
// downloads its files into it, and returns the snapshot folder. Ctrl-C
// cancels the download (the partial file stays and is resumed next time).
func downloadHubModel(repo hub.Repo, stderr io.Writer) (string, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := newHubClient(stderr).Snapshot(ctx, repo, hubModelRequired, hubModelOptional)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", repo.ID, err)
	}
	return dir, nil
}
