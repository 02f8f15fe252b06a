package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits on what a Hub server can make a client do. The timeouts are
// Config fields (these are their defaults); the sizes are fixed.
const (
	// DefaultConnectTimeout bounds establishing a connection (TCP and TLS).
	DefaultConnectTimeout = 30 * time.Second
	// DefaultStallTimeout is how long a request may wait without receiving
	// a byte: for the response headers, then between body reads. A
	// download that keeps moving is never cut, however long it takes.
	DefaultStallTimeout = 60 * time.Second
	// MaxRetryAfter is the longest Retry-After (on 429 and 503 answers)
	// the client waits; a server asking for more gets an error instead.
	MaxRetryAfter = 2 * time.Minute
	// MaxResponseHeaderBytes bounds the headers of one response.
	MaxResponseHeaderBytes = 1 << 20
	// MaxTreePageBytes bounds one page of the tree API (the Hub sends
	// 1000 entries, about 300 kB).
	MaxTreePageBytes = 16 << 20
	// MaxTreePages bounds the pages of one listing.
	MaxTreePages = 10_000
	// MaxTreeEntries bounds the entries of one listing (all pages).
	MaxTreeEntries = 1_000_000
	// maxRedirects bounds the redirects a HEAD request follows.
	maxRedirects = 20
)

// ErrLimit is wrapped by errors about a server exceeding one of the limits
// above (oversized or endless responses, too many pages or entries).
var ErrLimit = errors.New("server response exceeds a limit")

// errStalled is the cause of a request cancelled by the stall timer.
var errStalled = errors.New("stalled")

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// newHTTPClient returns the client used for every request: the user's
// (copied, with the token-stripping redirect check added) or one with the
// connect and header timeouts set.
func newHTTPClient(cfg *Config) *http.Client {
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if d := orDefault(cfg.ConnectTimeout, DefaultConnectTimeout); d > 0 {
			tr.DialContext = (&net.Dialer{Timeout: d, KeepAlive: 30 * time.Second}).DialContext
			tr.TLSHandshakeTimeout = d
		}
		if d := orDefault(cfg.StallTimeout, DefaultStallTimeout); d > 0 {
			tr.ResponseHeaderTimeout = d
		}
		tr.MaxResponseHeaderBytes = MaxResponseHeaderBytes
		hc.Transport = tr
	}
	endpoint := cfg.Endpoint
	user := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// net/http keeps Authorization on a redirect to the same host name
		// on another port; the token goes to the endpoint's origin only.
		if !sameOrigin(endpoint, req.URL.String()) {
			req.Header.Del("Authorization")
		}
		if user != nil {
			return user(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &hc
}

// sameOrigin reports whether two URLs have the same scheme, host and port
// (default ports made explicit).
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Hostname(), ub.Hostname()) &&
		port(ua) == port(ub)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// redact hides the user information of a URL in messages (a
// user:password@ in HF_ENDPOINT, or in a Location a server sent).
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		if i, j := strings.LastIndex(u, "@"), strings.Index(u, "://"); j >= 0 && i > j {
			return u[:j+3] + "xxxxx@" + u[i+1:]
		}
		return u
	}
	if p.User == nil {
		return u
	}
	p.User = url.User("xxxxx")
	return p.String()
}

// stallGuard cancels a request when no byte arrived for d. Call touch on
// every read that returned data and stop when done with the response.
type stallGuard struct {
	d      time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

// guard derives a request context that the stall timer cancels.
func (c *Client) guard(ctx context.Context) (context.Context, *stallGuard) {
	ctx, cancel := context.WithCancelCause(ctx)
	g := &stallGuard{d: orDefault(c.cfg.StallTimeout, DefaultStallTimeout), cancel: cancel}
	if g.d > 0 {
		g.timer = time.AfterFunc(g.d, func() { cancel(errStalled) })
	}
	return ctx, g
}

func (g *stallGuard) touch() {
	if g.timer != nil {
		g.timer.Reset(g.d)
	}
}

func (g *stallGuard) stop() {
	if g.timer != nil {
		g.timer.Stop()
	}
	g.cancel(nil)
}

// stalledErr rewrites the error of a request whose context the stall timer
// cancelled.
func stalledErr(ctx context.Context, g *stallGuard, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errStalled) {
		return fmt.Errorf("no data from the server for %v (%w; StallTimeout)", g.d, errStalled)
	}
	return err
}

