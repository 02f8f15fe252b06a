package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goclip/goclip/hub/hubtest"
)

// Tests with a misbehaving Hub: each builds on the fake Hub of hubtest and
// overrides some requests with Intercept, or runs a second server as the
// "other origin".

// watchdog is a context that ends a test which would otherwise hang on
// the code before the limits existed.
func watchdog(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recorder is a server of another origin that records whether it was
// sent an Authorization header.
type recorder struct {
	*httptest.Server
	auth atomic.Int32
	hits atomic.Int32
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if req.Header.Get("Authorization") != "" {
			r.auth.Add(1)
		}
		h(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// Item 4: an endless tree listing is cut at MaxTreePageBytes.
func TestTreeEndlessJSON(t *testing.T) {
	f := newFixture(t)
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("["))
		entry := []byte(`{"type":"file","oid":"` + strings.Repeat("0", 40) + `","size":1,"path":"` + strings.Repeat("x", 200) + `"},`)
		for r.Context().Err() == nil {
			if _, err := w.Write(entry); err != nil {
				return true
			}
		}
		return true
	}
	start := time.Now()
	_, err := f.client(nil).ListFiles(watchdog(t, 60*time.Second), tiny, "", true)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want ErrLimit", err)
	}
	t.Logf("refused after %v: %v", time.Since(start), err)
}

// Item 4: endless pages of 1000 entries stop at MaxTreeEntries (lowered
// to 20,000 here to keep the test short; the default takes 1000 pages).
func TestTreeEndlessPages(t *testing.T) {
	f := newFixture(t)
	var page strings.Builder
	page.WriteString("[")
	for i := range 1000 {
		if i > 0 {
			page.WriteString(",")
		}
		fmt.Fprintf(&page, `{"type":"file","oid":"%040d","size":1,"path":"f%d"}`, i, i)
	}
	page.WriteString("]")
	var pages atomic.Int32
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			return false
		}
		n := pages.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?cursor=%d>; rel="next"`, f.srv.URL, r.URL.Path, n))
		w.Write([]byte(page.String()))
		return true
	}
	c := f.client(nil)
	c.maxEntries = 20_000
	_, err := c.ListFiles(watchdog(t, 120*time.Second), tiny, "", true)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "entries") {
		t.Fatalf("got %v, want ErrLimit on the entry count", err)
	}
	if n := pages.Load(); n > 21 {
		t.Errorf("%d pages requested", n)
	}
}

// Item 6: a server that never answers a HEAD request.
func TestHeadNeverAnswered(t *testing.T) {
	f := newFixture(t)
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		<-r.Context().Done()
		return true
	}
	c := f.client(func(c *Config) { c.StallTimeout = 300 * time.Millisecond; c.Retries = 1 })
	start := time.Now()
	_, err := c.Download(watchdog(t, 30*time.Second), tiny, "config.json")
	if err == nil || !strings.Contains(err.Error(), "timeout") && !errors.Is(err, errStalled) {
		t.Fatalf("got %v, want a stall error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

// Item 6: a body that stops mid-way is abandoned after StallTimeout (and
// resumed Retries times), the partial file kept; a slow body that keeps
// moving is not cut.
func TestBodyStall(t *testing.T) {
	f := newFixture(t)
	var gets atomic.Int32
	cdnStall := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.Header().Set("Content-Length", fmt.Sprint(len(f.big)))
		w.WriteHeader(http.StatusOK)
		w.Write(f.big[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodHead || !strings.HasSuffix(r.URL.Path, "model.safetensors") {
			return false
		}
		w.Header().Set("X-Repo-Commit", f.commit)
		w.Header().Set("X-Linked-Etag", `"`+hubtest.SHA256(f.big)+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(f.big)))
		w.Header().Set("Location", cdnStall.URL+"/blob")
		w.WriteHeader(http.StatusFound)
		return true
	}
	c := f.client(func(c *Config) { c.StallTimeout = 300 * time.Millisecond; c.Retries = 2 })
	start := time.Now()
	_, err := c.Download(watchdog(t, 30*time.Second), tiny, "model.safetensors")
	if !errors.Is(err, errStalled) {
		t.Fatalf("got %v, want a stall error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v", d)
	}
	if n := gets.Load(); n != 3 {
		t.Errorf("%d GET requests, want 1 + 2 retries", n)
	}
	blob := filepath.Join(f.cache, "models--org--tiny", "blobs", hubtest.SHA256(f.big)+".incomplete")
	if st, err := os.Stat(blob); err != nil || st.Size() != 1000 {
		t.Errorf("partial file: %v %v", st, err)
	}

	// Slow but moving: 300 kB in 30 chunks 20 ms apart (0.6 s) with a
	// 300 ms stall timeout.
	slow := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(f.big)))
		w.WriteHeader(http.StatusOK)
		for i := 0; i < len(f.big); i += 10_000 {
			w.Write(f.big[i:min(i+10_000, len(f.big))])
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	})
	os.Remove(blob)
	cdnStall.URL = slow.URL
	if _, err := c.Download(watchdog(t, 30*time.Second), tiny, "model.safetensors"); err != nil {
		t.Fatalf("slow download: %v", err)
	}
}

