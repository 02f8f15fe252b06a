package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goclip/goclip/clip"
)

// The classifier cache: a zero-shot classifier (the class embeddings of
// every class with every template, minutes of text-tower work for the
// ImageNet default) is kept in the user's cache folder, under
// goclip/classifiers/KEY.safetensors, so that the next run with the same
// model, classes and templates starts at once. KEY hashes the model's
// resolved folder (a Hub snapshot folder names its revision), the identity
// of its weight files (name, size and modification time) and its
// config.json, and the classes and templates. Files are written atomically;
// an unreadable or mismatched cache file is rebuilt.

// classifierFor returns the zero-shot classifier of names and templates
// for the model loaded from dir: the cached one, else one built from the
// class prompts (progress on stderr under label) and cached. With
// useCache false the cache is neither read nor written; a cache that
// cannot be read or written is said on stderr and otherwise ignored.
func classifierFor(ctx context.Context, m *clip.Model, dir string, names, tmpl []string, batch int, model, label string, useCache bool, stderr io.Writer) (*clip.Classifier, error) {
	cache := ""
	if useCache {
		var err error
		if cache, err = classifierCachePath(dir, names, tmpl); err != nil {
			fmt.Fprintf(stderr, "clip: no classifier cache: %v\n", err)
		} else if c := cachedClassifier(cache, names, tmpl, m.EmbedDim()); c != nil {
			fmt.Fprintf(stderr, "clip: using the cached classifier %s\n", cache)
			return c, nil
		}
	}
	c, err := buildClassifier(ctx, m, names, tmpl, batch, model, label, stderr)
	if err != nil {
		return nil, err
	}
	if cache != "" {
		if err := saveClassifier(cache, c); err != nil {
			fmt.Fprintf(stderr, "clip: warning: caching the classifier: %v\n", err)
		}
	}
	return c, nil
}

// classifierCachePath returns the cache file of a classifier.
func classifierCachePath(dir string, names, tmpl []string) (string, error) {
	root, err := classifierCacheDir()
	if err != nil {
		return "", err
	}
	key, err := classifierKey(dir, names, tmpl)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, key+".safetensors"), nil
}

// classifierCacheDir returns the cache folder: $XDG_CACHE_HOME or
// ~/.cache on Linux (os.UserCacheDir), then goclip/classifiers.
func classifierCacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "goclip", "classifiers"), nil
}

// classifierKey returns the cache key of a classifier of the model in
// dir built from classes and templates.
func classifierKey(dir string, classes, templates []string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "goclip classifier v1\x00%s\x00", abs)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range ents { // sorted by name
		name := e.Name()
		if !strings.HasSuffix(name, ".safetensors") && !strings.HasSuffix(name, ".bin") && name != "config.json" {
			continue
		}
		st, err := os.Stat(filepath.Join(dir, name)) // follows the Hub cache's symlinks
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "file\x00%s\x00%d\x00%d\x00", name, st.Size(), st.ModTime().UnixNano())
	}
	if cfg, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		h.Write(cfg)
	}
	fmt.Fprintf(h, "\x00classes %d\x00", len(classes))
	for _, c := range classes {
		io.WriteString(h, c+"\x00")
	}
	fmt.Fprintf(h, "templates %d\x00", len(templates))
	for _, t := range templates {
		io.WriteString(h, t+"\x00")
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// cachedClassifier returns the cached classifier of the key, or nil when
// there is none that matches classes, templates and the model's dimension.
func cachedClassifier(path string, classes, templates []string, dim int) *clip.Classifier {
	c, err := clip.LoadClassifier(path)
	if err != nil || !slices.Equal(c.Classes, classes) || !slices.Equal(c.Templates, templates) || c.Dim() != dim {
		return nil
	}
	return c
}

// saveClassifier writes a classifier atomically (mode 0644), creating the
// folder.
func saveClassifier(path string, c *clip.Classifier) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, c.Write)
}
