package hub

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goclip/goclip/hub/hubtest"
)

// clearEnv isolates a test from the developer's Hugging Face settings.
func clearEnv(t *testing.T) {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME",
		"HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

type fixture struct {
	srv    *hubtest.Server
	cache  string
	commit string
	big    []byte // LFS file
	small  []byte // git file
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clearEnv(t)
	f := &fixture{srv: hubtest.New(), cache: t.TempDir(), big: randBytes(300_000, 7), small: []byte(`{"model_type":"clip"}`)}
	t.Cleanup(f.srv.Close)
	f.commit = f.srv.AddRepo("model", "org/tiny", map[string][]byte{
		"model.safetensors": f.big,
		"config.json":       f.small,
		"sub/dir/x.txt":     []byte("x"),
	})
	return f
}

func (f *fixture) client(mod func(*Config)) *Client {
	cfg := Config{CacheDir: f.cache, Endpoint: f.srv.URL}
	if mod != nil {
		mod(&cfg)
	}
	c := New(&cfg)
	c.retryDelay = time.Millisecond
	return c
}

var tiny = Repo{ID: "org/tiny"}

func TestConfigFromEnvOrder(t *testing.T) {
	clearEnv(t)
	home := os.Getenv("HOME")
	if got, want := ConfigFromEnv().CacheDir, filepath.Join(home, ".cache", "huggingface", "hub"); got != want {
		t.Errorf("default cache %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := ConfigFromEnv().CacheDir; got != "/xdg/huggingface/hub" {
		t.Errorf("XDG cache %q", got)
	}
	t.Setenv("HF_HOME", "/hfhome")
	if got := ConfigFromEnv().CacheDir; got != "/hfhome/hub" {
		t.Errorf("HF_HOME cache %q", got)
	}
	t.Setenv("HUGGINGFACE_HUB_CACHE", "/legacy")
	if got := ConfigFromEnv().CacheDir; got != "/legacy" {
		t.Errorf("legacy cache %q", got)
	}
	t.Setenv("HF_HUB_CACHE", "~/c")
	if got := ConfigFromEnv().CacheDir; got != filepath.Join(home, "c") {
		t.Errorf("HF_HUB_CACHE %q", got)
	}
	if c := ConfigFromEnv(); c.Endpoint != DefaultEndpoint || c.Offline || c.Token != "" {
		t.Errorf("defaults: %+v", c)
	}
	t.Setenv("HF_ENDPOINT", "http://mirror/")
	t.Setenv("HF_HUB_OFFLINE", "yes")
	t.Setenv("HF_TOKEN", " tok\n")
	if c := ConfigFromEnv(); c.Endpoint != "http://mirror" || !c.Offline || c.Token != "tok" {
		t.Errorf("env: %+v", c)
	}
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	os.WriteFile(filepath.Join(os.Getenv("HF_HOME"), "token"), []byte("filetok\n"), 0o600)
	if c := ConfigFromEnv(); c.Token != "filetok" {
		t.Errorf("token file: %q", c.Token)
	}
}

func TestRepoFolderNameAndIDs(t *testing.T) {
	if got := RepoFolderName("openai/clip-vit-base-patch32", Model); got != "models--openai--clip-vit-base-patch32" {
		t.Error(got)
	}
	if got := RepoFolderName("clip-benchmark/wds_imagenetv2", Dataset); got != "datasets--clip-benchmark--wds_imagenetv2" {
		t.Error(got)
	}
	for s, want := range map[string]bool{"openai/clip-vit-base-patch32": true, "clip-benchmark/wds_imagenetv2": true,
		"./model": false, "/abs/path": false, "a/b/c": false, "model": false, "a--b/c": false, "../x": false, "a/b.": false} {
		if LooksLikeRepoID(s) != want {
			t.Errorf("LooksLikeRepoID(%q) = %v", s, !want)
		}
	}
	c := New(&Config{CacheDir: "/c", Endpoint: "http://h"})
	if got := c.ResolveURL(Repo{ID: "a/b", Type: Dataset, Revision: "refs/pr/1"}, "test/0 1.tar"); got != "http://h/datasets/a/b/resolve/refs%2Fpr%2F1/test/0%201.tar" {
		t.Error(got)
	}
}

// TestFreshDownloadLayout downloads an LFS file and a git file and checks
// the exact cache layout huggingface_hub writes.
func TestFreshDownloadLayout(t *testing.T) {
	f := newFixture(t)
	f.srv.Token = "secret"
	var reports int
	c := f.client(func(c *Config) { c.Token = "secret"; c.Progress = func(Progress) { reports++ } })
	ctx := context.Background()
	p, err := c.Download(ctx, tiny, "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	storage := filepath.Join(f.cache, "models--org--tiny")
	if want := filepath.Join(storage, "snapshots", f.commit, "model.safetensors"); p != want {
		t.Fatalf("path %s, want %s", p, want)
	}
	link, err := os.Readlink(p)
	if err != nil {
		t.Fatal("snapshot entry is not a symlink:", err)
	}
	if want := "../../blobs/" + hubtest.SHA256(f.big); link != want {
		t.Errorf("symlink -> %s, want %s", link, want)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, f.big) {
		t.Error("content differs")
	}
	if b, _ := os.ReadFile(filepath.Join(storage, "refs", "main")); string(b) != f.commit {
		t.Errorf("refs/main = %q, want %q (no newline)", b, f.commit)
	}
	if _, err := os.Stat(filepath.Join(storage, "blobs", hubtest.SHA256(f.big)+".incomplete")); !errors.Is(err, fs.ErrNotExist) {
		t.Error(".incomplete left behind")
	}
	if _, err := os.Stat(filepath.Join(f.cache, "CACHEDIR.TAG")); err != nil {
		t.Error("no CACHEDIR.TAG")
	}
	if reports == 0 {
		t.Error("no progress reported")
	}
	for _, r := range f.srv.Requests() {
		if r.Host == "cdn" && r.Auth {
			t.Error("token sent to the CDN host")
		}
		if r.Host == "hub" && !r.Auth {
			t.Error("token not sent to the Hub")
		}
	}
	p2, err := c.Download(ctx, tiny, "sub/dir/x.txt")
	if err != nil {
		t.Fatal(err)
	}
	if link, _ := os.Readlink(p2); link != "../../../../blobs/"+hubtest.GitBlobSHA1([]byte("x")) {
		t.Errorf("git file symlink -> %s", link)
	}
}

// failServer fails the test on any request.
func failServer(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected network request %s %s", r.Method, r.URL)
		http.Error(w, "no", 500)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestCacheHitNoNetwork builds a cache by hand, as Python leaves it, and
// checks it is used with a server that fails the test when called.
func TestCacheHitNoNetwork(t *testing.T) {
	clearEnv(t)
	cache := t.TempDir()
	commit := strings.Repeat("ab", 20)
	storage := filepath.Join(cache, "models--openai--clip-vit-base-patch32")
	os.MkdirAll(filepath.Join(storage, "refs"), 0o755)
	os.MkdirAll(filepath.Join(storage, "blobs"), 0o755)
	os.MkdirAll(filepath.Join(storage, "snapshots", commit), 0o755)
	os.MkdirAll(filepath.Join(storage, ".no_exist", commit), 0o755)
	os.WriteFile(filepath.Join(storage, "refs", "main"), []byte(commit), 0o644)
	os.WriteFile(filepath.Join(storage, "blobs", "deadbeef"), []byte("{}"), 0o644)
	os.Symlink("../../blobs/deadbeef", filepath.Join(storage, "snapshots", commit, "config.json"))
	os.WriteFile(filepath.Join(storage, ".no_exist", commit, "tokenizer.json"), nil, 0o644)

	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", failServer(t).URL)
	c := New(nil)
	repo := Repo{ID: "openai/clip-vit-base-patch32"}
	p, err := c.Download(context.Background(), repo, "config.json")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(storage, "snapshots", commit, "config.json"); p != want {
		t.Errorf("got %s want %s", p, want)
	}
	// By commit hash too; a .no_exist marker is final for its commit (for
	// a branch it is asked again online: TestNegativeCacheBranchMoved).
	repo.Revision = commit
	if _, err := c.Download(context.Background(), repo, "config.json"); err != nil {
		t.Error(err)
	}
	if _, err := c.Download(context.Background(), repo, "tokenizer.json"); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf(".no_exist marker: got %v, want ErrEntryNotFound", err)
	}
	dir, err := c.Snapshot(context.Background(), Repo{ID: repo.ID}, []string{"config.json"}, []string{"tokenizer.json"})
	if err != nil || dir != filepath.Join(storage, "snapshots", commit) {
		t.Errorf("Snapshot = %q, %v", dir, err)
	}
}

func TestOffline(t *testing.T) {
	f := newFixture(t)
	t.Setenv("HF_HUB_OFFLINE", "1")
	c := New(&Config{CacheDir: f.cache, Endpoint: failServer(t).URL})
	if _, err := c.Download(context.Background(), tiny, "config.json"); !errors.Is(err, ErrOffline) {
		t.Fatalf("got %v, want ErrOffline", err)
	}
	// Fill the cache online, then offline works.
	if _, err := f.client(func(c *Config) { c.Offline = false }).Download(context.Background(), tiny, "config.json"); err == nil {
		t.Fatal("HF_HUB_OFFLINE=1 in the environment must win over a zero Config.Offline")
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	if _, err := f.client(nil).Download(context.Background(), tiny, "config.json"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	if _, err := c.Download(context.Background(), tiny, "config.json"); err != nil {
		t.Fatalf("offline with cached file: %v", err)
	}
	ents, err := c.ListFiles(context.Background(), tiny, "", false)
	if err != nil || len(ents) != 1 || ents[0].Path != "config.json" {
		t.Errorf("offline listing %v, %v", ents, err)
	}
}

// TestResumeAfterDrop drops the connection mid-file: within one call the
// download resumes with a Range request; with retries disabled, the call
// fails, keeps the .incomplete file, and the next call resumes from it.
func TestResumeAfterDrop(t *testing.T) {
	f := newFixture(t)
	f.srv.DropAfter("model.safetensors", 100_000, 50_000)
	c := f.client(nil)
	p, err := c.Download(context.Background(), tiny, "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, f.big) {
		t.Fatal("resumed content differs")
	}
	var ranges []string
	for _, r := range f.srv.Requests() {
		if r.Host == "cdn" && r.Method == "GET" {
			ranges = append(ranges, r.Range)
		}
	}
	if strings.Join(ranges, ",") != ",bytes=100000-,bytes=150000-" {
		t.Errorf("GET ranges %q", ranges)
	}

	// Across calls (a killed process): no in-call retry.
	g := newFixture(t)
	g.srv.DropAfter("model.safetensors", 123_456)
	c = g.client(func(c *Config) { c.Retries = -1 })
	_, err = c.Download(context.Background(), tiny, "model.safetensors")
	if err == nil {
		t.Fatal("dropped connection without retries succeeded")
	}
	inc := filepath.Join(g.cache, "models--org--tiny", "blobs", hubtest.SHA256(g.big)+".incomplete")
	if st, err := os.Stat(inc); err != nil || st.Size() != 123_456 {
		t.Fatalf("incomplete file: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(g.cache, "models--org--tiny", "snapshots", g.commit, "model.safetensors")); err == nil {
		t.Fatal("snapshot entry exists for an incomplete download")
	}
	p, err = c.Download(context.Background(), tiny, "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, g.big) {
		t.Fatal("resumed content differs")
	}
	last := g.srv.Requests()[len(g.srv.Requests())-1]
	if last.Range != "bytes=123456-" {
		t.Errorf("second call did not resume: Range %q", last.Range)
	}
}

// TestCorruptNotUsed serves content that does not match the ETag, for an
// LFS file (sha256) and a git file (blob sha1), and after a resume.
func TestCorruptNotUsed(t *testing.T) {
	for _, file := range []string{"model.safetensors", "config.json"} {
		f := newFixture(t)
		f.srv.Corrupt(file, true)
		c := f.client(nil)
		_, err := c.Download(context.Background(), tiny, file)
		var ce *ChecksumError
		if !errors.As(err, &ce) || !errors.Is(err, ErrChecksum) {
			t.Fatalf("%s: got %v, want a ChecksumError", file, err)
		}
		blobs, _ := os.ReadDir(filepath.Join(f.cache, "models--org--tiny", "blobs"))
		if len(blobs) != 0 {
			t.Errorf("%s: blobs left after checksum failure: %v", file, blobs)
		}
		if _, err := c.Cached(tiny, file); err == nil {
			t.Errorf("%s: corrupted file is in the cache", file)
		}
		f.srv.Corrupt(file, false)
		if _, err := c.Download(context.Background(), tiny, file); err != nil {
			t.Errorf("%s: clean retry: %v", file, err)
		}
	}
	// A partial file whose prefix is wrong (e.g. written by something else)
	// is caught after the resume.
	f := newFixture(t)
	blobDir := filepath.Join(f.cache, "models--org--tiny", "blobs")
	os.MkdirAll(blobDir, 0o755)
	os.WriteFile(filepath.Join(blobDir, hubtest.SHA256(f.big)+".incomplete"), make([]byte, 1000), 0o644)
	if _, err := f.client(nil).Download(context.Background(), tiny, "model.safetensors"); !errors.Is(err, ErrChecksum) {
		t.Errorf("bad partial prefix: got %v", err)
	}
}

func TestHTTPErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client(nil)
	if _, err := c.Download(ctx, Repo{ID: "org/missing"}, "config.json"); !errors.Is(err, ErrRepoNotFound) {
		t.Errorf("missing repo: %v", err)
	}
	if _, err := c.Download(ctx, tiny, "nope.json"); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("missing file: %v", err)
	}
	marker := filepath.Join(f.cache, "models--org--tiny", ".no_exist", f.commit, "nope.json")
	if _, err := os.Stat(marker); err != nil {
		t.Errorf(".no_exist marker not written: %v", err)
	}
	if _, err := c.Download(ctx, Repo{ID: "org/tiny", Revision: "v9"}, "config.json"); !errors.Is(err, ErrRevisionNotFound) {
		t.Errorf("missing revision: %v", err)
	}
	f.srv.Token = "secret"
	if _, err := c.Download(ctx, tiny, "config.json"); !errors.Is(err, ErrRepoNotFound) {
		t.Errorf("401 without token: %v", err)
	}
	c = f.client(func(c *Config) { c.Token = "wrong" })
	if _, err := c.Download(ctx, tiny, "config.json"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("401 bad token: %v", err)
	}
	var he *HTTPError
	_, err := c.Download(ctx, tiny, "config.json")
	if !errors.As(err, &he) || he.StatusCode != 401 {
		t.Errorf("not an HTTPError 401: %v", err)
	}
	// Bad file names never reach the network or the file system.
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../b", `a\b`, ""} {
		if _, err := c.Download(ctx, tiny, bad); err == nil || errors.As(err, &he) {
			t.Errorf("file name %q accepted: %v", bad, err)
		}
	}
	// A server that is not a Hub (no X-Repo-Commit).
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) }))
	defer plain.Close()
	c = New(&Config{CacheDir: t.TempDir(), Endpoint: plain.URL})
	if _, err := c.Download(ctx, tiny, "config.json"); err == nil || !strings.Contains(err.Error(), "X-Repo-Commit") {
		t.Errorf("non-Hub endpoint: %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := f.client(func(c *Config) {
		c.Progress = func(p Progress) {
			if p.Done > 0 {
				cancel()
			}
		}
	})
	_, err := c.Download(ctx, tiny, "model.safetensors")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := c.Cached(tiny, "model.safetensors"); err == nil {
		t.Error("cancelled download is in the cache")
	}
}

