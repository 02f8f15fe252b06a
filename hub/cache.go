package hub

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/goclip/goclip/internal/safefile"
)

// RepoType is the kind of Hub repository.
type RepoType string

// Repository kinds. The empty RepoType means Model.
const (
	Model   RepoType = "model"
	Dataset RepoType = "dataset"
)

// Repo names one revision of a Hub repository.
type Repo struct {
	ID       string   // "org/name"
	Type     RepoType // Model when empty
	Revision string   // branch, tag or 40-hex commit; "main" when empty
}

func (r Repo) norm() Repo {
	if r.Type == "" {
		r.Type = Model
	}
	if r.Revision == "" {
		r.Revision = "main"
	}
	return r
}

func (r Repo) String() string {
	r = r.norm()
	s := r.ID
	if r.Type != Model {
		s = string(r.Type) + "s/" + s
	}
	return s + "@" + r.Revision
}

var (
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// repoIDRe follows the Hub's naming rules: optional namespace, letters,
	// digits, "-", "_", "."; no "--" or ".." and not starting or ending
	// with "-" or ".".
	repoIDRe = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$`)
)

// IsCommitHash reports whether rev is a full 40-hex commit hash.
func IsCommitHash(rev string) bool { return commitRe.MatchString(rev) }

// LooksLikeRepoID reports whether s has the shape "org/name" of a Hub repo
// id (one slash, Hub-legal characters, no "--" or ".."). Callers use it to
// tell a Hub id from a local path that does not exist.
func LooksLikeRepoID(s string) bool {
	if strings.Count(s, "/") != 1 || !repoIDRe.MatchString(s) {
		return false
	}
	return !strings.Contains(s, "--") && !strings.Contains(s, "..") &&
		!strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "-")
}

// RepoFolderName is the cache folder of a repository, as
// huggingface_hub's repo_folder_name: "models--org--name".
func RepoFolderName(id string, typ RepoType) string {
	if typ == "" {
		typ = Model
	}
	parts := append([]string{string(typ) + "s"}, strings.Split(id, "/")...)
	return strings.Join(parts, "--")
}

// validateFilename rejects repo file names that would escape the snapshot
// folder (absolute paths, "..", backslashes, drive letters), as
// _validate_relative_filename does.
func validateFilename(name string) error {
	bad := name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") ||
		strings.Contains(name, "\x00") || (len(name) >= 2 && name[1] == ':')
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." || seg == "." || seg == "" {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("hub: invalid repo file name %q", name)
	}
	return nil
}

// validateRevision rejects revisions that would escape refs/ or snapshots/.
func validateRevision(rev string) error {
	for _, seg := range strings.Split(rev, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("hub: invalid revision %q", rev)
		}
	}
	if strings.ContainsAny(rev, "\\\x00") {
		return fmt.Errorf("hub: invalid revision %q", rev)
	}
	return nil
}

// StorageDir is the cache folder of repo: <cache>/models--org--name.
func (c *Client) StorageDir(repo Repo) string {
	repo = repo.norm()
	return filepath.Join(c.cfg.CacheDir, RepoFolderName(repo.ID, repo.Type))
}

// ResolveCachedRevision returns the commit hash the revision points to in
// the cache (refs/<revision>), the revision itself when it is a commit
// hash, or "" when the cache does not know it.
func (c *Client) ResolveCachedRevision(repo Repo) string {
	repo = repo.norm()
	if IsCommitHash(repo.Revision) {
		return repo.Revision
	}
	if validateRevision(repo.Revision) != nil {
		return ""
	}
	b, err := safefile.ReadFile(filepath.Join(c.StorageDir(repo), "refs", filepath.FromSlash(repo.Revision)), 4096)
	if err != nil {
		return ""
	}
	// Python writes the hash with no newline; tolerate one written by hand.
	h := strings.TrimSpace(string(b))
	if !IsCommitHash(h) {
		return ""
	}
	return h
}

// errNotCached is returned by Cached when the file is simply absent.
var errNotCached = errors.New("not in cache")

// Cached returns the snapshot path of a file already in the cache, with no
// network access, like huggingface_hub's try_to_load_from_cache. It returns
// an error wrapping fs.ErrNotExist when the file is not cached and one
// wrapping ErrEntryNotFound when the cache records (.no_exist) that the
// file does not exist at that commit.
func (c *Client) Cached(repo Repo, filename string) (string, error) {
	repo = repo.norm()
	if err := validateFilename(filename); err != nil {
		return "", err
	}
	commit := c.ResolveCachedRevision(repo)
	if commit == "" {
		return "", fmt.Errorf("hub: %s %s: %w (%w)", repo, filename, errNotCached, fs.ErrNotExist)
	}
	storage := c.StorageDir(repo)
	rel := filepath.FromSlash(filename)
	if st, err := os.Stat(filepath.Join(storage, ".no_exist", commit, rel)); err == nil && st.Mode().IsRegular() {
		return "", fmt.Errorf("hub: %s: %s (cached at commit %s): %w", repo, filename, commit, ErrEntryNotFound)
	}
	p := filepath.Join(storage, "snapshots", commit, rel)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p, nil
	}
	return "", fmt.Errorf("hub: %s %s: %w (%w)", repo, filename, errNotCached, fs.ErrNotExist)
}

// SnapshotDir returns the cached snapshot folder of the revision
// (<cache>/models--org--name/snapshots/<commit>), or an error wrapping
// fs.ErrNotExist when the revision is not in the cache.
func (c *Client) SnapshotDir(repo Repo) (string, error) {
	repo = repo.norm()
	commit := c.ResolveCachedRevision(repo)
	if commit != "" {
		d := filepath.Join(c.StorageDir(repo), "snapshots", commit)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
	}
	return "", fmt.Errorf("hub: %s: snapshot %w", repo, fs.ErrNotExist)
}

// writeRef records revision → commit in refs/, atomically, only when it
// changed (as _cache_commit_hash_for_specific_revision).
func writeRef(storage, revision, commit string) error {
	if revision == commit {
		return nil
	}
	p := filepath.Join(storage, "refs", filepath.FromSlash(revision))
	if b, err := safefile.ReadFile(p, 4096); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	_, werr := tmp.WriteString(commit)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}

// linkPointer makes snapshots/<commit>/<file> a relative symlink to the
// blob, or a copy where symlinks are not supported (as _create_symlink).
func linkPointer(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o777); err != nil {
		return err
	}
	os.Remove(pointer)
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		rel = blob
	}
	if err := os.Symlink(rel, pointer); err == nil {
		return nil
	} else if st, serr := os.Lstat(pointer); serr == nil && st.Mode()&os.ModeSymlink != 0 {
		return nil // created concurrently
	}
	return copyFile(blob, pointer)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

const cachedirTag = "Signature: 8a477f597d28d172789f06886806bc55\n" +
	"# This file is a cache directory tag created by huggingface_hub.\n" +
	"# For information about cache directory tags, see:\n" +
	"#\thttps://bford.info/cachedir/\n"

func writeCachedirTag(cache string) {
	p := filepath.Join(cache, "CACHEDIR.TAG")
	if _, err := os.Stat(p); err == nil {
		return
	}
	_ = os.WriteFile(p, []byte(cachedirTag), 0o666) // best effort, as Python
}
