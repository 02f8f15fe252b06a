package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dialCounter is an HTTP client whose dials are counted per address.
type dialCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *dialCounter) client() *http.Client {
	d.n = map[string]int{}
	var nd net.Dialer
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.mu.Lock()
		d.n[addr]++
		d.mu.Unlock()
		return nd.DialContext(ctx, network, addr)
	}}}
}

func (d *dialCounter) dials(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[addr]
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A Hub (or CDN) that refuses the connection is tried twice (one quick
// retry) and reported within about a second, with the default retry
// delays; it used to be retried 5 times with a doubling backoff (1+2+4+8+16
// s: 31 s before the CLI could say "set HF_HUB_OFFLINE=1").
func TestRefusedConnectionFailsFast(t *testing.T) {
	f := newFixture(t)
	var dc dialCounter
	addr := closedPort(t)
	c := New(&Config{CacheDir: f.cache, Endpoint: "http://" + addr, HTTPClient: dc.client()})
	start := time.Now()
	_, err := c.Download(watchdog(t, 20*time.Second), tiny, "config.json")
	took := time.Since(start)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("HEAD to a closed port: %v, want connection refused", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("error %v carries no *url.Error (the CLI's no-network advice looks for one)", err)
	}
	if n := dc.dials(addr); n != 2 || took > 3*time.Second {
		t.Errorf("HEAD: %d connection attempts in %v, want 2 (one quick retry) within 3 s", n, took)
	}

	// The HEAD succeeds, the CDN the LFS file redirects to refuses: the
	// download gives up as fast.
	c = New(&Config{CacheDir: t.TempDir(), Endpoint: f.srv.URL, HTTPClient: dc.client()})
	cdn, _ := url.Parse(f.srv.CDN.URL)
	f.srv.CDN.Close()
	cdnAddr := "localhost:" + cdn.Port() // hubtest's CDN is reached as localhost
	start = time.Now()
	_, err = c.Download(watchdog(t, 20*time.Second), tiny, "model.safetensors")
	took = time.Since(start)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET from a closed CDN: %v, want connection refused", err)
	}
	if n := dc.dials(cdnAddr); n != 2 || took > 3*time.Second {
		t.Errorf("GET: %d connection attempts to the CDN in %v, want 2 within 3 s", n, took)
	}
}

// unreachable separates "never reached a server" from failures worth the
// full retry budget.
func TestUnreachable(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Head", URL: "http://h/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{wrap(os.NewSyscallError("connect", syscall.ECONNREFUSED)), true},
		{wrap(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), true},
		{wrap(os.NewSyscallError("connect", syscall.ENETUNREACH)), true},
		{wrap(&net.DNSError{Err: "no such host", Name: "huggingface.co", IsNotFound: true}), true},
		{wrap(&net.DNSError{Err: "server misbehaving", Name: "huggingface.co"}), true},
		{wrap(&net.DNSError{Err: "i/o timeout", Name: "huggingface.co", IsTimeout: true}), false},
		{wrap(os.NewSyscallError("read", syscall.ECONNRESET)), false},
		{wrap(os.ErrDeadlineExceeded), false},
		{fmt.Errorf("hub: GET x: %w", errStalled), false},
		{errors.New("unexpected EOF"), false},
	} {
		if got := unreachable(tc.err); got != tc.want {
			t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