// Item 6: 503 and 429 answers with Retry-After are waited for and
// retried; a Retry-After beyond MaxRetryAfter is an error at once.
func TestRetryAfter(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var times []time.Time
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodHead {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		switch len(times) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		case 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	}
	c := f.client(nil)
	if _, err := c.Download(watchdog(t, 30*time.Second), tiny, "config.json"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(times) != 3 || times[1].Sub(times[0]) < 900*time.Millisecond || times[2].Sub(times[1]) < 900*time.Millisecond {
		t.Errorf("request times %v: want three, 1 s apart", times)
	}
	mu.Unlock()

	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}
	start := time.Now()
	_, err := c.Download(watchdog(t, 30*time.Second), tiny, "model.safetensors")
	if !errors.Is(err, ErrLimit) || time.Since(start) > 5*time.Second {
		t.Errorf("Retry-After 3600: got %v after %v, want ErrLimit at once", err, time.Since(start))
	}
}

// Item 8: the token is not sent to the same host name on another port
// when a GET is redirected there.
func TestTokenNotSentOnCrossPortRedirect(t *testing.T) {
	f := newFixture(t)
	f.srv.Token = "s3cret"
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.Write(f.small) })
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "config.json") {
			// Same host name (127.0.0.1), another port.
			http.Redirect(w, r, other.URL+"/config.json", http.StatusFound)
			return true
		}
		return false
	}
	c := f.client(func(c *Config) { c.Token = "s3cret" })
	if _, err := c.Download(watchdog(t, 30*time.Second), tiny, "config.json"); err != nil {
		t.Fatal(err)
	}
	if other.hits.Load() == 0 {
		t.Fatal("the redirect was not followed")
	}
	if n := other.auth.Load(); n != 0 {
		t.Errorf("the token was sent %d times to %s", n, other.URL)
	}
}

// Item 8: a tree page's Link to another origin is followed without the
// token.
func TestTokenNotSentToCrossOriginPage(t *testing.T) {
	f := newFixture(t)
	f.srv.Token = "s3cret"
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"type":"file","path":"stolen.txt","size":1,"oid":"x"}]`))
	})
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			return false
		}
		w.Header().Set("Link", `<`+other.URL+`/api/next>; rel="next"`)
		w.Write([]byte(`[{"type":"file","path":"a.txt","size":1,"oid":"x"}]`))
		return true
	}
	c := f.client(func(c *Config) { c.Token = "s3cret" })
	ents, err := c.ListFiles(watchdog(t, 30*time.Second), tiny, "", false)
	if err != nil || len(ents) != 2 {
		t.Fatalf("%v %v", ents, err)
	}
	if n := other.auth.Load(); n != 0 {
		t.Errorf("the token was sent %d times to %s", n, other.URL)
	}
}

// Item 9: a blobs/<etag>.incomplete symlink planted in the cache is not
// followed (its target outside the cache is left alone), and a blob that
// is a link to a device is not used.
func TestPlantedLinksInBlobStore(t *testing.T) {
	f := newFixture(t)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(f.cache, "models--org--tiny", "blobs")
	os.MkdirAll(blobs, 0o777)
	if err := os.Symlink(victim, filepath.Join(blobs, hubtest.SHA256(f.big)+".incomplete")); err != nil {
		t.Fatal(err)
	}
	c := f.client(nil)
	_, err := c.Download(watchdog(t, 30*time.Second), tiny, "model.safetensors")
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("planted .incomplete link: got %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the link target was overwritten: %q", b)
	}

	// blobs/<etag> itself a link to /dev/zero.
	if err := os.Symlink("/dev/zero", filepath.Join(blobs, hubtest.GitBlobSHA1(f.small))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(watchdog(t, 30*time.Second), tiny, "config.json"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("blob linked to /dev/zero: got %v, want a refusal", err)
	}
}

// Item 10: credentials in HF_ENDPOINT never appear in error messages.
func TestEndpointCredentialsRedacted(t *testing.T) {
	f := newFixture(t)
	endpoint := strings.Replace(f.srv.URL, "http://", "http://alice:pw-s3cret@", 1)
	mode := ""
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		switch mode {
		case "not a hub":
			w.Write([]byte("hello"))
		case "500":
			w.WriteHeader(500)
		case "bad json":
			w.Write([]byte("{"))
		case "bad link":
			w.Header().Set("Link", `<ftp://bob:pw-s3cret@x/y>; rel="next"`)
			w.Write([]byte("[]"))
		case "redirect loop":
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		default:
			return false
		}
		return true
	}
	c := New(&Config{CacheDir: f.cache, Endpoint: endpoint, Retries: -1})
	for _, m := range []string{"not a hub", "500", "bad json", "bad link", "redirect loop", ""} {
		mode = m
		_, err1 := c.Download(context.Background(), tiny, "config.json")
		_, err2 := c.ListFiles(context.Background(), tiny, "", false)
		_, err3 := c.Download(context.Background(), tiny, "missing.json")
		for _, err := range []error{err1, err2, err3} {
			if err != nil && strings.Contains(err.Error(), "pw-s3cret") {
				t.Errorf("%s: the password is in %q", m, err)
			}
		}
	}
}

