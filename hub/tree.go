package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	for range MaxTreePages {
		page, next, err := c.treePage(ctx, repo, u, c.maxEntries-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		u = next
	}
	return nil, fmt.Errorf("hub: listing %s: %w: more than %d pages", repo, ErrLimit, MaxTreePages)
}

// treePage GETs one page of a listing: at most MaxTreePageBytes of JSON
// and room entries. The token is sent to the endpoint's origin only: a
// Link to another origin is followed without it.
func (c *Client) treePage(ctx context.Context, repo Repo, u string, room int) ([]Entry, string, error) {
	resp, err := c.do(ctx, c.http, true, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			c.setHeaders(req, sameOrigin(c.cfg.Endpoint, u))
		}
		return req, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("hub: listing %s: %w", repo, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", httpError(resp)
	}
	page, err := parseTreePage(io.LimitReader(resp.Body, MaxTreePageBytes+1), room, c.maxEntries)
	if err != nil {
		return nil, "", fmt.Errorf("hub: listing %s: %w", repo, err)
	}
	next := nextLink(resp.Header.Get("Link"))
	if next == "" {
		return page, "", nil
	}
	nu, err := resp.Request.URL.Parse(next)
	if err != nil || (nu.Scheme != "http" && nu.Scheme != "https") {
		return nil, "", fmt.Errorf("hub: listing %s: bad Link header %q", repo, redact(next))
	}
	return page, nu.String(), nil
}

// parseTreePage decodes a JSON array of entries from r (already limited to
// MaxTreePageBytes+1 bytes), one entry at a time, refusing more than room
// entries or a page longer than MaxTreePageBytes.
func parseTreePage(r io.Reader, room, maxEntries int) ([]Entry, error) {
	cr := &countingReader{r: r}
	dec := json.NewDecoder(cr)
	tooBig := func(err error) error {
		if cr.n > MaxTreePageBytes {
			return fmt.Errorf("%w: a page of more than %d bytes", ErrLimit, MaxTreePageBytes)
		}
		return fmt.Errorf("bad JSON: %w", err)
	}
	if t, err := dec.Token(); err != nil {
		return nil, tooBig(err)
	} else if t != json.Delim('[') {
		return nil, fmt.Errorf("bad JSON: want an array of entries, got %v", t)
	}
	var page []Entry
	for dec.More() {
		if len(page) >= room {
			return nil, fmt.Errorf("%w: more than %d entries", ErrLimit, maxEntries)
		}
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return nil, tooBig(err)
		}
		page = append(page, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, tooBig(err)
	}
	return page, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
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
// the one the first download resolves. Files in optional may be absent
// from the repo (ErrEntryNotFound is ignored for them); any other error
// stops. When a required file is recorded missing at the cached commit of
// a branch or tag and the client is online, the revision is resolved again
// (a HEAD request): if it moved to a commit that has the file, the whole
// snapshot is taken from that commit.
func (c *Client) Snapshot(ctx context.Context, repo Repo, required, optional []string) (string, error) {
	repo = repo.norm()
	// Pin to the commit the cache already knows, so files downloaded now
	// join the snapshot Python or an earlier run started (cache-first, see
	// the package doc); otherwise the first HEAD answer pins it.
	commit := c.ResolveCachedRevision(repo)
	dir, missing, err := c.snapshotAt(ctx, repo, commit, required, optional)
	if missing == "" || commit == "" || IsCommitHash(repo.Revision) || c.cfg.Offline {
		return dir, err
	}
	if _, derr := c.Download(ctx, repo, missing); derr != nil {
		return "", derr
	}
	if moved := c.ResolveCachedRevision(repo); moved != commit {
		dir, _, err = c.snapshotAt(ctx, repo, moved, required, optional)
	}
	return dir, err
}

// snapshotAt is Snapshot pinned to commit ("" for the first answer's).
// missing names a required file recorded missing at the commit.
func (c *Client) snapshotAt(ctx context.Context, repo Repo, commit string, required, optional []string) (dir, missing string, err error) {
	files := append(append([]string(nil), required...), optional...)
	isOptional := make(map[string]bool, len(optional))
	for _, f := range optional {
		isOptional[f] = true
	}
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
			if errors.Is(err, ErrEntryNotFound) {
				missing = f
			}
			return "", missing, err
		}
		if commit == "" {
			rel := filepath.FromSlash(f)
			snapDir := strings.TrimSuffix(p, string(filepath.Separator)+rel)
			commit = filepath.Base(snapDir)
		}
	}
	if commit == "" {
		return "", "", fmt.Errorf("hub: %s: none of the files %v exist", repo, files)
	}
	return filepath.Join(c.StorageDir(repo), "snapshots", commit), "", nil
}