func TestListFilesPaginated(t *testing.T) {
	f := newFixture(t)
	files := map[string][]byte{"classnames.txt": []byte("a\nb\n"), "test/nshards.txt": []byte("3\n")}
	for _, n := range []string{"test/0.tar", "test/1.tar", "test/2.tar"} {
		files[n] = randBytes(2000, 3)
	}
	f.srv.AddRepo("dataset", "org/ds", files)
	f.srv.PageSize = 2
	c := f.client(nil)
	ents, err := c.ListFiles(context.Background(), Repo{ID: "org/ds", Type: Dataset}, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Path)
		if strings.HasSuffix(e.Path, ".tar") && (e.LFS == nil || e.LFS.OID != hubtest.SHA256(files[e.Path])) {
			t.Errorf("%s: lfs info %+v", e.Path, e.LFS)
		}
	}
	if strings.Join(got, ",") != "test/0.tar,test/1.tar,test/2.tar,test/nshards.txt" {
		t.Errorf("listing %v", got)
	}
	ents, err = c.ListFiles(context.Background(), Repo{ID: "org/ds", Type: Dataset}, "", false)
	if err != nil || len(ents) != 2 {
		t.Errorf("root listing %v %v", ents, err)
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	bar := NewProgressBar(&b)
	bar(Progress{File: "model.safetensors", Done: 0, Total: 1000})
	bar(Progress{File: "model.safetensors", Done: 1000, Total: 1000})
	out := b.String()
	if !strings.Contains(out, "100% [==============================]") || !strings.HasSuffix(out, "\n") {
		t.Errorf("bar output %q", out)
	}
}
