package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Entry is one file or folder of a repository listing.
type Entry struct {
	Path string `json:"path"` // repo path, "/"-separated
	Type string `json:"type"` // "file" or "directory"
	Size int64  `json:"size"`
	OID  string `json:"oid"` // git blob (or tree) sha1
	LFS  *struct {
		OID  string `json:"oid"` // sha256 of the content
		Size int64  `json:"size"`
	} `json:"lfs,omitempty"`
}

// maxTreePages bounds the pagination loop against a misbehaving server.
const maxTreePages = 10000

// ListFiles lists the folder dir ("" for the root) of a repository with
// the Hub's tree API, GET {endpoint}/api/{type}s/{id}/tree/{revision}/{dir}
// (?recursive=true when recursive), following the Link: rel="next" pages,
// as list_repo_tree. Offline, it lists the cached snapshot folder instead
// (only the files already downloaded; sizes of the local files).
func (c *Client) ListFiles(ctx context.Context, repo Repo, dir string, recursive bool) ([]Entry, error) {
	repo = repo.norm()
	dir = strings.Trim(dir, "/")
	if dir != "" {
		if err := validateFilename(dir); err != nil {
			return nil, err
		}
	}
	if c.cfg.Offline {
		return c.listCached(repo, dir, recursive)
	}
	u := c.cfg.Endpoint + "/api/" + string(repo.Type) + "s/" + repo.ID + "/tree/" + url.PathEscape(repo.Revision)
	if dir != "" {
		u += "/" + url.PathEscape(dir)
	}
	if recursive {
		u += "?recursive=true"
	}
	var out []Entry
	for range maxTreePages {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
		c.setHeaders(req, true)
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("hub: listing %s: %w", repo, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, httpError(resp)
		}
		var page []Entry
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("hub: listing %s: bad JSON: %w", repo, err)
		}
		out = append(out, page...)
		next := nextLink(resp.Header.Get("Link"))
		if next == "" {
			return out, nil
		}
		nu, err := resp.Request.URL.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("hub: listing %s: bad Link header: %w", repo, err)
		}
		u = nu.String()
	}
	return nil, fmt.Errorf("hub: listing %s: more than %d pages", repo, maxTreePages)
}

var linkNextRe = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?next"?`)

func nextLink(h string) string {
	if m := linkNextRe.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

func (c *Client) listCached(repo Repo, dir string, recursive bool) ([]Entry, error) {
	snap, err := c.SnapshotDir(repo)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrOffline)
	}
	root := filepath.Join(snap, filepath.FromSlash(dir))
	var out []Entry
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(snap, p)
		e := Entry{Path: filepath.ToSlash(rel), Type: "file"}
		if d.IsDir() {
			e.Type = "directory"
		} else if st, err := os.Stat(p); err == nil {
			e.Size = st.Size()
		}
		out = append(out, e)
		if d.IsDir() && !recursive {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hub: listing cached %s: %w", repo, err)
	}
	return out, nil
}

// Snapshot makes the listed files of one revision available in the cache
// and returns their common snapshot folder (snapshots/<commit>). All files
// come from one commit: the one refs/<revision> names in the cache, else
// the one the first download resolves. Files in optional may be absent from the repo (ErrEntryNotFound
// is ignored for them); any other error stops.
func (c *Client) Snapshot(ctx context.Context, repo Repo, required, optional []string) (string, error) {
	repo = repo.norm()
	files := append(append([]string(nil), required...), optional...)
	isOptional := make(map[string]bool, len(optional))
	for _, f := range optional {
		isOptional[f] = true
	}
	// Pin to the commit the cache already knows, so files downloaded now
	// join the snapshot Python or an earlier run started (cache-first, see
	// the package doc); otherwise the first HEAD answer pins it.
	commit := c.ResolveCachedRevision(repo)
	for _, f := range files {
		r := repo
		if commit != "" {
			r.Revision = commit
		}
		p, err := c.Download(ctx, r, f)
		if err != nil {
			// An optional file the Hub does not have, or that is not cached
			// while offline, is treated as absent.
			if isOptional[f] && (errors.Is(err, ErrEntryNotFound) || errors.Is(err, ErrOffline)) {
				continue
			}
			return "", err
		}
		if commit == "" {
			rel := filepath.FromSlash(f)
			snapDir := strings.TrimSuffix(p, string(filepath.Separator)+rel)
			commit = filepath.Base(snapDir)
		}
	}
	if commit == "" {
		return "", fmt.Errorf("hub: %s: none of the files %v exist", repo, files)
	}
	return filepath.Join(c.StorageDir(repo), "snapshots", commit), nil
}
