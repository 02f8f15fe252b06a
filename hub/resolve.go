package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/goclip/goclip/internal/term"
)

// modelFiles lists the files of a transformers model repository that a
// CLIP model folder is made of: required ones (the config and the
// safetensors weights) and optional ones (tokenizer and image-processor
// files, which loaders replace with built-in defaults when a repo lacks
// them). It returns new slices on every call.
func modelFiles() (required, optional []string) {
	return []string{"config.json", "model.safetensors"},
		[]string{"preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
			"special_tokens_map.json", "vocab.json", "merges.txt", "spiece.model"}
}

// openCLIPFiles lists the files of an OpenCLIP repository on the Hub
// (open_clip's push_to_hf_hub layout): the config and safetensors weights
// required, the tokenizer files optional.
func openCLIPFiles() (required, optional []string) {
	_, optional = modelFiles()
	return []string{"open_clip_config.json", "open_clip_model.safetensors"}, optional
}

// ParseRepoSpec reads "org/name" or "org/name@revision" (a branch, tag or
// commit) as a repository of type typ. ok is false when spec does not have
// that shape, e.g. a path such as "./models/clip" or "/tmp/x".
func ParseRepoSpec(spec string, typ RepoType) (repo Repo, ok bool) {
	id, rev, hasRev := strings.Cut(spec, "@")
	if !LooksLikeRepoID(id) || (hasRev && (rev == "" || validateRevision(rev) != nil)) {
		return Repo{}, false
	}
	return Repo{ID: id, Type: typ, Revision: rev}, true
}

// ResolveModel returns a local model folder for spec, the value of a
// --model flag or a model argument:
//   - an existing folder is returned as is (a local folder wins over a Hub
//     id of the same spelling, as in transformers);
//   - "org/name" or "org/name@revision" is found in the Hugging Face cache
//     (snapshots/<commit>/ of models--org--name, the folder Python's
//     huggingface_hub fills) or its modelFiles are downloaded into it, and
//     the snapshot folder is returned; a repo without them (no config.json
//     or model.safetensors) is taken in OpenCLIP's layout (openCLIPFiles),
//     so a repo with both layouts gives the transformers one;
//   - "hf-hub:org/name", open_clip's spelling, is "org/name".
//
// c says where the cache and the Hub are and reports progress; nil means
// New(nil), the HF_* environment (HF_HUB_CACHE, HF_HOME, HF_ENDPOINT,
// HF_TOKEN, HF_HUB_OFFLINE) without progress reports.
func ResolveModel(ctx context.Context, spec string, c *Client) (string, error) {
	if spec == "" {
		return "", errors.New("hub: empty model name (want a folder or a Hub id org/name)")
	}
	st, err := os.Stat(spec)
	if err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("model %s is a file; want a model folder or a Hub id", spec)
		}
		return spec, nil
	}
	repo, ok := ParseRepoSpec(strings.TrimPrefix(spec, "hf-hub:"), Model)
	if !errors.Is(err, fs.ErrNotExist) || !ok {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("model %s: no such folder, and not a Hub id (org/name[@revision])", spec)
		}
		return "", fmt.Errorf("model %s: %w", spec, err)
	}
	if c == nil {
		c = New(nil)
	}
	required, optional := modelFiles()
	dir, err := c.Snapshot(ctx, repo, required, optional)
	if errors.Is(err, ErrEntryNotFound) {
		required, optional = openCLIPFiles()
		if odir, oerr := c.Snapshot(ctx, repo, required, optional); oerr == nil {
			return odir, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("model %s: %w", spec, err)
	}
	return dir, nil
}

// NewProgressReporter returns the progress display for w: NewProgressBar
// when w is a terminal, otherwise one line when a file starts downloading
// ("downloading model.safetensors (605.2 MB)", "resuming model.safetensors
// at 209.7 MB of 605.2 MB") and, for files of a megabyte or more, one when
// it is complete, so logs stay readable.
func NewProgressReporter(w io.Writer) ProgressFunc {
	if term.IsTerminal(w) {
		return NewProgressBar(w)
	}
	var mu sync.Mutex
	started := map[string]bool{}
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case !started[p.File]:
			started[p.File] = true
			switch {
			case p.Total < 0:
				fmt.Fprintf(w, "downloading %s\n", p.File)
			case p.Done > 0 && p.Done < p.Total:
				fmt.Fprintf(w, "resuming %s at %s of %s\n", p.File, humanBytes(p.Done), humanBytes(p.Total))
			default:
				fmt.Fprintf(w, "downloading %s (%s)\n", p.File, humanBytes(p.Total))
			}
		case p.Total >= 0 && p.Done >= p.Total:
			if p.Total >= 1e6 {
				fmt.Fprintf(w, "downloaded %s\n", p.File)
			}
			delete(started, p.File)
		}
	}
}
