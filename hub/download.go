package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Client resolves and downloads Hub files through the shared cache. It is
// safe for concurrent use.
type Client struct {
	cfg        Config
	http       *http.Client
	retryDelay time.Duration // pause before resuming a dropped download
	maxEntries int           // MaxTreeEntries (lowered by tests)
}

// New returns a client. A nil cfg means ConfigFromEnv(); zero fields of a
// non-nil cfg are filled from the environment as well.
func New(cfg *Config) *Client {
	c := &Client{cfg: cfg.merged(), retryDelay: time.Second, maxEntries: MaxTreeEntries}
	c.http = newHTTPClient(&c.cfg)
	if c.cfg.Retries == 0 {
		c.cfg.Retries = 5
	}
	if c.cfg.UserAgent == "" {
		c.cfg.UserAgent = "goclip-hub"
	}
	return c
}

// Config returns the effective configuration.
func (c *Client) Config() Config { return c.cfg }

// FileMetadata is what a HEAD request on a resolve URL tells about a file.
type FileMetadata struct {
	Commit   string // X-Repo-Commit
	ETag     string // X-Linked-Etag or ETag, without quotes and W/
	Size     int64  // X-Linked-Size or Content-Length; -1 when unknown
	Location string // where to GET the content (a CDN URL after a redirect)
}

// ResolveURL is the Hub URL of a file:
// {endpoint}/[datasets/]{id}/resolve/{revision}/{filename}, with the
// revision escaped whole and the file name per path segment, as hf_hub_url.
func (c *Client) ResolveURL(repo Repo, filename string) string {
	repo = repo.norm()
	prefix := ""
	if repo.Type != Model {
		prefix = string(repo.Type) + "s/"
	}
	segs := strings.Split(filename, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.cfg.Endpoint + "/" + prefix + repo.ID + "/resolve/" + url.PathEscape(repo.Revision) + "/" + strings.Join(segs, "/")
}

// Download returns the local path of a repo file (a path inside
// snapshots/<commit>/), downloading it into the cache when it is not there.
//
// Order: (1) the cache — refs/<revision> then snapshots/<commit>/<file>,
// with no network; a cached .no_exist marker gives ErrEntryNotFound;
// (2) ErrOffline when offline; (3) a HEAD request on the resolve URL for
// the commit, ETag and size; (4) the blob if another revision already has
// it; (5) a GET into blobs/<etag>.incomplete (resumed with Range if a
// previous attempt left one), verified against the ETag, renamed to
// blobs/<etag>, linked from the snapshot.
func (c *Client) Download(ctx context.Context, repo Repo, filename string) (string, error) {
	repo = repo.norm()
	if err := validateFilename(filename); err != nil {
		return "", err
	}
	if err := validateRevision(repo.Revision); err != nil {
		return "", err
	}
	p, err := c.Cached(repo, filename)
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, ErrEntryNotFound) && (c.cfg.Offline || IsCommitHash(repo.Revision)):
		// A file missing at a commit stays missing; a branch may have
		// moved since, so it is asked again when online (as Python does).
		return "", err
	case c.cfg.Offline:
		return "", fmt.Errorf("%s %s: %w", repo, filename, ErrOffline)
	}
	storage := c.StorageDir(repo)
	rel := filepath.FromSlash(filename)

	meta, err := c.Metadata(ctx, repo, filename)
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) && errors.Is(err, ErrEntryNotFound) && IsCommitHash(meta.Commit) {
			// Cache the non-existence of the file, as Python does.
			marker := filepath.Join(storage, ".no_exist", meta.Commit, rel)
			if os.MkdirAll(filepath.Dir(marker), 0o777) == nil {
				if f, ferr := openNoFollow(marker, os.O_CREATE|os.O_WRONLY, 0o666); ferr == nil {
					f.Close()
				}
			}
			_ = writeRef(storage, repo.Revision, meta.Commit)
		}
		return "", err
	}
	pointer := filepath.Join(storage, "snapshots", meta.Commit, rel)
	blob := filepath.Join(storage, "blobs", meta.ETag)
	if _, err := os.Stat(pointer); err == nil {
		_ = writeRef(storage, repo.Revision, meta.Commit) // best effort: the cache may be read-only
		return pointer, nil
	}
	for _, d := range []string{filepath.Dir(blob), filepath.Dir(pointer)} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			return "", fmt.Errorf("hub: %w", err)
		}
	}
	writeCachedirTag(c.cfg.CacheDir)
	if err := writeRef(storage, repo.Revision, meta.Commit); err != nil {
		return "", fmt.Errorf("hub: writing ref: %w", err)
	}

	lockPath := filepath.Join(c.cfg.CacheDir, ".locks", RepoFolderName(repo.ID, repo.Type), meta.ETag+".lock")
	unlock, err := lockFile(ctx, lockPath)
	if err != nil {
		return "", fmt.Errorf("hub: lock %s: %w", lockPath, err)
	}
	defer unlock()

	switch st, err := os.Lstat(blob); {
	case err != nil:
		if err := c.downloadBlob(ctx, meta, blob, filename); err != nil {
			return "", err
		}
	case !st.Mode().IsRegular():
		// A link or device planted in the blob store (say to /dev/zero)
		// must not become a model file.
		return "", fmt.Errorf("hub: %s is not a regular file (%v); refusing to use it (remove it)", blob, st.Mode().Type())
	}
	if err := linkPointer(blob, pointer); err != nil {
		return "", fmt.Errorf("hub: linking %s: %w", pointer, err)
	}
	return pointer, nil
}

