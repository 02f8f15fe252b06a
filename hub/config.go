// Package hub finds and downloads files of Hugging Face Hub repositories
// (models and datasets) through the same on-disk cache that Python's
// huggingface_hub uses, so a file either side downloaded is found by the
// other.
//
// Cache layout (identical to huggingface_hub's file_download.py):
//
//	<cache>/models--org--name/            (datasets--org--name/ for datasets)
//	    refs/main                         commit hash the branch or tag resolved to
//	    snapshots/<commit>/<file>         relative symlink to ../../blobs/<etag>
//	    blobs/<etag>                      file content; etag is the sha256 (LFS) or git blob sha1
//	    blobs/<etag>.incomplete           partial download, resumed with a Range request
//	    .no_exist/<commit>/<file>         empty marker: the file does not exist at that commit
//	<cache>/.locks/models--org--name/<etag>.lock   flock held while a blob is downloaded
//	<cache>/CACHEDIR.TAG
//
// The cache directory is HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else
// HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub — the order of huggingface_hub's constants.py.
//
// Differences from Python, on purpose: a file present in the cache for the
// requested revision is used without any network request (Python sends a
// HEAD request to look for a newer commit unless offline); and every
// downloaded file is verified against its ETag (sha256 for LFS files, git
// blob sha1 for small files) before it enters the cache, where Python only
// checks the size.
package hub

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goclip/goclip/internal/safefile"
)

// DefaultEndpoint is the Hub used when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// Config says where the cache is and how to reach the Hub. The zero value of
// a field means "take it from the environment" (see ConfigFromEnv); New with
// a nil *Config uses ConfigFromEnv() as is.
type Config struct {
	// CacheDir is the hub cache directory (the folder holding models--*).
	CacheDir string
	// Endpoint is the Hub base URL, without a trailing slash.
	Endpoint string
	// Token is sent as "Authorization: Bearer <Token>" to the Hub (never to
	// a CDN host a download is redirected to).
	Token string
	// Offline forbids every network request: only cached files are returned.
	Offline bool
	// HTTPClient is used for all requests (its CheckRedirect is wrapped so
	// that the token never follows a redirect to another origin); nil
	// means a client with ConnectTimeout and no overall timeout (downloads
	// can be long; StallTimeout and the context bound them).
	HTTPClient *http.Client
	// ConnectTimeout bounds TCP and TLS connection set-up (default
	// DefaultConnectTimeout; negative: none). Ignored with HTTPClient.
	ConnectTimeout time.Duration
	// StallTimeout gives up on a request when the server sends nothing
	// for this long: no response headers, or no body byte (default
	// DefaultStallTimeout; negative: none). It is not a total deadline: a
	// slow download that keeps moving goes on.
	StallTimeout time.Duration
	// Progress, when not nil, is called as downloads advance.
	Progress ProgressFunc
	// Retries is how many times a download whose connection dropped (or
	// stalled) is resumed within one call while no byte arrives in between
	// (Python's http_get uses 5), and how many times a request answered
	// 408, 429 or 5xx is repeated, after its Retry-After (at most
	// MaxRetryAfter) or an exponential backoff. Zero means 5; negative
	// means none.
	Retries int
	// UserAgent is sent with every request; empty means "goclip-hub".
	UserAgent string
}

// ConfigFromEnv reads the environment variables huggingface_hub reads:
// HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME (cache),
// HF_ENDPOINT, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH (default
// HF_HOME/token, the file `hf auth login` writes), HF_HUB_OFFLINE and
// TRANSFORMERS_OFFLINE (1, ON, YES, TRUE in any case).
func ConfigFromEnv() Config {
	home := hfHome()
	cache := os.Getenv("HF_HUB_CACHE")
	if cache == "" {
		cache = os.Getenv("HUGGINGFACE_HUB_CACHE")
	}
	if cache == "" {
		cache = filepath.Join(home, "hub")
	}
	endpoint := strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	token := cleanToken(os.Getenv("HF_TOKEN"))
	if token == "" {
		token = cleanToken(os.Getenv("HUGGING_FACE_HUB_TOKEN"))
	}
	if token == "" {
		p := os.Getenv("HF_TOKEN_PATH")
		if p == "" {
			p = filepath.Join(home, "token")
		}
		if b, err := safefile.ReadFile(expandUser(p), 64<<10); err == nil {
			token = cleanToken(string(b))
		}
	}
	offline := os.Getenv("HF_HUB_OFFLINE")
	if offline == "" {
		offline = os.Getenv("TRANSFORMERS_OFFLINE")
	}
	return Config{
		CacheDir: expandUser(os.ExpandEnv(cache)),
		Endpoint: endpoint,
		Token:    token,
		Offline:  isTrue(offline),
	}
}

// DefaultCacheDir is the cache directory huggingface_hub would use in this
// environment.
func DefaultCacheDir() string { return ConfigFromEnv().CacheDir }

func hfHome() string {
	if h := os.Getenv("HF_HOME"); h != "" {
		return expandUser(os.ExpandEnv(h))
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		base = filepath.Join(userHome(), ".cache")
	}
	return filepath.Join(expandUser(base), "huggingface")
}

func userHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

// expandUser replaces a leading "~" like Python's os.path.expanduser.
func expandUser(p string) string {
	if p == "~" {
		return userHome()
	}
	if strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator)) {
		return filepath.Join(userHome(), p[2:])
	}
	return p
}

// isTrue mirrors constants._is_true: "1", "ON", "YES", "TRUE", any case.
func isTrue(v string) bool {
	switch strings.ToUpper(v) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// cleanToken mirrors _auth._clean_token: drop CR/LF, trim spaces.
func cleanToken(t string) string {
	t = strings.ReplaceAll(t, "\r", "")
	t = strings.ReplaceAll(t, "\n", "")
	return strings.TrimSpace(t)
}

// merged fills the zero fields of c from the environment.
func (c *Config) merged() Config {
	env := ConfigFromEnv()
	if c == nil {
		return env
	}
	out := *c
	if out.CacheDir == "" {
		out.CacheDir = env.CacheDir
	}
	if out.Endpoint == "" {
		out.Endpoint = env.Endpoint
	}
	out.Endpoint = strings.TrimRight(out.Endpoint, "/")
	if out.Token == "" {
		out.Token = env.Token
	}
	if !out.Offline {
		out.Offline = env.Offline
	}
	return out
}