// guardedBody resets the stall timer on every read and stops it on Close.
type guardedBody struct {
	io.ReadCloser
	ctx  context.Context
	g    *stallGuard
	once sync.Once
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.g.touch()
	}
	if err != nil && err != io.EOF {
		err = stalledErr(b.ctx, b.g, err)
	}
	return n, err
}

func (b *guardedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.g.stop)
	return err
}

// do sends one request built by mk with the stall guard, retrying 429 and
// 5xx answers and connection failures up to Retries times (honouring
// Retry-After up to MaxRetryAfter; a server that cannot be reached at
// all: once, quickly, see unreachable). The response body resets the guard as
// it is read; closing it releases the request.
func (c *Client) do(ctx context.Context, hc *http.Client, retry bool, mk func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {
	left := max(c.cfg.Retries, 0)
	if !retry {
		left = 0
	}
	quick := true // the one quick retry of an unreachable server
	for attempt := 0; ; attempt++ {
		rctx, g := c.guard(ctx)
		req, err := mk(rctx)
		if err != nil {
			g.stop()
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			err = stalledErr(rctx, g, err)
			g.stop()
			if ctx.Err() != nil || left <= 0 || (unreachable(err) && !quick) {
				return nil, err
			}
			left--
			delay := c.backoff(attempt)
			if unreachable(err) {
				quick, delay = false, c.quickRetry()
			}
			if werr := c.wait(ctx, delay); werr != nil {
				return nil, werr
			}
			continue
		}
		if retryable(resp.StatusCode) && left > 0 {
			after, ok := retryAfter(resp.Header.Get("Retry-After"), c.backoff(attempt))
			resp.Body.Close()
			g.stop()
			if !ok {
				return nil, fmt.Errorf("%w: %s %s: %d with Retry-After %q, more than %v",
					ErrLimit, req.Method, redact(req.URL.String()), resp.StatusCode, resp.Header.Get("Retry-After"), MaxRetryAfter)
			}
			left--
			if werr := c.wait(ctx, after); werr != nil {
				return nil, werr
			}
			continue
		}
		resp.Body = &guardedBody{ReadCloser: resp.Body, ctx: rctx, g: g}
		return resp, nil
	}
}

// quickRetryDelay is the pause before the one retry of a server that could
// not be reached at all (see unreachable).
const quickRetryDelay = 250 * time.Millisecond

func (c *Client) quickRetry() time.Duration { return min(c.retryDelay, quickRetryDelay) }

// unreachable reports a request that never reached a server: the
// connection was refused, there is no route to the host or network, or
// the name does not resolve. Such a failure is retried once, quickly, and
// then reported, instead of Retries times with a growing backoff (about
// half a minute of waiting before the advice to work offline); timeouts,
// dropped connections and 408/429/5xx answers keep their retries.
func unreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsTimeout
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

func retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is retryDelay doubled per attempt, at most 30 s.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retryDelay << min(attempt, 5)
	return min(d, 30*time.Second)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); ok is
// false when it asks for more than MaxRetryAfter.
func retryAfter(h string, def time.Duration) (d time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return def, true
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return def, true
		}
		if s > int64(MaxRetryAfter/time.Second) {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		d := time.Until(t)
		if d > MaxRetryAfter {
			return 0, false
		}
		return max(d, 0), true
	}
	return def, true
}

func (c *Client) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// openNoFollow opens a cache file without following a symbolic link: a
// link planted in the cache (blobs/<etag>.incomplete -> a file elsewhere)
// must not make the client write outside it.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link; refusing to follow it inside the cache (remove it)", path)
	}
	f, err := os.OpenFile(path, flag|oNoFollow, perm)
	if err != nil {
		if st, lerr := os.Lstat(path); lerr == nil && st.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s is a symbolic link; refusing to follow it inside the cache (remove it)", path)
		}
		return nil, err
	}
	return f, nil
}