// Item 5: a required file missing at commit A is found after main moved
// to commit B that has it (the cached "missing" is per commit; the branch
// is resolved again online), and stays missing offline.
func TestNegativeCacheBranchMoved(t *testing.T) {
	f := newFixture(t)
	srv := f.srv
	srv.AddRepo("model", "org/moving", map[string][]byte{"config.json": f.small})
	repo := Repo{ID: "org/moving"}
	c := f.client(nil)
	ctx := watchdog(t, 30*time.Second)
	if _, err := c.Snapshot(ctx, repo, []string{"config.json", "model.safetensors"}, nil); !errors.Is(err, ErrEntryNotFound) {
		t.Fatalf("at commit A: %v", err)
	}
	b := srv.AddRepo("model", "org/moving", map[string][]byte{"config.json": f.small, "model.safetensors": f.big})
	off := New(&Config{CacheDir: f.cache, Endpoint: failServer(t).URL, Offline: true})
	if _, err := off.Snapshot(ctx, repo, []string{"config.json", "model.safetensors"}, nil); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("offline: %v, want the cached ErrEntryNotFound", err)
	}
	dir, err := c.Snapshot(ctx, repo, []string{"config.json", "model.safetensors"}, nil)
	if err != nil {
		t.Fatalf("after main moved: %v", err)
	}
	if filepath.Base(dir) != b {
		t.Errorf("snapshot %s, want commit %s", dir, b)
	}
	if got := c.ResolveCachedRevision(repo); got != b {
		t.Errorf("refs/main = %s, want %s", got, b)
	}
	// Download on the branch as well.
	srv.AddRepo("model", "org/moving2", map[string][]byte{"config.json": f.small})
	r2 := Repo{ID: "org/moving2"}
	if _, err := c.Download(ctx, r2, "model.safetensors"); !errors.Is(err, ErrEntryNotFound) {
		t.Fatal(err)
	}
	srv.AddRepo("model", "org/moving2", map[string][]byte{"config.json": f.small, "model.safetensors": f.big})
	if _, err := c.Download(ctx, r2, "model.safetensors"); err != nil {
		t.Errorf("Download after main moved: %v", err)
	}
}

// A download the server gives no size for is refused (it could fill the
// disk); a GET whose Content-Length contradicts the announced size too.
func TestUnboundedDownloadRefused(t *testing.T) {
	f := newFixture(t)
	f.srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "config.json") {
			return false
		}
		w.Header().Set("X-Repo-Commit", f.commit)
		w.Header().Set("ETag", `"`+hubtest.GitBlobSHA1(f.small)+`"`)
		if r.Method == http.MethodHead {
			w.Header().Set("Transfer-Encoding", "chunked")
			w.WriteHeader(200)
			return true
		}
		for r.Context().Err() == nil {
			if _, err := w.Write(make([]byte, 1<<16)); err != nil {
				break
			}
		}
		return true
	}
	_, err := f.client(nil).Download(watchdog(t, 30*time.Second), tiny, "config.json")
	if !errors.Is(err, ErrLimit) {
		t.Errorf("no announced size: got %v, want ErrLimit", err)
	}
}

// Item 1 in the cache: a refs/main that is a FIFO is not opened (it
// blocked forever), and the revision counts as not cached.
func TestRefIsFIFO(t *testing.T) {
	f := newFixture(t)
	refs := filepath.Join(f.cache, "models--org--tiny", "refs")
	os.MkdirAll(refs, 0o777)
	if err := mkfifo(filepath.Join(refs, "main")); err != nil {
		t.Skip(err)
	}
	done := make(chan string, 1)
	go func() { done <- f.client(nil).ResolveCachedRevision(tiny) }()
	select {
	case got := <-done:
		if got != "" {
			t.Errorf("got %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ResolveCachedRevision blocked on a FIFO")
	}
}