// Metadata sends a HEAD request on the resolve URL, following redirects
// that stay on the Hub's host and stopping at one that leaves it (a CDN),
// as get_hf_file_metadata. On a 404 with an X-Repo-Commit header, the
// returned metadata still carries Commit.
func (c *Client) Metadata(ctx context.Context, repo Repo, filename string) (FileMetadata, error) {
	if c.cfg.Offline {
		return FileMetadata{}, ErrOffline
	}
	u := c.ResolveURL(repo, filename)
	noFollow := *c.http
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for range maxRedirects {
		resp, err := c.do(ctx, &noFollow, true, func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
			if err == nil {
				c.setHeaders(req, sameOrigin(c.cfg.Endpoint, u))
			}
			return req, err
		})
		if err != nil {
			return FileMetadata{}, fmt.Errorf("hub: HEAD %s: %w", redact(u), err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode >= 400 {
			return FileMetadata{Commit: h.Get("X-Repo-Commit"), Size: -1}, httpError(resp)
		}
		isRedirect := resp.StatusCode >= 300 && resp.StatusCode < 400 && h.Get("Location") != ""
		if isRedirect {
			target, err := resp.Request.URL.Parse(h.Get("Location"))
			if err != nil {
				return FileMetadata{}, fmt.Errorf("hub: HEAD %s: bad Location: %w", redact(u), err)
			}
			if sameOrigin(u, target.String()) {
				u = target.String()
				continue
			}
		}
		m := FileMetadata{
			Commit:   h.Get("X-Repo-Commit"),
			ETag:     normalizeETag(firstNonEmpty(h.Get("X-Linked-Etag"), h.Get("ETag"))),
			Size:     -1,
			Location: u,
		}
		if isRedirect {
			target, _ := resp.Request.URL.Parse(h.Get("Location"))
			m.Location = target.String()
		}
		sz := h.Get("X-Linked-Size")
		if sz == "" && !isRedirect {
			sz = h.Get("Content-Length")
		}
		if n, err := strconv.ParseInt(sz, 10, 64); err == nil && n >= 0 {
			m.Size = n
		}
		if !IsCommitHash(m.Commit) {
			return m, fmt.Errorf("hub: HEAD %s: response has no valid X-Repo-Commit header (%q): is HF_ENDPOINT a Hugging Face Hub?", redact(u), m.Commit)
		}
		if m.ETag == "" || strings.ContainsAny(m.ETag, `/\`) || m.ETag == "." || m.ETag == ".." || len(m.ETag) > 256 {
			return m, fmt.Errorf("hub: HEAD %s: response has no usable ETag (%q)", redact(u), m.ETag)
		}
		return m, nil
	}
	return FileMetadata{}, fmt.Errorf("hub: HEAD %s: too many redirects", redact(u))
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// normalizeETag strips W/ and quotes, as _normalize_etag.
func normalizeETag(e string) string {
	e = strings.TrimLeft(e, "W/") // Python's lstrip("W/") strips any run of 'W' and '/'
	return strings.Trim(e, `"`)
}

func (c *Client) setHeaders(req *http.Request, auth bool) {
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	// The real size is needed for resume and checks: no compression.
	req.Header.Set("Accept-Encoding", "identity")
	if auth && c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
}

func httpError(resp *http.Response) *HTTPError {
	return &HTTPError{
		Method:     resp.Request.Method,
		URL:        resp.Request.URL.Redacted(),
		StatusCode: resp.StatusCode,
		Code:       resp.Header.Get("X-Error-Code"),
		Message:    resp.Header.Get("X-Error-Message"),
	}
}

// downloadBlob fetches meta.Location into blob+".incomplete", verifies it
// and renames it to blob. A dropped connection leaves the partial file for
// the next attempt; a checksum or size mismatch deletes it. The partial
// file is opened without following links, and a download whose size the
// server did not announce is refused: every write is bounded by the size
// the HEAD answer gave.
func (c *Client) downloadBlob(ctx context.Context, meta FileMetadata, blob, filename string) error {
	if meta.Size < 0 {
		return fmt.Errorf("hub: %s: %w: the server announced no size (X-Linked-Size or Content-Length); refusing an unbounded download", filename, ErrLimit)
	}
	incomplete := blob + ".incomplete"
	f, err := openNoFollow(incomplete, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("hub: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("hub: %s is not a regular file; refusing to write to it", incomplete)
	}
	offset := st.Size()
	if offset > meta.Size {
		offset = 0 // stale partial file of something else: start over
	}
	if err := f.Truncate(offset); err != nil {
		f.Close()
		return fmt.Errorf("hub: %w", err)
	}
	auth := sameOrigin(c.cfg.Endpoint, meta.Location)
	n, err := c.fetch(ctx, meta.Location, auth, f, offset, meta.Size, filename)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("hub: %w", cerr)
	}
	if err != nil {
		return err // partial file kept for resume
	}
	if n != meta.Size {
		os.Remove(incomplete)
		return fmt.Errorf("hub: %s: consistency check failed: expected %d bytes, got %d (file discarded)", filename, meta.Size, n)
	}
	if err := verify(incomplete, meta.ETag, filename); err != nil {
		os.Remove(incomplete)
		return err
	}
	if err := os.Rename(incomplete, blob); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// transientError marks failures worth resuming: dropped or stalled
// connections, 408, 429 and 5xx answers (after: the Retry-After asked).
type transientError struct {
	err   error
	after time.Duration
}

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// fetch GETs url into f from offset on, resuming with Range after a
// dropped connection up to Retries times in a row without progress (as
// Python's http_get); a server that cannot be reached at all is retried
// once, quickly (see unreachable). It returns the final size of f.
func (c *Client) fetch(ctx context.Context, u string, auth bool, f *os.File, offset, size int64, name string) (int64, error) {
	left, quick := c.cfg.Retries, true
	for attempt := 0; ; attempt++ {
		start := offset
		err := c.getOnce(ctx, u, auth, f, &offset, size, name)
		if err == nil {
			return offset, nil
		}
		if ctx.Err() != nil {
			return offset, fmt.Errorf("hub: downloading %s: %w", name, ctx.Err())
		}
		var te transientError
		if !errors.As(err, &te) {
			return offset, err
		}
		if offset > start {
			left = c.cfg.Retries // some data arrived: reset the budget, as Python
			attempt = 0
		}
		if left <= 0 || (unreachable(err) && !quick) {
			return offset, fmt.Errorf("hub: downloading %s: %w (partial file kept, run again to resume)", name, err)
		}
		left--
		delay := c.backoff(attempt)
		if te.after > 0 {
			delay = te.after
		}
		if unreachable(err) {
			quick, delay = false, c.quickRetry()
		}
		if err := c.wait(ctx, delay); err != nil {
			return offset, fmt.Errorf("hub: downloading %s: %w", name, err)
		}
	}
}

// getOnce makes one attempt to fetch the rest of a file into f from *offset on.
func (c *Client) getOnce(ctx context.Context, u string, auth bool, f *os.File, offset *int64, size int64, name string) error {
	if size >= 0 && *offset == size {
		return nil // already complete
	}
	resp, err := c.getFrom(ctx, u, auth, *offset, name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := acceptRange(resp, f, offset, size, name); err != nil {
		return err
	}
	return c.copyBody(ctx, resp.Body, f, offset, size, name)
}

// getFrom sends the GET for u, asking for the bytes from offset on when
// offset > 0. Failures other than cancellation are transient.
func (c *Client) getFrom(ctx context.Context, u string, auth bool, offset int64, name string) (*http.Response, error) {
	resp, err := c.do(ctx, c.http, false, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		c.setHeaders(req, auth)
		if offset > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		}
		return req, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, transientError{err: fmt.Errorf("hub: GET %s: %w", name, err)}
	}
	return resp, nil
}

// acceptRange checks the response status and Content-Range/Length against
// the request, truncates f and resets *offset when the server restarts from
// byte 0, and leaves f positioned at *offset for the body.
func acceptRange(resp *http.Response, f *os.File, offset *int64, size int64, name string) error {
	switch {
	case resp.StatusCode == http.StatusOK:
		if *offset > 0 { // Range ignored: start over
			if err := f.Truncate(0); err != nil {
				return err
			}
			*offset = 0
		}
	case resp.StatusCode == http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(*offset, 10)+"-") {
			f.Truncate(0)
			*offset = 0
			return transientError{err: fmt.Errorf("hub: GET %s: unexpected Content-Range %q", name, resp.Header.Get("Content-Range"))}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		f.Truncate(0)
		*offset = 0
		return transientError{err: fmt.Errorf("hub: GET %s: range not satisfiable, restarting", name)}
	default:
		return statusError(resp)
	}
	if size >= 0 && resp.ContentLength >= 0 && *offset+resp.ContentLength != size {
		return fmt.Errorf("hub: GET %s: %w: Content-Length %d from byte %d does not match the announced size %d",
			name, ErrLimit, resp.ContentLength, *offset, size)
	}
	_, err := f.Seek(*offset, io.SeekStart)
	return err
}

// statusError turns a non-success response into an error: transient (with
// the server's Retry-After) for retryable codes, final otherwise.
func statusError(resp *http.Response) error {
	he := httpError(resp)
	if !retryable(he.StatusCode) {
		return he
	}
	after, ok := retryAfter(resp.Header.Get("Retry-After"), 0)
	if !ok {
		return fmt.Errorf("%w: %w: Retry-After %q is more than %v", ErrLimit, he, resp.Header.Get("Retry-After"), MaxRetryAfter)
	}
	return transientError{err: he, after: after}
}

// copyBody appends the response body to f, advancing *offset and reporting
// progress as it goes. It reads at most one byte past the announced size,
// enough to detect an oversized body; a short body is a transient error.
func (c *Client) copyBody(ctx context.Context, r io.Reader, f *os.File, offset *int64, size int64, name string) error {
	body := r
	if size >= 0 {
		// One byte more than announced is enough to detect an oversized body.
		body = io.LimitReader(body, size-*offset+1)
	}
	c.report(name, *offset, size)
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := body.Read(buf)
		if k > 0 {
			if _, werr := f.Write(buf[:k]); werr != nil {
				return fmt.Errorf("hub: writing %s: %w", name, werr)
			}
			*offset += int64(k)
			c.report(name, *offset, size)
		}
		if rerr == io.EOF {
			if size >= 0 && *offset < size {
				return transientError{err: fmt.Errorf("hub: GET %s: connection closed at byte %d of %d", name, *offset, size)}
			}
			return nil
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return transientError{err: fmt.Errorf("hub: GET %s: %w", name, rerr)}
		}
	}
}

func (c *Client) report(name string, done, total int64) {
	if c.cfg.Progress != nil {
		c.cfg.Progress(Progress{File: name, Done: done, Total: total})
	}
}

// verify checks the file against its ETag: a 64-hex ETag is the sha256 of
// an LFS file, a 40-hex ETag the git blob sha1 (sha1 of "blob <size>\0"
// followed by the content) of a file stored in git. Other ETags (a mirror
// that does not follow the Hub's scheme) cannot be checked; only the size
// was.
func verify(path, etag, name string) error {
	var h hash.Hash
	algo := ""
	switch {
	case isHex(etag, 64):
		h, algo = sha256.New(), "sha256"
	case isHex(etag, 40):
		h, algo = sha1.New(), "git-sha1"
	default:
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer f.Close()
	if algo == "git-sha1" {
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("hub: %w", err)
		}
		fmt.Fprintf(h, "blob %d\x00", st.Size())
	}
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hub: reading %s: %w", path, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != strings.ToLower(etag) {
		return &ChecksumError{File: name, Algorithm: algo, Want: strings.ToLower(etag), Got: got}
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}
